"""PAWN, Borgonovo's delta and a given-data first-order index, streamed from per-slice
counts of the A and B rows.

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

Null levels: what a measure reads for a parameter the output does not depend on, were
the rows iid: each slice's deviation from the unconditional shares p drawn as the normal
limit of a subsample of n_m of the n rows, covariance (diag(p) - p p') (1 / n_m - 1 / n).
Sobol' rows fill the slices more evenly, so there such a parameter reads at or below its
null level; a measure at or below it cannot be told from no influence.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist

import numpy as np
import xarray as xr

from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.evaluate.series import series_spec
from reesens.kernels.counts import ab_slices, add_slice_counts
from reesens.study.schema import Study

COUNT_METHODS = ("pawn", "delta", "given_data")  # the methods that read the counts
PILOT_POINTS = 4096  # base points whose A and B rows fix a continuous output's bin edges
POWERS = 4  # power sums per slice of a continuous output: z, z^2, z^3, z^4


def wanted(study: Study) -> bool:
    """Whether the study asks for any measure read from the counts."""
    return any(m in study.methods for m in COUNT_METHODS)


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
    own, engine.sampling)."""
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


def add_block_counts(study: Study, edges: Edges, out: dict, accumulators: list) -> None:
    """Add the A and B rows of evaluated points `out` (engine.evaluate) to the
    accumulators (empty_counts), in row order; rows whose output is not finite (or not
    one of its codes) are not counted (kernels.counts)."""
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
        add_slice_counts(ab_slices(out["_params"][s], k, edges.slices[s]), Y,
                         edges.bins[mine], codes[mine], n_codes[mine], edges.centre[mine],
                         edges.scale[mine], counts, sums)


def stored(accumulators: list) -> tuple[np.ndarray, np.ndarray]:
    """The accumulators as the blocks group stores them: (counts (measured, D, slices,
    width), sums (measured, D, slices, POWERS))."""
    counts = np.concatenate([c for c, _ in accumulators])
    sums = np.concatenate([s.reshape(*s.shape[:2], -1, POWERS).transpose(2, 0, 1, 3)
                           for _, s in accumulators])
    return counts, np.ascontiguousarray(sums)


NULL_DRAWS = 128  # draws of the null level's Monte Carlo (per measured output)


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


def null_levels(counts: np.ndarray, is_code: np.ndarray, seed: int) -> dict:
    """{"median", "mean", "max", "delta"}: (measured, D) expected values of the PAWN
    summaries and of delta for a parameter the output does not depend on.

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
    weights = n_m / n[..., None]
    with np.errstate(invalid="ignore"):
        return {"median": np.nanmedian(drawn, axis=-1).mean(-1),
                "mean": np.nanmean(drawn, axis=-1).mean(-1),
                "max": np.nanmax(drawn, axis=-1).mean(-1),
                "delta": np.nansum(weights * tv.mean(1)[:, None, :] * scale, axis=-1)}


def pawn_delta(counts: np.ndarray, is_code: np.ndarray) -> dict:
    """{"median", "mean", "max"} PAWN summaries over slices and "delta": (measured, D)."""
    tv, ks = distances(counts)
    d = np.where(is_code[:, None, None], tv, ks)  # KS means nothing for unordered codes
    n_m = counts.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = n_m / n_m.sum(-1, keepdims=True)
        return {"median": np.nanmedian(d, axis=-1), "mean": np.nanmean(d, axis=-1),
                "max": np.nanmax(d, axis=-1), "delta": np.nansum(weights * tv, axis=-1)}


@dataclass
class GivenData:
    """A given-data S1 of one output for each parameter, (D,) each: `estimate` (the
    correlation ratio plus `slicing`), `iid_variance` (its variance were the rows iid:
    delta method plus the slice means' noise) and `slicing` (the estimated variance of
    the conditional mean within slices, relative: what slicing loses)."""

    estimate: np.ndarray
    iid_variance: np.ndarray
    slicing: np.ndarray

    def half_width(self, conf_level: float) -> np.ndarray:
        """z * sqrt(iid_variance) + slicing: the iid interval, widened by the slicing
        correction (which is estimated, not known)."""
        z = NormalDist().inv_cdf(0.5 + conf_level / 2)
        return z * np.sqrt(self.iid_variance) + self.slicing


def given_data_continuous(n_m: np.ndarray, sums: np.ndarray) -> GivenData:
    """Given-data S1 of a continuous output from per-slice row counts n_m (D, M) and
    power sums (D, M, POWERS) of the standardised output."""
    n = n_m.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r1, r2, r3, r4 = (np.where(n_m > 0, sums[..., p] / n_m, 0.0) for p in range(POWERS))
        mu = sums[..., 0].sum(-1) / n
        T = sums[..., 1].sum(-1) / n - mu ** 2
        theta = (n_m * (r1 - mu[:, None]) ** 2).sum(-1) / n / T
        c2 = r2 - r1 ** 2  # central moments within each slice
        c3 = r3 - 3 * r1 * r2 + 2 * r1 ** 3
        c4 = r4 - 4 * r1 * r3 + 6 * r1 ** 2 * r2 - 3 * r1 ** 4
        # the influence of a row y of slice m on SSB / SST, times T, is
        # alpha u^2 + beta u + gamma, u = y - mean_m, a = mean_m - mean
        a, th = r1 - mu[:, None], theta[:, None]
        alpha, beta, gamma = -th, 2 * a * (1 - th), a ** 2 * (1 - th)
        per_slice = (alpha ** 2 * c4 + 2 * alpha * beta * c3
                     + (beta ** 2 + 2 * alpha * gamma) * c2 + gamma ** 2)
        var_if = (n_m / n[:, None] * per_slice).sum(-1) / T ** 2
        chi = (np.where(n_m > 0, c2, 0.0) ** 2).sum(-1) / T ** 2
        slicing = _slicing(r1[..., None], n_m) / T
    return GivenData(theta + slicing, var_if / n + _chi_term(chi, n_m), slicing)


def given_data_codes(counts: np.ndarray, members) -> GivenData:
    """Given-data S1 of the indicators of the categories `members` of a code output
    together (one member: that indicator; all: the aggregate sum_k SSB_k / sum_k SST_k)
    from its category counts (D, M, K)."""
    n_m = counts.sum(-1)
    n = n_m.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        q_m = np.where(n_m[..., None] > 0, counts / n_m[..., None], 0.0)[..., members]
        q = counts.sum(1)[..., members] / n[:, None]  # (D, K')
        a = q_m - q[:, None, :]  # (D, M, K')
        B = (n_m[..., None] / n[:, None, None] * a ** 2).sum(1)  # (D, K')
        T = q * (1 - q)
        theta = B.sum(-1) / T.sum(-1)
        # the influence of a row of slice m and category c, from every member k
        hit = (np.arange(counts.shape[-1])[:, None] == np.asarray(members)[None, :])
        u = hit[None, None] - q_m[:, :, None, :]  # (D, M, c, K')
        y_dev = hit[None, None] - q[:, None, None, :]
        terms = 2 * a[:, :, None] * u + a[:, :, None] ** 2 - B[:, None, None] - \
            theta[:, None, None, None] * (y_dev ** 2 - T[:, None, None])
        influence = terms.sum(-1) / T.sum(-1)[:, None, None]  # (D, M, c)
        var_if = (counts / n[:, None, None] * influence ** 2).sum((-1, -2))
        # tr(Sigma_m^2) of the members' within-slice covariance diag(q) - q q'
        trace = (q_m ** 2).sum(-1) - 2 * (q_m ** 3).sum(-1) + (q_m ** 2).sum(-1) ** 2
        chi = np.where(n_m > 0, trace, 0.0).sum(-1) / T.sum(-1) ** 2
        slicing = _slicing(q_m, n_m) / T.sum(-1)
    return GivenData(theta + slicing, var_if / n + _chi_term(chi, n_m), slicing)


def _slicing(means: np.ndarray, n_m: np.ndarray) -> np.ndarray:
    """(D,) the variance of the conditional mean within the slices that their means
    (D, M, components) miss, summed over components: sum_m p_m s_m^2 / 12, s_m the mean's
    change across slice m estimated from its neighbours ((mean_{m+1} - mean_{m-1}) / 2,
    one-sided at the ends), as for a conditional mean linear within each slice. 0 with an
    empty slice."""
    if means.shape[1] < 2:
        return np.zeros(means.shape[0])
    step = np.gradient(means, axis=1)
    out = (n_m[..., None] / n_m.sum(-1)[:, None, None] * step ** 2 / 12).sum((1, 2))
    return np.where((n_m > 0).all(-1), out, 0.0)


def _chi_term(chi, n_m):
    """Variance of the slice means' iid noise in SSB / SST: 2 (M - 1) / M sum_m
    tr(Sigma_m^2) / (n T)^2 with chi = sum_m tr(Sigma_m^2) / T^2 over the M non-empty
    slices (Sigma_m the output's covariance within slice m, T its total variance)."""
    n, M = n_m.sum(-1), (n_m > 0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2 * (M - 1) / M * chi / n ** 2


def datasets(study: Study, edges: Edges, designs: list, series_labels,
             rows: int) -> dict[str, xr.Dataset]:
    """The `pawn`, `delta` and `given_data` groups the study asks for, from each
    independent design's (counts (measured, D, slices, width), sums (measured, D, slices,
    POWERS)), `rows` A and B rows per case in all; given_data on `series_labels` (the
    sobol group's outputs: continuous outputs, code aggregates, indicators
    "name==meaning")."""

    dims, coords = evaluate.case_coords(study)
    shape = evaluate.case_shape(study)
    names = list(study.sampled_names)
    D, n_out = len(names), len(study.outputs)
    is_code = np.array([c is not None for c in edges.codes])
    counts = sum(c for c, _ in designs)
    n = counts[:, 0].sum((-1, -2))  # (measured,) rows counted
    missing = rows - n
    common = {"rows": rows, "slices": study.slices, "bins": study.bins,
              "pilot_points": min(study.N, PILOT_POINTS)}
    out = {}
    param_coords = {"param": np.array(names, dtype=object)}
    if "pawn" in study.methods or "delta" in study.methods:
        found = pawn_delta(counts, is_code)
        null = null_levels(counts, is_code, study.analysis_seed)
        constant = (counts[:, 0].sum(1) > 0).sum(-1) < 2  # one bin or code holds every row
        reasons = np.array([f"{m} NaN rows" if m else "" for m in missing], dtype=object)
        reasons[(reasons == "") & constant] = "constant output"
        skip = reasons != ""

        def var(a, long_name):
            a = np.where(skip[:, None], np.nan, a)
            return (dims + ["output", "param"], a.reshape(*shape, n_out, D),
                    {"long_name": long_name, "units": "1"})

        output_coords = {"output": np.array(study.outputs, dtype=object),
                         "output_distance": ("output", np.array(
                             ["total variation" if is_code[i] else "Kolmogorov-Smirnov"
                              for i in range(n_out)], dtype=object),
                             {"long_name": "distance between output distributions",
                              "units": "1"})}
        skip_var = (dims + ["output"], reasons.reshape(*shape, n_out), {
            "long_name": "why the output has no measures (empty: it has them)",
            "units": "1"})
        if "pawn" in study.methods:
            data = {f"pawn_{q}": var(found[q], f"PAWN index: {q} over the slices of the "
                                     "distance to the unconditional distribution")
                    for q in ("median", "mean", "max")}
            data.update({f"pawn_{q}_null": var(null[q], f"PAWN {q} expected for a parameter "
                                               "the output does not depend on")
                         for q in ("median", "mean", "max")})
            data["pawn_skip_reason"] = skip_var
            out["pawn"] = xr.Dataset(data, coords={**coords, **output_coords, **param_coords},
                                     attrs={**common, "method": "PAWN (Pianosi & Wagener)"})
        if "delta" in study.methods:
            data = {"delta": var(found["delta"], "Borgonovo's moment-independent delta"),
                    "delta_null": var(null["delta"], "delta expected for a parameter the "
                                      "output does not depend on"),
                    "delta_skip_reason": skip_var}
            out["delta"] = xr.Dataset(data, coords={**coords, **output_coords, **param_coords},
                                      attrs={**common, "method": "Borgonovo's delta "
                                             "(histogram given-data estimator)"})
    if "given_data" in study.methods:
        out["given_data"] = _given_data_dataset(study, edges, designs, series_labels,
                                                missing, common, series_spec(study))
    return {g: evaluate.squeeze_cases(ds, study) for g, ds in out.items()}


def _given_data_dataset(study, edges, designs, series_labels, missing, common, spec):
    """The given_data group on (cases, output = series_labels, param), from the counts
    and sums of each independent design (one, or `scramblings`)."""
    from reesens.methods.sobol import _over_designs

    dims, coords = evaluate.case_coords(study)
    shape = evaluate.case_shape(study)
    D, n_out = len(study.sampled_names), len(study.outputs)
    by_label = {s.label: s for s in spec}
    n_cases = int(np.prod(shape))
    S1 = np.full((n_cases, len(series_labels), D), np.nan)
    conf = np.full_like(S1, np.nan)
    reasons = np.full((n_cases, len(series_labels)), "", dtype=object)
    for c in range(n_cases):
        for k, label in enumerate(series_labels):
            series = by_label.get(label)
            i = c * n_out + study.outputs.index(series.output if series else label)
            codes = edges.codes[i]
            found = []
            for counts, sums in designs:
                if codes is None:
                    found.append(given_data_continuous(counts[i].sum(-1), sums[i]))
                else:
                    members = [codes.index(series.code)] if series and series.code is not None \
                        else list(range(len(codes)))
                    found.append(given_data_codes(counts[i][..., :len(codes)], members))
            if missing[i]:
                reasons[c, k] = f"{missing[i]} NaN rows"
            elif not all(np.isfinite(f.estimate).all() for f in found):
                reasons[c, k] = "constant output"
            elif len(found) == 1:
                S1[c, k], conf[c, k] = found[0].estimate, found[0].half_width(study.conf_level)
            else:
                S1[c, k], conf[c, k] = _over_designs(np.stack([f.estimate for f in found]),
                                                     study.conf_level)
    level = f"{100 * study.conf_level:g}%"
    interval = (f"Student t over {len(designs)} independent scramblings" if len(designs) > 1
                else "iid delta method plus the slice means' noise and the slicing "
                     "correction")
    data = {"given_data_S1": (dims + ["output", "param"], S1.reshape(*shape, -1, D), {
                "long_name": "given-data first-order index (between-slice share of the "
                             "variance, corrected for slicing)", "units": "1"}),
            "given_data_S1_conf": (dims + ["output", "param"], conf.reshape(*shape, -1, D), {
                "long_name": f"half-width of the {level} interval ({interval}) of the "
                             "given-data first-order index", "units": "1"}),
            "given_data_skip_reason": (dims + ["output"], reasons.reshape(*shape, -1), {
                "long_name": "why the output has no index (empty: it has them)",
                "units": "1"})}
    return xr.Dataset(data, coords={**coords,
                                    "output": np.array(series_labels, dtype=object),
                                    "param": np.array(study.sampled_names, dtype=object)},
                      attrs={**common, "method": "given-data first-order Sobol' index",
                             "interval": interval})
