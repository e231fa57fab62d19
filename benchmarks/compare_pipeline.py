"""The baseline study through reesens beside the plain SALib pipeline, N = 2^12 .. 2^16.

Plain SALib is what a researcher writes by hand: `SALib.sample.sobol.sample`, the
plain-numpy model of the tests, then `SALib.analyze.sobol.analyze` for the same outputs
(indicators of the codes that occur, NaN and constant outputs skipped). Both compute
second-order indices; each measurement runs in a fresh process so that its peak resident
memory is its own. Run with `make bench-pipeline` (asv only imports this module).
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "baseline.toml"


def plain_salib(study):
    """{output label: SALib result dict}, the hand-written way."""
    from SALib.analyze import sobol as salib_analyze
    from SALib.sample import sobol as salib_sample

    from reesens.design import sampling
    from tests import reference_numpy

    names = study.sampled_names
    problem = sampling.salib_problem(names, study.sampled)
    X = salib_sample.sample(problem, study.N, calc_second_order=True, seed=study.seed)
    inputs = dict(study.fixed, **{n: X[:, j] for j, n in enumerate(names)})
    options = {k: v[0] for k, v in study.options.items()}
    out = reference_numpy.evaluate(**inputs, **options)
    columns = {}
    for var in study.model.outputs:
        if var.name not in study.outputs:
            continue
        if var.flag_values:
            for code, meaning in zip(var.flag_values, var.flag_meanings):
                if np.any(out[var.name] == code):
                    columns[f"{var.name}=={meaning}"] = (out[var.name] == code) * 1.0
        else:
            columns[var.name] = out[var.name]
    return {label: salib_analyze.analyze(problem, y, calc_second_order=True,
                                         num_resamples=study.resamples,
                                         conf_level=study.conf_level,
                                         seed=study.analysis_seed)
            for label, y in columns.items()
            if not (np.isnan(y).any() or np.all(y == y[0]))}


def reesens_st(study):
    """Run the study with reesens on all cores into a temporary store; ST of china_payoff."""
    from reesens.runs import montecarlo as run

    with tempfile.TemporaryDirectory() as tmp:
        groups = run.run(study, out=Path(tmp) / "run.zarr", workers=os.cpu_count(),
                         progress=False)
    return groups["sobol"]["sobol_ST"].sel(output="china_payoff").values.tolist()


def timed(compute, **extra) -> None:
    """Run compute() (which returns some ST values); print JSON wall time, peak memory, ST
    and the `extra` fields."""
    start = time.perf_counter()
    st = compute()
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    print(json.dumps({"wall_s": wall, "peak_mib": peak, "st": st, **extra}))


def measure(pipeline, N):
    """Run one pipeline in this process; print JSON wall time, peak memory, one index."""
    from reesens.study.parse import load

    study = load(STUDY, N=N, second_order=True)
    timed(lambda: reesens_st(study) if pipeline == "reesens"
          else plain_salib(study)["china_payoff"]["ST"].tolist())


def main(exponents=range(12, 17)):
    from benchmarks.compare_kernel import cpu_name

    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; baseline study, second order, "
          "100 resamples; reesens on all cores, plain SALib as written (one core)")
    print(f"{'N':>7} {'reesens s':>10} {'plain s':>9} {'speed-up':>9} "
          f"{'reesens MiB':>12} {'plain MiB':>10} {'memory ratio':>13} {'same ST':>8}")
    for e in exponents:
        results = {}
        for pipeline in ("reesens", "plain"):
            done = subprocess.run([sys.executable, __file__, pipeline, str(2**e)], cwd=ROOT,
                                  capture_output=True, text=True, check=True)
            results[pipeline] = json.loads(done.stdout.splitlines()[-1])
        r, p = results["reesens"], results["plain"]
        same = np.allclose(r["st"], p["st"], rtol=1e-12, atol=0)
        print(f"{2**e:>7} {r['wall_s']:10.2f} {p['wall_s']:9.2f} "
              f"{p['wall_s'] / r['wall_s']:8.1f}x {r['peak_mib']:12.0f} {p['peak_mib']:10.0f} "
              f"{p['peak_mib'] / r['peak_mib']:12.2f}x {str(same):>8}", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) == 3:
        measure(sys.argv[1], int(sys.argv[2]))
    else:
        main()
