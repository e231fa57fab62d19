"""Per-slice counts of the A and B rows: the statistic PAWN, Borgonovo's delta and the
given-data first-order index read (methods.pawn, methods.delta, methods.given_data).

The A and B rows of the Saltelli design (2N rows per design) are an iid or scrambled
sample of the inputs, so any given-data measure can read them at no extra model cost.
Each sampled parameter's range is cut into `slices` equiprobable slices (inner edges: the
images of the unit quantiles m / slices under the parameter's own transform, per
scenario). Each measured output (every study output under every case, "measured" below)
is cut into bins: a continuous output into `bins` bins whose inner edges are quantiles of
a pilot (the A and B rows of the first PILOT_POINTS base points), open at both ends; a
code output into its categories, exactly. Per block the engine counts rows per (measured,
param, slice, bin) and, for continuous outputs, the per-slice power sums 1..4 of the
output standardised by the pilot's mean and standard deviation. Counts are integers and
merge exactly by addition, so the measures do not depend on the block size or the
workers; the power sums are added in block order.

From the merged counts:
- PAWN (Pianosi & Wagener 2015, 2018): the distance between the output's unconditional
  distribution and its distribution within each slice, summarised over slices by median,
  mean and max. For a continuous output the distance is Kolmogorov-Smirnov's, the largest
  gap between the two CDFs at the bin edges; for a code output it is the total-variation
  distance (half the L1 distance of the category shares): codes are unordered, and a CDF
  over them, hence KS, changes with the arbitrary order of the codes.
- Borgonovo's delta (2007): half the expected L1 distance between the unconditional and
  the conditional output distributions, sum_m (n_m / n) TV_m, with histogram (continuous)
  or exact (code) distributions (the given-data estimator of Plischke, Borgonovo & Smith
  2013).
- Given-data S1: the between-slice share of the output's variance (the correlation
  ratio), SSB / SST = sum_m n_m (mean_m - mean)^2 / sum (y - mean)^2; for a code
  output, the aggregate sum_k SSB_k / sum_k SST_k over its indicators (as the sobol
  group's aggregate). No correction for the slice means' noise: the rows are Sobol'
  points, whose slices are filled far more evenly than iid rows' (an iid correction,
  Kelley's epsilon squared, overshoots by (M - 1) / n, measured). Its interval, with one
  design, is the iid delta method's, from the influence function of SSB / SST per row,
  plus the variance of the slice means' iid noise, 2 (M - 1) / M sum_m tr(Sigma_m^2) /
  (n T)^2 (Sigma_m the output's covariance within slice m, T its total variance), which
  the delta method misses and which is all there is when S = 0: conservative for Sobol'
  rows. With independent scramblings (intervals = "replicates") it is Student t over the
  designs' estimates, as the sobol group's.

Null levels: the conf_level quantile of what a measure reads for a parameter the output
does not depend on, were the rows iid: each slice's deviation from the unconditional
shares p drawn as the normal limit of a subsample of n_m of the n rows, covariance
(diag(p) - p p') (1 / n_m - 1 / n). On iid rows such a parameter reads above its null
level in 1 - conf_level of designs; Sobol' rows fill the slices more evenly, so there it
does so less often, where each design has at least NULL_ROWS_PER_SLICE (64) A and B rows
per slice; with fewer, Sobol' rows' uneven projections make an ignored parameter read above
it far more often (measured), so the null levels are NaN and the group's
`null_level_missing` attribute says why. A measure at or below its null level cannot be
told from no influence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from reesens.core.needs import READ_S, Need
from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.kernels.counts import ab_slices, add_slice_counts
from reesens.study.registry import BlockArray, Plan, Statistic, register_statistic, selected
from reesens.study.schema import NULL_ROWS_PER_SLICE, Study

if TYPE_CHECKING:
    import xarray as xr

MIN_ROWS_PER_SLICE = 16  # A and B rows per slice, at the least
PILOT_POINTS = 4096  # base points whose A and B rows fix a continuous output's bin edges
POWERS = 4  # power sums per slice of a continuous output: z, z^2, z^3, z^4


@dataclass(frozen=True)
class Edges:
    """Where the rows are cut, fixed before the run.

    slices (scenarios, D, slices - 1) inner slice edges of each parameter; bins (measured,
    2^L - 1) inner bin edges of each continuous output (+inf-padded, also where the pilot
    has fewer distinct quantiles than bins - 1; unused for code outputs); codes (measured,) the
    categories of a code output in flag order, or None; centre, scale (measured,) the
    pilot's mean and standard deviation (0 and 1 for code outputs).
    """

    slices: np.ndarray
    bins: np.ndarray
    codes: tuple
    centre: np.ndarray
    scale: np.ndarray

    @property
    def width(self) -> int:
        """Bins per measured output in the counts: enough for every output's bins or codes."""
        finite = int(np.isfinite(self.bins).sum(axis=1).max()) + 1 if self.bins.size else 1
        return max([finite] + [len(c) for c in self.codes if c is not None])

    @cached_property
    def code_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes float64 (measured, K), n_codes int64 (measured,)): each code output's
        categories, padded, and how many (0: a continuous output), as kernels.counts
        takes them."""
        K = max([1] + [len(c) for c in self.codes if c is not None])
        table, n_codes = np.zeros((len(self.codes), K)), np.zeros(len(self.codes), np.int64)
        for i, c in enumerate(self.codes):
            if c is not None:
                table[i, :len(c)], n_codes[i] = c, len(c)
        return table, n_codes


def measured_labels(study: Study) -> list[tuple[int, str]]:
    """[(case index, output name)] of every measured output, case-major."""
    n_cases = int(np.prod(evaluate.case_shape(study)))
    return [(c, name) for c in range(n_cases) for name in study.outputs]


def slice_edges(study: Study) -> np.ndarray:
    """float64 (scenarios, D, slices - 1): the images of the unit quantiles m / slices,
    m = 1 .. slices - 1, under each scenario's transform of each parameter (the rows'
    own, design.sampling)."""
    M, names = study.slices, study.sampled_names
    unit = np.repeat((np.arange(1, M) / M)[:, None], len(names), axis=1)
    out = []
    for _, _, sampled in study.scenario_items():
        if all(sampled[n].dist == "unif" for n in names):
            lower = np.array([sampled[n].bounds[0] for n in names])
            upper = np.array([sampled[n].bounds[1] for n in names])
            out.append((unit * (upper - lower) + lower).T)
        else:
            out.append(sampling.scale(unit, sampling.salib_problem(names, sampled)).T)
    return np.ascontiguousarray(np.stack(out))


def pilot_edges(study: Study) -> Edges:
    """The slice edges and, from the pilot's A and B rows, each continuous output's bin
    edges, centre and scale."""
    k = sampling.rows_per_point(len(study.columns), study.second_order)
    out = evaluate.evaluate_points(study, 0, min(study.N, PILOT_POINTS))
    n_cases = int(np.prod(evaluate.case_shape(study)))
    variables = {v.name: v for v in study.model.outputs}
    B = study.bins
    bins, codes, centre, scale = [], [], [], []
    for c, name in measured_labels(study):
        var = variables[name]
        codes.append(tuple(int(x) for x in var.flag_values) if var.flag_values else None)
        y = sampling.ab_rows(out[name].reshape(n_cases, -1)[c], k)
        y = y[np.isfinite(y)] if not var.flag_values else y[:0]
        inner = np.unique(np.quantile(y, np.arange(1, B) / B)) if y.size else y
        bins.append(np.concatenate([inner, np.full(_padded(B) - inner.size, np.inf)]))
        sd = float(y.std()) if y.size else 0.0
        centre.append(float(y.mean()) if y.size else 0.0)
        scale.append(sd if sd > 0 else 1.0)
    return Edges(slice_edges(study), np.array(bins).reshape(len(codes), _padded(B)),
                 tuple(codes), np.array(centre), np.array(scale))


def _padded(bins: int) -> int:
    """Inner edges stored for `bins` bins: bins - 1, +inf-padded to 2^L - 1 (the bin
    search of kernels.counts halves a power of two; MAX_CUTS = 1024 bins at most)."""
    return (1 << (bins - 1).bit_length()) - 1


def empty_counts(study: Study, edges: Edges) -> list:
    """Zero accumulators for add_block_counts, one per scenario: (counts int64 (its
    measured outputs, D, slices, width), sums float64 (D, slices, its measured outputs *
    POWERS))."""
    D, M = len(study.sampled_names), study.slices
    per = len(edges.codes) // len(study.scenario_items())
    return [(np.zeros((per, D, M, edges.width), dtype=np.int64), np.zeros((D, M, per * POWERS)))
            for _ in study.scenario_items()]


def chunk_slices(study: Study, chunk, edges: np.ndarray) -> list[np.ndarray]:
    """Each scenario's int64 (D, 2 * points) slices of the chunk's A and B rows at the
    study's slice edges (slice_edges: every statistic that reads them has these), found
    once per chunk for all of them (the per-slice counts, the region counts)."""
    if "ab_slices" not in chunk.memo:
        k = sampling.rows_per_point(len(study.columns), study.second_order)
        chunk.memo["ab_slices"] = [ab_slices(chunk.outputs["_params"][s], k, edges[s])
                                   for s in range(len(study.scenario_items()))]
    return chunk.memo["ab_slices"]


def add_block_counts(study: Study, edges: Edges, out: dict, accumulators: list,
                     cuts: list | None = None) -> None:
    """Add the A and B rows of evaluated points `out` (evaluate.cases) to the
    accumulators (empty_counts), in row order; rows whose output is not finite (or not
    one of its codes) are not counted (kernels.counts). cuts: each scenario's slices of
    the rows (chunk_slices), else found here."""
    k = sampling.rows_per_point(len(study.columns), study.second_order)
    per = len(edges.codes) // len(study.scenario_items())
    n_cases = int(np.prod(evaluate.case_shape(study)))
    labels = measured_labels(study)
    codes, n_codes = edges.code_table
    for s, (counts, sums) in enumerate(accumulators):
        mine = slice(s * per, (s + 1) * per)
        Y = np.empty((per, 2 * (out["_params"].shape[1] // k)))
        for i, (c, name) in enumerate(labels[mine]):
            sampling.ab_rows(out[name].reshape(n_cases, -1)[c], k, out=Y[i])
        cut = cuts[s] if cuts is not None else ab_slices(out["_params"][s], k, edges.slices[s])
        add_slice_counts(cut, Y,
                         edges.bins[mine], codes[mine], n_codes[mine], edges.centre[mine],
                         edges.scale[mine], counts, sums)


def stored(accumulators: list) -> tuple[np.ndarray, np.ndarray]:
    """The accumulators as the blocks group stores them: (counts (measured, D, slices,
    width), sums (measured, D, slices, POWERS))."""
    counts = np.concatenate([c for c, _ in accumulators])
    sums = np.concatenate([s.reshape(*s.shape[:2], -1, POWERS).transpose(2, 0, 1, 3)
                           for _, s in accumulators])
    return counts, np.ascontiguousarray(sums)


NULL_DRAWS = 256  # draws of the null level's Monte Carlo (per measured output)


def distances(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(TV, KS), float64 (measured, D, slices) each: each slice's total-variation and
    Kolmogorov-Smirnov distance to the unconditional distribution (NaN: an empty slice);
    counts (measured, D, slices, width)."""
    n_m = counts.sum(-1)
    p = counts.sum(2) / n_m.sum(-1)[..., None]  # (measured, D, width)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = counts / n_m[..., None] - p[:, :, None, :]
    tv = 0.5 * np.abs(diff).sum(-1)
    ks = np.abs(np.cumsum(diff, -1)).max(-1)
    tv[n_m == 0] = ks[n_m == 0] = np.nan
    return tv, ks


def null_levels(counts: np.ndarray, is_code: np.ndarray, seed: int,
                conf_level: float = 0.95) -> dict:
    """{"median", "mean", "max", "delta"}: (measured, D) null levels of the PAWN summaries
    and of delta: the `conf_level` quantile of each for a parameter the output does not
    depend on, were the rows iid. Such a parameter reads above its null level with
    probability 1 - conf_level on iid rows, and less on Sobol' rows (their slices are
    filled more evenly); a measure above it is unlikely to be noise.

    Slice m's deviation from the unconditional shares p is drawn as the normal limit of a
    subsample of n_m of the n rows, covariance (diag(p) - p p') (1 / n_m - 1 / n), each
    slice on its own; NULL_DRAWS draws per output (seeded: the levels are reproducible)."""
    n_m = counts.sum(-1).astype(np.float64)  # (measured, D, M)
    n = n_m.sum(-1)  # (measured, D)
    p = counts[:, 0].sum(1) / n[:, :1]  # (measured, width): the same for every parameter
    rng = np.random.default_rng(seed)
    S, D, M = n_m.shape
    unit, tv = np.empty((S, NULL_DRAWS, M)), np.empty((S, NULL_DRAWS, M))
    for i in range(S):
        g = rng.standard_normal((NULL_DRAWS, M, p.shape[1])) * np.sqrt(p[i])
        z = g - p[i] * g.sum(-1, keepdims=True)  # covariance diag(p) - p p'
        tv[i] = 0.5 * np.abs(z).sum(-1)
        unit[i] = tv[i] if is_code[i] else np.abs(np.cumsum(z, -1)).max(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt(np.maximum(1 / n_m - 1 / n[..., None], 0))
    scale[n_m == 0] = np.nan
    drawn = unit[:, None] * scale[:, :, None, :]  # (S, D, draws, M)
    weights = (n_m / n[..., None])[:, :, None, :]
    with np.errstate(invalid="ignore"):
        summaries = {"median": np.nanmedian(drawn, axis=-1),
                     "mean": np.nanmean(drawn, axis=-1),
                     "max": np.nanmax(drawn, axis=-1)}
        summaries["delta"] = np.nansum(weights * tv[:, None] * scale[:, :, None, :], axis=-1)
        return {q: np.quantile(d, conf_level, axis=-1) for q, d in summaries.items()}


def pawn_delta(counts: np.ndarray, is_code: np.ndarray) -> dict:
    """{"median", "mean", "max"} PAWN summaries over slices and "delta": (measured, D)."""
    tv, ks = distances(counts)
    d = np.where(is_code[:, None, None], tv, ks)  # KS means nothing for unordered codes
    n_m = counts.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = n_m / n_m.sum(-1, keepdims=True)
        return {"median": np.nanmedian(d, axis=-1), "mean": np.nanmean(d, axis=-1),
                "max": np.nanmax(d, axis=-1), "delta": np.nansum(weights * tv, axis=-1)}




COUNTS = ("block_slice_counts", "block_slice_sums")
# Stored bytes per per-slice count that can be non-zero, at most: zstd (level 0) on int64
# arrays of random non-zero values at random places, densities 1e-6 to 1, took at most 12
# bytes per non-zero value beyond 1/512 of the raw size (2-core AMD EPYC VM, 2026-12-03).
SPARSE_BYTES = 16
COUNT_COPIES = 4  # a worker's counts: accumulators, stored copy, digest and zstd buffers
# null_levels takes at most NULL_COPIES times one output's draws (draws, centred draws,
# their cumsum, its abs) and DRAWN_COPIES times the scaled draws of all outputs
# (nanmedian's masked copies), pawn_delta DISTANCE_COPIES times the counts (measured: 4.0
# and 1.2-4.6 together, 3.0-3.3; slices and bins from 8 to 1024)
NULL_COPIES = 4
DRAWN_COPIES = 5
DISTANCE_COPIES = 4
READ_COPIES = 2  # the blocks read back and their digests' copies (2.0)
# seconds per unit of work (2-core AMD EPYC VM, 2026-12-03, rounded up; measured in brackets)
COUNT_S = 4e-9  # an A or B row's measured output and parameter: slice and bin (3.3 ns)
COUNT_BYTE_S = 15e-9  # a raw byte of a block's per-slice counts: zeroed, filled, copied,
#                       digested, compressed, written (755 MB a block, a whole run: 14 ns)
CELL_S = 50e-9  # distances: a (measured output, param, slice, bin) (16-87 ns)
NULL_S = 40e-9  # null_levels: a (measured output, draw, slice, bin) (38 ns)


class Counts(Statistic):
    """Per block: rows per (measured output, parameter, slice, bin or code) and the
    per-slice power sums of each continuous output. Context: the Edges (a pilot run
    before any block). Merged: (counts, sums) summed over the blocks, the sums in block
    order."""

    name, what, order = "slice_counts", "slice counts", 2

    def identity(self, plan: Plan) -> dict:
        study = plan.study
        return {"slice_counts": [study.slices, study.bins] if self.wanted(plan) else None}

    def prepare(self, plan: Plan) -> Edges:
        return pilot_edges(plan.study)

    def template(self, plan: Plan, edges: Edges):
        study = plan.study
        shape = (len(edges.codes), len(study.sampled_names), study.slices)
        arrays = {
            COUNTS[0]: BlockArray(("measured", "param", "slice", "bin"), (*shape, edges.width),
                                  np.int64, 0, {
                "long_name": "A and B rows per parameter slice and output bin (or code)",
                "units": "1"}),
            COUNTS[1]: BlockArray(("measured", "param", "slice", "power"), (*shape, POWERS),
                                  np.float64, 0.0, {
                "long_name": "per-slice sums of the standardised output to the powers 1..4 "
                             "(continuous outputs)", "units": "1"})}
        coords = {
            "measured": ("measured", np.array(
                [f"case {c} {name}" for c, name in measured_labels(study)], dtype=object),
                {"long_name": "case and measured output", "units": "1"}),
            "measured_centre": ("measured", edges.centre, {
                "long_name": "pilot mean the power sums are centred on",
                "units": "output units"}),
            "measured_scale": ("measured", edges.scale, {
                "long_name": "pilot standard deviation the power sums are scaled by",
                "units": "output units"}),
            "slice_edge": (("scenario", "param", "inner_slice_edge"), edges.slices, {
                "long_name": "inner edges of the equiprobable parameter slices",
                "units": "parameter units"}),
            "bin_edge": (("measured", "inner_bin_edge"), edges.bins, {
                "long_name": "inner edges of a continuous output's bins (pilot quantiles; "
                             "+inf: unused)", "units": "output units"})}
        return arrays, coords

    def start(self, plan: Plan, edges: Edges):
        return empty_counts(plan.study, edges)

    def add(self, state, plan: Plan, edges: Edges, chunk) -> None:
        add_block_counts(plan.study, edges, chunk.outputs, state,
                         chunk_slices(plan.study, chunk, edges.slices))

    def stored(self, state, plan: Plan, edges: Edges) -> dict:
        return dict(zip(COUNTS, stored(state)))

    def merge(self, plan: Plan, edges: Edges, blocks: dict, merged=None):
        counts, sums = blocks[COUNTS[0]], blocks[COUNTS[1]]
        total = sums[0].copy()
        for b in range(1, sums.shape[0]):
            total += sums[b]
        if merged is None:
            return counts.sum(axis=0), total
        return merged[0] + counts.sum(axis=0), merged[1] + total

    def names(self, plan: Plan) -> tuple[str, ...]:
        return COUNTS

    def seconds(self, plan: Plan, *, N: int, workers: int, blocks: int):
        """Counting each A and B row, writing and reading the counts, the measures."""
        study = plan.study
        counts, sums, _ = count_arrays(study)
        k = sampling.rows_per_point(len(study.columns), study.second_order)
        measured = int(np.prod(evaluate.case_shape(study))) * len(study.outputs)
        P = len(study.sampled_names)
        cells = counts // 8  # (measured output, parameter, slice, bin)
        serial = READ_S * blocks * (counts + sums) + CELL_S * cells
        if reads_null_levels(plan):
            serial += NULL_S * NULL_DRAWS * cells // P
        return COUNT_S * 2 / k * measured * P, COUNT_BYTE_S * (counts + sums), serial

    def needs(self, plan: Plan, *, N: int, workers: int, todo: int, merging: int) -> list:
        """The counts of a worker's block, of the blocks merged and of the measures
        computed from them; on disk, every block's."""
        study = plan.study
        counts, sums, _ = count_arrays(study)
        counted = counts + sums
        R = study.scramblings
        fewer = "a smaller N" + (" or fewer scramblings" if R > 1 else "")
        fix = "fewer slices or bins, or fewer of the methods that read per-slice counts"
        # a slice of blocks read, its sum, each design's, the running sum
        merge = (READ_COPIES * merging + R + 2) * counted
        measures = (R + 1) * counts + max(DISTANCE_COPIES * counts, null_bytes(plan))
        return [Need("memory", "per-slice counts (per worker)",
                     workers * COUNT_COPIES * counted, "analysis.bins", fix, "blocks"),
                Need("memory", "merging per-slice counts and the measures from them",
                     max(merge, measures), "analysis.bins", fix, "merge"),
                Need("disk", "per-slice counts", todo * stored_counts(study), "sampling.N",
                     f"{fewer}, or {fix}")]


register_statistic(Counts())  # read by pawn, delta and given_data


def count_arrays(study: Study) -> tuple[int, int, int]:
    """(counts, sums, non-zero): bytes of one block's per-slice counts and power sums and
    the most counts that can be non-zero in it (each A or B row adds to one bin of each
    measured output and parameter)."""
    measured = int(np.prod(evaluate.case_shape(study))) * len(study.outputs)
    P = len(study.sampled_names)
    variables = {v.name: v for v in study.model.outputs}
    width = max([1] + [len(variables[o].flag_values) if variables[o].flag_values
                       else study.bins for o in study.outputs])  # Edges.width at most
    cells = measured * P * study.slices
    return (8 * cells * width, 8 * cells * POWERS,
            measured * P * min(study.slices * width, 2 * study.block_points))


def stored_counts(study: Study) -> int:
    """Bytes one block's per-slice counts and sums take on disk, at most: zstd stores a
    count in at most count_bytes(block_points) bytes, at most SPARSE_BYTES per count that
    can be non-zero, and never more than the raw size plus 1/256 (zstd's bound); sums
    are floats, counted raw."""
    counts, sums, nonzero = count_arrays(study)
    dense = count_bytes(study.block_points) * (counts // 8)
    return min(counts, dense, SPARSE_BYTES * nonzero) + counts // 256 + sums + sums // 256


def count_bytes(block_points: int) -> int:
    """Stored bytes of an int64 count of a block's A and B rows (at most 2 block_points,
    so of b bits), at most: zstd (level 0) on random b-bit values took at most 1.1 b / 8 +
    0.3 bytes each, b = 1..32 (2-core AMD EPYC VM, 2026-12-03); this is 1.25 b / 8 + 1,
    rounded up."""
    bits = (2 * block_points).bit_length()
    return min(8, math.ceil(1.25 * bits / 8) + 1)


def reads_null_levels(plan: Plan) -> bool:
    """Whether a method of the run reads the null levels (PAWN's and delta's)."""
    return any("null_levels" in m.reads for m in selected(plan.study))


def null_bytes(plan: Plan) -> int:
    """Bytes null_levels takes at most: copies of one measured output's draws (draws,
    slices, bins) and of all outputs' scaled draws (measured, parameters, draws,
    slices)."""
    study = plan.study
    counts, _, _ = count_arrays(study)
    if not reads_null_levels(plan):
        return 0
    measured = int(np.prod(evaluate.case_shape(study))) * len(study.outputs)
    P = len(study.sampled_names)
    cells = counts // (8 * measured * P)  # slices * width
    return 8 * NULL_DRAWS * (NULL_COPIES * cells + DRAWN_COPIES * measured * P * study.slices)


def common_attrs(study: Study, N: int) -> dict:
    """Attributes of every group read from the counts: the A and B rows per case in all,
    the slicing and the pilot."""
    return {"rows": 2 * N * study.scramblings, "slices": study.slices, "bins": study.bins,
            "pilot_points": min(study.N, PILOT_POINTS)}


def missing_rows(study: Study, designs: list, N: int) -> np.ndarray:
    """(measured,) A and B rows not counted (their output NaN) per measured output."""
    counts = sum(c for c, _ in designs)
    return 2 * N * study.scramblings - counts[:, 0].sum((-1, -2))


def distance_group(plan: Plan, edges: Edges, designs: list, N: int, measures: dict,
                   method: str, ks: bool = True) -> xr.Dataset:
    """A group of distance-based measures on (cases, output, param) from the merged
    counts of every design: `measures` {variable: (key of pawn_delta and null_levels,
    long name, null long name)}, `method` the group's `method` attribute; NaN with a skip
    reason for outputs with NaN rows or one bin or code holding every row. `ks`: the
    measures read Kolmogorov-Smirnov distances of continuous outputs (PAWN), else total
    variation throughout (delta); the `output_distance` coordinate says which."""
    import xarray as xr

    study = plan.study
    dims, coords = evaluate.case_coords(study)
    shape = evaluate.case_shape(study)
    D, n_out = len(study.sampled_names), len(study.outputs)
    is_code = np.array([c is not None for c in edges.codes])
    counts = sum(c for c, _ in designs)
    found = pawn_delta(counts, is_code)
    stated = 2 * N >= NULL_ROWS_PER_SLICE * study.slices  # A and B rows per slice per design
    null = null_levels(counts, is_code, study.analysis_seed, study.conf_level) if stated \
        else {key: np.full(value.shape, np.nan) for key, value in found.items()}
    constant = (counts[:, 0].sum(1) > 0).sum(-1) < 2  # one bin or code holds every row
    reasons = np.array([f"{m} NaN rows" if m else "" for m in missing_rows(study, designs, N)],
                       dtype=object)
    reasons[(reasons == "") & constant] = "constant output"
    skip = reasons != ""

    def var(a, long_name):
        a = np.where(skip[:, None], np.nan, a)
        return (dims + ["output", "param"], a.reshape(*shape, n_out, D),
                {"long_name": long_name, "units": "1"})

    data = {}
    for name, (key, long_name, null_name) in measures.items():
        data[name] = var(found[key], long_name)
    for name, (key, long_name, null_name) in measures.items():
        data[f"{name}_null"] = var(null[key], null_name)
    data[f"{method}_skip_reason"] = (dims + ["output"], reasons.reshape(*shape, n_out), {
        "long_name": "why the output has no measures (empty: it has them)", "units": "1"})
    coords.update({
        "output": np.array(study.outputs, dtype=object),
        "output_distance": ("output", np.array(
            ["Kolmogorov-Smirnov" if ks and not is_code[i] else "total variation"
             for i in range(n_out)],
            dtype=object), {"long_name": "distance between output distributions",
                            "units": "1"}),
        "param": np.array(study.sampled_names, dtype=object)})
    attrs = {} if stated else {"null_level_missing": (
        f"fewer than {NULL_ROWS_PER_SLICE} A and B rows per slice in each design (N "
        f">= {NULL_ROWS_PER_SLICE // 2 * study.slices * study.scramblings} states it)")}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def check(analysis: dict, sampling: dict, problems) -> None:
    """analysis.slices given with a power-of-two N: at least MIN_ROWS_PER_SLICE of the
    2N A and B rows per slice."""
    N, value = sampling["N"], analysis["slices"]
    if sampling["slices_given"] and isinstance(N, int) and not isinstance(N, bool) \
            and N > 0 and N & (N - 1) == 0 and isinstance(value, int) \
            and 2 <= value <= 1024 and 2 * N < MIN_ROWS_PER_SLICE * value:
        message = (f"analysis.slices: {value} slices of the 2N = {2 * N} A and B rows leave "
                   f"fewer than {MIN_ROWS_PER_SLICE} rows per slice; use at most "
                   f"{max(2, 2 * N // MIN_ROWS_PER_SLICE)} slices or a larger N")
        problems.append(message)


def result_size(plan: Plan, target: bool) -> tuple[int, int]:
    """(groups, bytes) of one group read from the counts: its values, the slice and bin
    edges and the pilot's coordinates, at most."""
    study = plan.study
    measured = int(np.prod(evaluate.case_shape(study))) * len(study.outputs)
    P = len(study.sampled_names)
    first = 8 * len(plan.labels) * P
    return 1, (2 * first + 8 * 8 * measured * P + 512 * measured
               + 8 * measured * 2 * study.bins
               + 8 * len(study.scenario_items()) * P * study.slices)
