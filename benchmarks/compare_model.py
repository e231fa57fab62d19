"""The whole baseline run (Sobol' only, second order) against the model alone on the same
rows and threads, as a ratio in one run: `make bench-model` (N = 2^22; `N=...` to change).

The run's fixed cost (start-up of the store, the kernels' cache, the result groups) is a
tiny run's (N = 64), subtracted first. Each time is the best of REPEAT, the tiny run and
the run alternating. The model alone is `woods.evaluate_block` on a
chunk of the design's parameter rows (Fortran order, outputs preallocated), run as many
times as the study has chunks, on as many threads as the run's workers.
asv only imports this module.
"""
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 3  # each time is the best of this many, alternating, in one process


def measure(N: int, workers: int = 2) -> dict:
    from reesens.evaluate import cases
    from reesens.kernels import woods
    from reesens.runs import montecarlo as run
    from reesens.study.parse import load

    study = load(ROOT / "studies" / "baseline.toml", N=N, second_order=True,
                 methods=["sobol"])
    tiny = load(ROOT / "studies" / "baseline.toml", N=64, second_order=True,
                methods=["sobol"])
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = (("warm-up", tiny), *((("tiny run", tiny), ("run", study)) * REPEAT))
        for i, (name, s) in enumerate(runs):
            start = time.perf_counter()  # a fresh store each time: a store of the run resumes
            run.run(s, out=Path(tmp, f"{i}.zarr"), workers=workers, progress=False)
            times[name] = min(times.get(name, np.inf), time.perf_counter() - start)
    chunk = 2048
    rows = cases.parameter_rows(study, 0, chunk)[0]
    params = np.empty((rows.shape[0], 9), order="F")
    params[:, :6], params[:, 6:8], params[:, 8] = rows, 0.9, 1.0
    outs = [woods.allocate_outputs(params.shape[0]) for _ in range(workers)]
    woods.evaluate_block(params, out=outs[0])

    def model(t):
        for _ in range(t, N // chunk, workers):
            woods.evaluate_block(params, out=outs[t])

    with ThreadPoolExecutor(workers) as pool:
        for _ in range(REPEAT):
            start = time.perf_counter()
            list(pool.map(model, range(workers)))
            times["model alone"] = min(times.get("model alone", np.inf),
                                       time.perf_counter() - start)
    times["ratio"] = (times["run"] - times["tiny run"]) / times["model alone"]
    return times


if __name__ == "__main__":
    N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else 2**22
    t = measure(N)
    print(f"baseline, sobol only, second order, N = {N}, 2 workers:")
    for name in ("tiny run", "run", "model alone"):
        print(f"  {name:12s} {t[name]:7.2f} s")
    print(f"  (run - tiny run) / model alone = {t['ratio']:.2f}")
