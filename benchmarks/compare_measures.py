"""What the methods beyond Sobol' cost. The baseline study (streaming, delta-method
intervals, 2 workers) runs alternately in one process, after a warm-up run, with methods
= ["sobol"]; with PAWN, delta and the given-data S1 (ALL); with regional sensitivity
added (ALL + rsa); and with PRIM and rules added too (ALL + rsa + prim). It prints each
run's wall time and what each addition costs between the fastest runs. Then, on the A and
B rows at a smaller N: the engine's counts and measures beside SALib's `pawn.analyze`,
`delta.analyze` and `rsa.analyze` on the same rows, and PRIM beside the EMA Workbench's
on the same reservoir rows. Run with `make bench-measures [N=...]` (asv only imports this
module).
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ALL = ["sobol", "pawn", "delta", "given_data"]
RUNS = {"sobol": ["sobol"], "all": ALL, "all+rsa": ALL + ["rsa"],
        "all+rsa+prim": ALL + ["rsa", "prim"]}


def overhead(N: int, repeats: int = 8) -> dict:
    """{name: [wall seconds]} of `repeats` alternating runs of the baseline at N with
    each of RUNS' methods, in an order that rotates from one repeat to the next."""
    from reesens.runs import montecarlo as run
    from reesens.study.parse import load

    study = ROOT / "studies" / "baseline.toml"
    times = {name: [] for name in RUNS}
    with tempfile.TemporaryDirectory() as tmp:
        run.run(load(study, N=2**12, methods=RUNS["all+rsa+prim"]),
                out=Path(tmp) / "warm.zarr", progress=False, workers=2)
        names = list(RUNS)
        for r in range(repeats):  # the order rotates: no configuration always runs first
            for name in names[r % len(names):] + names[:r % len(names)]:
                methods = RUNS[name]
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
    found.update(rsa_beside_salib(N))
    found.update(prim_beside_ema(N))
    return found


def rsa_beside_salib(N: int) -> dict:
    """{what: seconds}: the region counts and KS and CvM of every region of the baseline
    (each code of eq, china_majority) against SALib's rsa (20 output bins, its default)
    of one output on the same 2N A and B rows."""
    from SALib.analyze import rsa as salib_rsa

    from reesens.design import sampling
    from reesens.evaluate import cases as evaluate
    from reesens.kernels.counts import ab_slices, add_region_counts
    from reesens.methods import counts as slice_counts
    from reesens.methods import rsa
    from reesens.study import conditions
    from reesens.study.parse import load

    study = load(ROOT / "studies" / "baseline.toml", N=N)
    out = evaluate.evaluate_points(study, 0, N)
    k = sampling.rows_per_point(len(study.sampled_names), False)
    x = sampling.ab_rows(out["_params"], k, 1)[0]
    y = sampling.ab_rows(out["china_share"].reshape(-1), k)
    regions = conditions.study_regions(study)
    edges = slice_counts.slice_edges(study)
    start = time.perf_counter()
    region_counts = np.zeros((len(regions), x.shape[1], study.slices, 2), np.int64)
    ab = {n: sampling.ab_rows(out[n].reshape(-1), k) for n in study.outputs}
    add_region_counts(ab_slices(out["_params"][0], k, edges[0]),
                      conditions.indicators(regions, ab), region_counts)
    rsa.distances(region_counts)
    found = {f"reesens rsa, {len(regions)} regions": time.perf_counter() - start}
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    start = time.perf_counter()
    salib_rsa.analyze(problem, x, y)
    found["SALib rsa (20 bins), one output"] = time.perf_counter() - start
    return found


def prim_beside_ema(N: int) -> dict:
    """{what: seconds}: PRIM on the baseline's reservoir rows for pool_nd_press, ours and
    the EMA Workbench's (same alphas: the same trajectory)."""
    import warnings

    import pandas as pd

    from reesens.methods import prim
    from reesens.study import conditions
    from reesens.study.parse import load

    study = load(ROOT / "studies" / "baseline.toml", N=N)
    X, inside = prim.reservoir(study, min(N, study.where["reservoir_points"]))
    labels = [r.label for r in conditions.study_regions(study)]
    y = inside[0, labels.index("eq==pool_nd_press")]
    start = time.perf_counter()
    prim.Prim(X[0], y, peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05)
    found = {f"reesens PRIM, {X.shape[1]} rows": time.perf_counter() - start}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim as ema
        start = time.perf_counter()
        ema.Prim(pd.DataFrame(X[0], columns=prim.dimensions(study)), y.astype(int),
                 threshold=0.5).find_box()
    found["EMA Workbench PRIM, the same rows"] = time.perf_counter() - start
    return found


def main() -> None:
    sys.path.insert(0, str(ROOT))
    N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else 2**20
    print(f"baseline, N = {N}, 2 workers, {os.cpu_count()} cores")
    times = overhead(N)
    for name, t in times.items():
        print(f"  methods {name:<6}: " + ", ".join(f"{x:.2f} s" for x in t))
    best = {name: min(t) for name, t in times.items()}
    print(f"  counts add {100 * (best['all'] / best['sobol'] - 1):.0f}% "
          f"(fastest runs: {best['all']:.2f} s against {best['sobol']:.2f} s)")
    mid = {name: float(np.median(t)) for name, t in times.items()}
    print(f"  rsa adds {100 * (best['all+rsa'] / best['all'] - 1):.0f}% to that "
          f"({best['all+rsa']:.2f} s), {100 * (mid['all+rsa'] / mid['all'] - 1):.0f}% "
          f"between the medians; prim and rules add "
          f"{best['all+rsa+prim'] - best['all+rsa']:.2f} s "
          f"({mid['all+rsa+prim'] - mid['all+rsa']:.2f} s between the medians)")
    small = min(N, 2**14)
    print(f"on the {2 * small} A and B rows at N = {small}:")
    for what, t in beside_salib(small).items():
        print(f"  {what:<46} {t:8.3f} s")


if __name__ == "__main__":
    main()
