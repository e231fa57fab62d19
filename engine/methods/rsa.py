"""Regional sensitivity analysis (Hornberger & Spear 1981; Pianosi et al. 2016): for each
region (study.conditions: each code of each code output, and the study's own
conditions), case and parameter, the distance between the parameter's distribution
inside the region and outside it.

Streamed from integer counts: per block, the A and B rows per (region, parameter slice,
inside or outside), slices as methods.counts cuts them (equiprobable, `slices` per
parameter). Counts merge exactly by addition, so the results do not depend on the block
size or the workers. From the merged counts, with F and G the parameter's distribution
functions inside and outside (n and m rows) at the slice edges:
- KS = max |F - G| over the edges, the two-sample Kolmogorov-Smirnov distance read at
  the slicing's resolution: it differs from the distance on the rows themselves by at
  most the largest share of the inside or outside rows in one slice;
- CvM = n m / (n + m)^2 sum over slices of c_s (d_lo^2 + d_lo d_hi + d_hi^2) / 3, the
  two-sample Cramer-von Mises criterion (Anderson 1962; scipy's cramervonmises_2samp,
  SALib's rsa) with d = F - G taken as linear over the c_s rows of each slice.
Null levels, from the row counts: what a parameter the region does not depend on reads
at most in conf_level of iid designs, the Kolmogorov distribution's quantile times
sqrt((n + m) / (n m)) for KS and the Cramer-von Mises limit's quantile for CvM. Sobol'
rows fill the slices more evenly than iid rows, so the levels are conservative there.
"""
from __future__ import annotations

import functools

from dataclasses import dataclass

import numpy as np

from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.kernels.counts import add_code_region_counts, add_region_counts
from reesens.methods import counts, measures, tables
from reesens.study import conditions
from reesens.study.registry import BlockArray, Method, Plan, Statistic, register

COUNTS = "block_region_counts"
LIMIT_DRAWS = 2**16  # draws of the Cramer-von Mises limit (its quantiles, seeded)
LIMIT_TERMS = 256  # terms of its series sum_k Z_k^2 / (k pi)^2 drawn; the rest as a mean


@dataclass(frozen=True)
class Passes:
    """How a chunk's regions are counted, fixed before the run: the slice edges
    (scenarios, D, slices - 1); the regions (study.conditions: the code outputs' first,
    then the study's own from `own` on); per code output (its name, its first region, its
    codes) counted in one pass; the outputs the study's own regions read."""

    edges: np.ndarray
    regions: list
    by_code: tuple
    own: int
    read: tuple

    @classmethod
    def of(cls, study) -> "Passes":
        regions = conditions.study_regions(study)
        own = next((i for i, r in enumerate(regions) if r.label in study.regions),
                   len(regions))
        by_code = {}
        for i, r in enumerate(regions[:own]):
            first, codes = by_code.get(r.tree.output, (i, []))
            by_code[r.tree.output] = (first, codes + [r.tree.value])
        return cls(counts.slice_edges(study), regions,
                   tuple((name, first, np.array(codes)) for name, (first, codes)
                         in by_code.items()),
                   own, tuple(dict.fromkeys(n for r in regions[own:]
                                            for n in conditions.names(r.tree))))


class RegionCounts(Statistic):
    """Per block: A and B rows per (case and region, parameter, slice, outside or
    inside). Context: the Passes. Merged: the counts summed over the blocks."""

    name, what, order = "region_counts", "region counts", 3

    def identity(self, plan: Plan) -> dict:
        study = plan.study
        return {"region_counts": [study.slices, [r.condition for r in
                                                  conditions.study_regions(study)]]
                if self.wanted(plan) else None}

    def prepare(self, plan: Plan) -> Passes:
        return Passes.of(plan.study)

    def template(self, plan: Plan, context: Passes):
        study = plan.study
        regions = context.regions
        n_cases = int(np.prod(evaluate.case_shape(study)))
        shape = (n_cases * len(regions), len(study.sampled_names), study.slices, 2)
        return {COUNTS: BlockArray(("case_region", "param", "slice", "side"), shape,
                                   np.int64, 0, {
            "long_name": "A and B rows per region, parameter slice and side (0 outside, "
                         "1 inside)", "units": "1"})}, {}

    def names(self, plan: Plan) -> tuple[str, ...]:
        return (COUNTS,)

    def start(self, plan: Plan, context):
        study = plan.study
        n_cases = int(np.prod(evaluate.case_shape(study)))
        return np.zeros((n_cases * len(context.regions), len(study.sampled_names),
                         study.slices, 2), dtype=np.int64)

    def add(self, state, plan: Plan, context: Passes, chunk) -> None:
        study, regions, own = plan.study, context.regions, context.own
        k = sampling.rows_per_point(len(study.columns), study.second_order)
        n_cases = int(np.prod(evaluate.case_shape(study)))
        per = n_cases // len(study.scenario_items())  # option combinations per scenario
        R = len(regions)
        for s, cut in enumerate(counts.chunk_slices(study, chunk, context.edges)):
            for c in range(s * per, (s + 1) * per):
                mine = state[c * R:(c + 1) * R]
                for name, first, codes in context.by_code:
                    y = sampling.ab_rows(chunk.outputs[name].reshape(n_cases, -1)[c], k)
                    add_code_region_counts(cut, y.astype(np.float64), codes,
                                           mine[first:first + len(codes)])
                if own < R:
                    ab = {name: sampling.ab_rows(chunk.outputs[name].reshape(n_cases, -1)[c],
                                                 k) for name in context.read}
                    add_region_counts(cut, conditions.indicators(regions[own:], ab),
                                      mine[own:])

    def stored(self, state, plan: Plan, context) -> dict:
        return {COUNTS: state}

    def merge(self, plan: Plan, context, blocks: dict, merged=None):
        total = blocks[COUNTS].sum(axis=0)
        return total if merged is None else merged + total

    def seconds(self, plan: Plan, *, N: int, workers: int, blocks: int):
        """Each A and B row's regions and slices (counts.COUNT_S each)."""
        study = plan.study
        k = sampling.rows_per_point(len(study.columns), study.second_order)
        R = len(conditions.study_regions(study)) * int(np.prod(evaluate.case_shape(study)))
        return counts.COUNT_S * 2 / k * R * len(study.sampled_names), 0.0, 0.0


def distances(region_counts: np.ndarray) -> dict[str, np.ndarray]:
    """{"ks", "cvm", "n", "m"}: (..., D) KS and CvM between the inside and outside
    distributions of each parameter and (...,) the rows inside and outside, from counts
    (..., D, slices, 2) (NaN where a side has no rows)."""
    outside, inside = region_counts[..., 0], region_counts[..., 1]
    n, m = inside.sum(-1), outside.sum(-1)  # (..., D), the same for every parameter
    with np.errstate(invalid="ignore", divide="ignore"):
        F = np.cumsum(inside, -1) / n[..., None]
        G = np.cumsum(outside, -1) / m[..., None]
        hi = F - G
        lo = np.concatenate([np.zeros_like(hi[..., :1]), hi[..., :-1]], axis=-1)
        pooled = inside + outside
        ks = np.abs(hi).max(-1)
        cvm = n * m / (n + m) ** 2 * (pooled * (lo * lo + lo * hi + hi * hi) / 3).sum(-1)
    empty = (n == 0) | (m == 0)
    ks[empty] = cvm[empty] = np.nan
    return {"ks": ks, "cvm": cvm, "n": n[..., 0], "m": m[..., 0]}


@functools.lru_cache(maxsize=8)
def cvm_limit_quantile(level: float) -> float:
    """The `level` quantile of the Cramer-von Mises criterion's limit under the null,
    sum_k Z_k^2 / (k pi)^2 (0.4614 at 0.95), by a seeded Monte Carlo of LIMIT_DRAWS
    draws."""
    rng = np.random.default_rng(20261204)
    k = np.arange(1, LIMIT_TERMS + 1)
    weights = 1 / (k * np.pi) ** 2
    tail = 1 / np.pi ** 2 * (np.pi ** 2 / 6 - (1 / k ** 2).sum())
    total = np.zeros(LIMIT_DRAWS)
    for start in range(0, LIMIT_TERMS, 32):
        z = rng.standard_normal((LIMIT_DRAWS, 32))
        total += (z * z) @ weights[start:start + 32]
    return float(np.quantile(total + tail, level))


def results(plan, merged, level) -> dict:
    """The rsa group on (cases, output = region, param): every region but the codes that
    occur in no case."""
    import xarray as xr
    from scipy.stats import kstwobign

    study = plan.study
    regions = level.contexts[RegionCounts.name].regions
    dims, coords = evaluate.case_coords(study)
    shape = evaluate.case_shape(study)
    R, D = len(regions), len(study.sampled_names)
    total = sum(merged[RegionCounts.name])  # every independent design's counts
    total = total.reshape(-1, R, D, study.slices, 2)
    # a code that occurs in no case is no region of this study (the study's own stay)
    keep = [r.label in study.regions or total[:, i, 0, :, 1].sum() > 0
            for i, r in enumerate(regions)]
    regions = [r for r, k in zip(regions, keep) if k]
    total, R = total[:, keep], sum(keep)
    found = distances(total)
    n, m = found["n"], found["m"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ks_null = kstwobign.ppf(study.conf_level) * np.sqrt((n + m) / (n * m))
    cvm_null = np.full(n.shape, cvm_limit_quantile(study.conf_level))
    reasons = np.full(n.shape, "", dtype=object)
    reasons[n == 0] = "no row inside the region"
    reasons[(n > 0) & (m == 0)] = "every row inside the region"
    for a in (ks_null, cvm_null):
        a[reasons != ""] = np.nan

    def var(a, long_name, per_param=True):
        a = a.reshape(*shape, R, *([D] if per_param else []))
        return (dims + ["output"] + (["param"] if per_param else []), a,
                {"long_name": long_name, "units": "1"})

    null = (f"what a parameter the region does not depend on reads at most in "
            f"{study.conf_level:.0%} of iid designs (null level)")
    data = {
        "rsa_ks": var(found["ks"], "Kolmogorov-Smirnov distance between the parameter's "
                                   "distributions inside and outside the region"),
        "rsa_cvm": var(found["cvm"], "Cramer-von Mises criterion between the parameter's "
                                     "distributions inside and outside the region"),
        "rsa_ks_null": var(np.repeat(ks_null[:, :, None], D, -1), f"KS {null}"),
        "rsa_cvm_null": var(np.repeat(cvm_null[:, :, None], D, -1), f"CvM {null}"),
        "rsa_share": var(n / (n + m), "share of the rows inside the region", False),
        "rsa_skip_reason": var(reasons, "why the region has no measures (empty: it has "
                                        "them)", False)}
    coords.update({
        "output": np.array([r.label for r in regions], dtype=object),
        "condition": ("output", np.array([r.condition for r in regions], dtype=object),
                      {"long_name": "the region's condition", "units": "1"}),
        "param": np.array(study.sampled_names, dtype=object)})
    ds = xr.Dataset(data, coords=coords, attrs={
        "rows": 2 * level.N * study.scramblings, "slices": study.slices,
        "conf_level": study.conf_level, "method": "regional sensitivity (KS and CvM)"})
    return {"rsa": evaluate.squeeze_cases(ds, study)}


def show(groups: dict, options: dict) -> str:
    """Per case and region, the parameters ranked by KS, with CvM."""
    ds = groups["rsa"]
    return tables.ranked(ds, "rsa_ks", [("KS", "rsa_ks", None), ("CvM", "rsa_cvm", None)],
                         "rsa_skip_reason",
                         f"Regional sensitivity from the {int(ds.attrs['rows']):,} A and B "
                         f"rows, {ds.attrs['slices']} slices per parameter: each "
                         "parameter inside against outside each region")


def report(page) -> list[str]:
    return measures.report_section(page, "rsa", "rsa_ks", "Regional sensitivity",
                                   "The Kolmogorov-Smirnov distance between each "
                                   "parameter's distributions inside and outside",
                                   strict=False)


def result_size(plan, target: bool) -> tuple[int, int]:
    """(groups, bytes) of the rsa group, at most: five values per case, region and
    parameter, and each region's condition."""
    study = plan.study
    cases = int(np.prod(evaluate.case_shape(study)))
    R = len(conditions.study_regions(study))
    return 1, cases * R * (8 * 5 * len(study.sampled_names) + 16) + R * 512


RSA = register(Method(
    name="rsa", order=4, title="Regional sensitivity", groups=("rsa",),
    statistic=RegionCounts.name,
    export={"rsa": {"rsa_ks": "ks", "rsa_cvm": "cvm"}}, check=counts.check,
    results=results, show=show, report=report, result_size=result_size), RegionCounts())
