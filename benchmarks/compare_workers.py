"""Scaling from 1 to 2 worker threads: the baseline study (second order, streaming) run
with 1 and 2 workers alternately in one process, after a warm-up run, so that both see the
same JIT state and, as far as a shared VM allows, the same machine. Prints each run's wall
time and the ratio of the fastest runs. Run with `make bench-workers [N=...]` (asv only
imports this module).
"""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(N=2**20, repeats=3):
    sys.path.insert(0, str(ROOT))
    from benchmarks.compare_kernel import cpu_name
    from reesens.engine import run
    from reesens.engine.study import load

    study = load(ROOT / "studies" / "baseline.toml", N=N, second_order=True,
                 estimator="streaming")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; baseline study, N = {N}, second "
          "order, streaming; in-process wall time of engine.run.run")
    walls = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        run.run(load(ROOT / "studies" / "baseline.toml", N=study.block_points,
                     second_order=True, estimator="streaming"),
                out=Path(tmp) / "warm-up.zarr", workers=2, progress=False)
        for i in range(repeats):
            for workers in (1, 2):
                start = time.perf_counter()
                run.run(study, out=Path(tmp) / f"{i}-{workers}.zarr", workers=workers,
                        progress=False)
                walls[workers].append(time.perf_counter() - start)
                print(f"workers {workers}: {walls[workers][-1]:.2f} s", flush=True)
    print(f"fastest: 1 worker {min(walls[1]):.2f} s, 2 workers {min(walls[2]):.2f} s, "
          f"speed-up {min(walls[1]) / min(walls[2]):.2f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
