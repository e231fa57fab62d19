"""What PAWN, delta and the given-data S1 cost: the baseline study (streaming, delta-method
intervals, 2 workers) run with methods = ["sobol"] and with every method alternately in
one process, after a warm-up run, printing each run's wall time and the ratio of the
fastest runs; then, on the A and B rows of one output at a smaller N, the engine's counts
and measures beside SALib's `pawn.analyze` and `delta.analyze` on the same rows. Run with
`make bench-measures [N=...]` (asv only imports this module).
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ALL = ["sobol", "pawn", "delta", "given_data"]


def overhead(N: int, repeats: int = 3) -> dict:
    """{methods: [wall seconds]} of `repeats` alternating runs of the baseline at N."""
    from reesens.runs import montecarlo as run
    from reesens.study.parse import load

    study = ROOT / "studies" / "baseline.toml"
    times = {"sobol": [], "all": []}
    with tempfile.TemporaryDirectory() as tmp:
        run.run(load(study, N=2**12, methods=ALL), out=Path(tmp) / "warm.zarr",
                progress=False, workers=2)
        for r in range(repeats):
            for name, methods in (("sobol", ["sobol"]), ("all", ALL)):
                s = load(study, N=N, methods=methods)
                start = time.perf_counter()
                run.run(s, out=Path(tmp) / f"{name}{r}.zarr", progress=False, workers=2)
                times[name].append(time.perf_counter() - start)
    return times


def beside_salib(N: int, output: str = "mu_star") -> dict:
    """{what: seconds} on the 2N A and B rows of `output` at N: the engine's counts and
    measures, SALib's pawn (its default S = 10 slices, and S = 32 as ours) and delta
    (10 bootstrap resamples; its default is 100)."""
    from SALib.analyze import delta, pawn

    from reesens.design import sampling
    from reesens.evaluate import cases as evaluate
    from reesens.methods import counts as slice_counts
    from reesens.study.parse import load

    study = load(ROOT / "studies" / "baseline.toml", N=N, methods=ALL)
    out = evaluate.evaluate_points(study, 0, N)
    edges = slice_counts.pilot_edges(study)
    k = sampling.rows_per_point(len(study.sampled_names), False)
    x = sampling.ab_rows(out["_params"], k, 1)[0]
    y = sampling.ab_rows(out[output].reshape(-1), k)
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    found = {}
    start = time.perf_counter()
    accumulators = slice_counts.empty_counts(study, edges)
    slice_counts.add_block_counts(study, edges, out, accumulators)
    counts, _ = slice_counts.stored(accumulators)
    is_code = np.array([c is not None for c in edges.codes])
    slice_counts.pawn_delta(counts, is_code)
    found["reesens counts + PAWN + delta, every output"] = time.perf_counter() - start
    for S in (10, 32):
        start = time.perf_counter()
        pawn.analyze(problem, x, y, S=S, seed=1)
        found[f"SALib pawn (S = {S}), one output"] = time.perf_counter() - start
    start = time.perf_counter()
    delta.analyze(problem, x, y, num_resamples=10, seed=1)
    found["SALib delta (10 resamples), one output"] = time.perf_counter() - start
    return found


def main() -> None:
    sys.path.insert(0, str(ROOT))
    N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else 2**20
    print(f"baseline, N = {N}, 2 workers, {os.cpu_count()} cores")
    times = overhead(N)
    for name, t in times.items():
        print(f"  methods {name:<6}: " + ", ".join(f"{x:.2f} s" for x in t))
    print(f"  counts add {100 * (min(times['all']) / min(times['sobol']) - 1):.0f}% "
          f"(fastest runs: {min(times['all']):.2f} s against {min(times['sobol']):.2f} s)")
    small = min(N, 2**14)
    print(f"on the {2 * small} A and B rows at N = {small}:")
    for what, t in beside_salib(small).items():
        print(f"  {what:<46} {t:8.3f} s")


if __name__ == "__main__":
    main()
