"""reesens (streaming) beside OpenTURNS and plain SALib on the baseline study, second order.

- reesens: `runs.montecarlo.run` with the streaming estimator (sampling, evaluation, all
  indices with delta-method intervals, the zarr store), N = 2^20 and 2^16, all cores.
- OpenTURNS: the same rows and outputs (reesens' sampler and model), rearranged into
  OpenTURNS' design layout, SaltelliSensitivityAlgorithm with asymptotic intervals, one
  output at a time, N = 2^20.
- plain SALib: sample -> numpy model -> analyze (benchmarks/compare_pipeline.py) at 2^16,
  the largest N it finishes in a few minutes here. reesens also runs there with Poisson
  bootstrap intervals ("reesens boot"), the same kind of interval and resample count as
  SALib's.
Each measurement runs in a fresh process so that its peak memory is its own; the clock
starts after the pipeline's imports (reported beside it) and includes numba's JIT cache
loading, the store and everything after. reesens then runs the same study a second time
in that process ("warm": a session's later runs, numba's one-time start-up paid). Run with
`make bench-scale` (asv only imports this module).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "baseline.toml"


def openturns_pipeline(study):
    """{series label: total indices} from OpenTURNS on reesens' rows."""
    import openturns as ot

    from reesens.evaluate import cases as evaluate
    from reesens.evaluate import series

    ot.ResourceMap.SetAsBool("SobolIndicesAlgorithm-DefaultUseAsymptoticDistribution", True)
    D, N = len(study.sampled_names), study.N
    out = evaluate.evaluate_points(study, 0, N)
    spec = series.series_spec(study)
    values = series.series_values(spec, out).reshape(len(spec), N, 2 * D + 2)
    X = out["_params"][0].reshape(N, 2 * D + 2, D)
    # OpenTURNS' layout: A, B, E_1..E_D (A with column i from B), C_1..C_D (B with A's i)
    order = [0, 2 * D + 1, *range(1, D + 1), *range(D + 1, 2 * D + 1)]
    design = ot.Sample(np.concatenate([X[:, j] for j in order]))
    result = {}
    for s, y in zip(spec, values):
        if np.isnan(y).any() or np.all(y == y.flat[0]):
            continue
        outputs = ot.Sample(np.concatenate([y[:, j] for j in order])[:, None])
        algorithm = ot.SaltelliSensitivityAlgorithm(design, outputs, N)
        algorithm.getFirstOrderIndices(), algorithm.getSecondOrderIndices()
        algorithm.getFirstOrderIndicesInterval(), algorithm.getTotalOrderIndicesInterval()
        result[s.label] = list(algorithm.getTotalOrderIndices())
    return result


# What each pipeline imports; measure() imports it before the clock starts.
MODULES = {"reesens": ["reesens.runs.montecarlo"], "reesens-boot": ["reesens.runs.montecarlo"],
           "openturns": ["openturns", "reesens.evaluate.cases", "reesens.methods.sobol"],
           "salib": ["SALib.sample.sobol", "SALib.analyze.sobol", "tests.reference_numpy"]}


def measure(pipeline, N):
    """Run one pipeline in this process; print JSON wall time, peak memory, some ST and
    the seconds its imports took (not in the wall time: a researcher's session pays them
    once)."""
    sys.path.insert(0, str(ROOT))
    import importlib

    from benchmarks.compare_pipeline import plain_salib, reesens_st, timed
    from reesens.study.parse import load

    study = load(STUDY, N=N, second_order=True, estimator="streaming",
                 intervals="bootstrap" if pipeline == "reesens-boot" else None)
    start = time.perf_counter()
    for module in MODULES[pipeline]:
        importlib.import_module(module)
    import_s = time.perf_counter() - start
    pipelines = {"reesens": lambda: reesens_st(study),
                 "reesens-boot": lambda: reesens_st(study),
                 "openturns": lambda: openturns_pipeline(study)["china_payoff"],
                 "salib": lambda: plain_salib(study)["china_payoff"]["ST"].tolist()}
    timed(pipelines[pipeline], import_s=import_s)
    if pipeline.startswith("reesens"):
        timed(pipelines[pipeline], import_s=0.0)  # warm: the session's second run


def _child(pipeline, N):
    """The JSON line of each run of `measure` in a fresh process (reesens: cold, warm)."""
    lines = subprocess.run([sys.executable, __file__, pipeline, str(N)], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def main(big=2**20, salib_n=2**16):
    sys.path.insert(0, str(ROOT))
    from benchmarks.compare_kernel import cpu_name

    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; baseline study, second order; "
          "reesens streaming on all cores; x faster: than reesens' first run in a fresh "
          "process (than its warm second run)")
    print(f"{'pipeline':<13} {'N':>9} {'wall s':>9} {'peak MiB':>9} {'x faster':>16} "
          f"{'max |dST|':>10} {'imports s':>10}")
    ours = {}
    for pipeline, N in [("reesens", big), ("openturns", big), ("reesens", salib_n),
                        ("reesens-boot", salib_n), ("salib", salib_n)]:
        runs = _child(pipeline, N)
        if pipeline == "reesens":
            ours[N] = runs
            rows = [("reesens", runs[0], ""), ("reesens warm", runs[1], "")]
        elif pipeline == "reesens-boot":
            boot = runs
            rows = [("reesens boot", runs[0], ""), ("  boot warm", runs[1], "")]
        else:
            cold, warm = (runs[0]["wall_s"] / r["wall_s"] for r in ours[N])
            rows = [(pipeline, runs[0], f"{cold:.1f} ({warm:.1f})")]
            if pipeline == "salib":
                cold, warm = (runs[0]["wall_s"] / r["wall_s"] for r in boot)
                rows.append(("  vs boot", runs[0], f"{cold:.1f} ({warm:.1f})"))
        for name, r, faster in rows:
            diff = np.nanmax(np.abs(np.subtract(r["st"], ours[N][0]["st"])))
            print(f"{name:<13} {N:>9} {r['wall_s']:>9.2f} {r['peak_mib']:>9.0f} {faster:>16} "
                  f"{diff:>10.2g} {r['import_s']:>10.2f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        measure(sys.argv[1], int(sys.argv[2]))
    else:
        main()
