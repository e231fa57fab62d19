"""A given-data first-order index, read from the per-slice counts (methods.counts).

Given-data S1: the between-slice share of the output's variance (the correlation ratio),
SSB / SST = sum_m n_m (mean_m - mean)^2 / sum (y - mean)^2; for a code output, the
aggregate sum_k SSB_k / sum_k SST_k over its indicators (as the sobol group's aggregate).
No correction for the slice means' noise: the rows are Sobol' points, whose slices are
filled far more evenly than iid rows' (an iid correction, Kelley's epsilon squared,
overshoots by (M - 1) / n, measured). Its interval, with one design, is the iid delta
method's, from the influence function of SSB / SST per row, plus the variance of the
slice means' iid noise, 2 (M - 1) / M sum_m tr(Sigma_m^2) / (n T)^2 (Sigma_m the output's
covariance within slice m, T its total variance), which the delta method misses and which
is all there is when S = 0: conservative for Sobol' rows. With independent scramblings
(intervals = "replicates") it is Student t over the designs' estimates, as the sobol
group's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reesens.core import intervals
from reesens.evaluate import cases as evaluate
from reesens.methods import counts, tables
from reesens.methods.counts import POWERS
from reesens.study.registry import Method, register

if TYPE_CHECKING:
    import xarray as xr


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
        return intervals.normal_quantile(conf_level) * np.sqrt(self.iid_variance) \
            + self.slicing


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


def results(plan, merged, level) -> dict:
    """The given_data group on (cases, output = the run's output labels, param), from the
    counts and sums of each independent design (one, or `scramblings`)."""
    import xarray as xr

    study, edges, designs = plan.study, level.contexts[counts.Counts.name], \
        merged[counts.Counts.name]
    series_labels, spec = level.outputs, list(plan.spec)
    missing = counts.missing_rows(study, designs, level.N)
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
            for n, sums in designs:
                if codes is None:
                    found.append(given_data_continuous(n[i].sum(-1), sums[i]))
                else:
                    members = [codes.index(series.code)] if series and series.code is not None \
                        else list(range(len(codes)))
                    found.append(given_data_codes(n[i][..., :len(codes)], members))
            if missing[i]:
                reasons[c, k] = f"{missing[i]} NaN rows"
            elif not all(np.isfinite(f.estimate).all() for f in found):
                reasons[c, k] = "constant output"
            elif len(found) == 1:
                S1[c, k], conf[c, k] = found[0].estimate, found[0].half_width(study.conf_level)
            else:
                S1[c, k], conf[c, k] = intervals.student(np.stack([f.estimate for f in found]),
                                                         study.conf_level)
    percent = f"{100 * study.conf_level:g}%"
    interval = (f"Student t over {len(designs)} independent scramblings" if len(designs) > 1
                else "iid delta method plus the slice means' noise and the slicing "
                     "correction")
    data = {"given_data_S1": (dims + ["output", "param"], S1.reshape(*shape, -1, D), {
                "long_name": "given-data first-order index (between-slice share of the "
                             "variance, corrected for slicing)", "units": "1"}),
            "given_data_S1_conf": (dims + ["output", "param"], conf.reshape(*shape, -1, D), {
                "long_name": f"half-width of the {percent} interval ({interval}) of the "
                             "given-data first-order index", "units": "1"}),
            "given_data_skip_reason": (dims + ["output"], reasons.reshape(*shape, -1), {
                "long_name": "why the output has no index (empty: it has them)",
                "units": "1"})}
    ds = xr.Dataset(data, coords={**coords, "output": np.array(series_labels, dtype=object),
                                  "param": np.array(study.sampled_names, dtype=object)},
                    attrs={**counts.common_attrs(study, level.N),
                           "method": "given-data first-order Sobol' index",
                           "interval": interval})
    return {"given_data": evaluate.squeeze_cases(ds, study)}


def show(groups: dict, options: dict) -> str:
    """Per case and output, the parameters ranked by the given-data S1, beside the
    pick-freeze S1 of the sobol group where it has the same output and parameter."""
    ds = groups["given_data"]
    columns = [("S1 given data", "given_data_S1", "given_data_S1_conf")]
    pick = groups.get("sobol")
    if pick is not None and set(ds["param"].values.tolist()) <= set(
            pick["param"].values.tolist()):  # a grouped study's indices are per group
        ds = ds.assign(pick_S1=pick["sobol_S1"].sel(output=ds["output"], param=ds["param"]),
                       pick_S1_conf=pick["sobol_S1_conf"].sel(output=ds["output"],
                                                              param=ds["param"]))
        columns.append(("S1 Sobol", "pick_S1", "pick_S1_conf"))
    return tables.ranked(ds, "given_data_S1", columns, "given_data_skip_reason",
                         f"Given-data S1 from the {int(ds.attrs['rows']):,} A and B rows, "
                         f"{ds.attrs['slices']} slices per parameter")


def agreement(ds: xr.Dataset, pick: xr.Dataset, outputs: list[str] | None = None) -> str:
    """Whether the given-data S1 agrees with the pick-freeze S1 of the sobol group within
    their intervals, over every case, output (of `outputs`, default all) and parameter
    both have."""
    agree, differ = 0, []
    common = [q for q in ds["param"].values.tolist() if q in pick["param"].values.tolist()]
    for title, case in tables.cases(ds, "given_data_S1"):
        where = tables.case_of(case, ds, "given_data_S1")
        for output in case["output"].values.tolist():
            if output not in pick["output"].values.tolist() or (
                    outputs is not None and output not in outputs):
                continue
            g = case.sel(output=output, param=common)
            p = pick.sel({**where, "output": output, "param": common})
            ok = np.abs(g["given_data_S1"].values - p["sobol_S1"].values) <= \
                g["given_data_S1_conf"].values + p["sobol_S1_conf"].values
            agree += int(ok.sum())
            head = f"{output}{' (' + title + ')' if title else ''}"
            differ += [f"{head} {q}" for q, fine in zip(common, ok) if not fine]
    return (f"The given-data S1 agrees with the pick-freeze S1 within their intervals for "
            f"{agree} of {agree + len(differ)} (output, parameter) pairs"
            + (f"; they differ for {', '.join(differ)}" if differ else ""))


def report(page) -> list[str]:
    ds = page.open("given_data")
    lines = ["## Given-data S1", "",
             f"- Between-slice share of each output's variance, from the "
             f"{int(ds.attrs['rows']):,} A and B rows in {ds.attrs['slices']} slices per "
             f"parameter ({ds.attrs['interval']} intervals)."]
    if "sobol" in page.groups:
        chosen = page.chosen(ds["output"].values.tolist())
        lines.append(f"- {agreement(ds, page.open('sobol'), chosen)}")
    return lines + [""]


GIVEN_DATA = register(Method(
    name="given_data", order=4, title="the given-data S1", groups=("given_data",),
    statistic=counts.Counts.name, export={"given_data": {"given_data_S1": "given_data_S1"}},
    check=counts.check, results=results, show=show, report=report,
    result_size=counts.result_size))
