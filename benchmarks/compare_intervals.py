"""Coverage and width of each interval kind on scrambled Sobol' designs, side by side:
`make bench-intervals`.

For the Ishigami function and Sobol's G-function (analytic indices known), 200 designs
(seeds 1..200) of the same budget of N base points each: the delta method on one design
(its co-moments on the run's subsample), the Poisson bootstrap (100 replicates) on one
design, and Student t over R independent scramblings of N / R points each. Per kind:
the share of the S1 and ST intervals (95%) that hold the analytic value, against the
binomial band 0.95 +- 3 sd, and the mean half-width over the actual spread (standard
deviation over the designs) of the estimates. The estimators are the engine's own
(methods.sobol.streaming, core.intervals). asv only imports this module.
"""
import math
import sys
from pathlib import Path

import numpy as np

KINDS = ("delta", "bootstrap", "replicates 4", "replicates 8", "replicates 16")


def _unit_rows(D, points, seed):
    from reesens.design import sampling
    return sampling.unit_block(D, 0, points, seed=seed, scramble=True, second_order=False)


def design_estimates(function, kind: str, N: int, seed: int, conf: float = 0.95):
    """(estimates, half-widths): {"S1": (D,), "ST": (D,)} each, of one design."""
    from reesens.core import intervals
    from reesens.design.sampling import scrambling_seed
    from reesens.kernels.bootstrap import replicate_moments
    from reesens.kernels.saltelli import Features
    from reesens.methods.sobol.streaming import Replicates, indices, moments_of

    evaluate, lower, upper = function
    D = lower.size
    ft = Features(D, False)

    def outputs(points, s):
        return evaluate(lower + (upper - lower) * _unit_rows(D, points, s))["y"][None]

    if kind.startswith("replicates"):
        R = int(kind.split()[1])
        each = [indices(moments_of(ft, outputs(N // R, scrambling_seed(seed, r)),
                                   delta=False), conf) for r in range(R)]
        out = {q: intervals.student(np.stack([e[q][0] for e in each]), conf)
               for q in ("S1", "ST")}
        return {q: v[0] for q, v in out.items()}, {q: v[1] for q, v in out.items()}
    y = outputs(N, seed)
    if kind == "delta":
        got = indices(moments_of(ft, y), conf)
    else:
        got = indices(moments_of(ft, y, delta=False), conf, Replicates(ft, *replicate_moments(
            y, D, False, first_point=0, seed=seed, replicates=100)))
    return ({q: got[q][0] for q in ("S1", "ST")},
            {q: got[f"{q}_conf"][0] for q in ("S1", "ST")})


def functions():
    """{name: ((evaluate, lower, upper), (S1, ST) analytic)}."""
    from tests.models import gfunction, ishigami
    return {"Ishigami": ((ishigami.evaluate_block, np.full(3, -math.pi), np.full(3, math.pi)),
                         ishigami.analytic_indices()),
            "G-function": ((gfunction.evaluate_block, np.zeros(6), np.ones(6)),
                           gfunction.analytic_indices())}


def study(N: int, designs: int = 200, kinds=KINDS) -> dict:
    """{(function, kind): {"coverage": {q: (D,)}, "width": {q: (D,)}}}: the share of
    designs whose interval holds the analytic index, and the mean half-width over the
    standard deviation of the estimates."""
    out = {}
    for name, (function, analytic) in functions().items():
        for kind in kinds:
            est, hw = {"S1": [], "ST": []}, {"S1": [], "ST": []}
            for seed in range(1, designs + 1):
                e, h = design_estimates(function, kind, N, seed)
                for q in est:
                    est[q].append(e[q])
                    hw[q].append(h[q])
            cover, width = {}, {}
            for q, truth in zip(("S1", "ST"), analytic):
                e, h = np.array(est[q]), np.array(hw[q])
                cover[q] = np.mean(np.abs(e - truth) <= h, axis=0)
                width[q] = h.mean(axis=0) / e.std(axis=0, ddof=1)
            out[name, kind] = {"coverage": cover, "width": width}
    return out


def main(N=2**12, designs=200):
    band = 3 * math.sqrt(0.95 * 0.05 / designs)
    print(f"95% intervals over {designs} scrambled designs of N = {N} base points each; "
          f"binomial band {0.95 - band:.3f}..{min(1, 0.95 + band):.3f}")
    print(f"{'function':11s} {'kind':14s} {'coverage S1, ST (min..max over parameters)':44s}"
          f" {'half-width / spread (mean)':>26s}")
    for (name, kind), r in study(N, designs).items():
        c, w = r["coverage"], r["width"]
        cov = "  ".join(f"{q} {c[q].min():.3f}..{c[q].max():.3f}" for q in ("S1", "ST"))
        wid = "  ".join(f"{q} {np.mean(w[q]):7.2f}" for q in ("S1", "ST"))
        print(f"{name:11s} {kind:14s} {cov:44s} {wid:>26s}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.models
    main(*(int(a) for a in sys.argv[1:3]))
