"""Sobol' indices: first-order, total and second-order, with intervals, of every analysed
output under every case, from the Saltelli design's rows.

Every Saltelli study computes them (their row statistics are the run's checks: NaN rows,
constant outputs), so the method is required of that design. It reads the Moments
statistic (and with SALib's estimator, every row's series values: SeriesValues), writes
the `sobol` and `summary` groups and, when a run doubles N towards a target half-width,
`convergence`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reesens.core import intervals
from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.evaluate import series
from reesens.methods import categorical
from reesens.methods.sobol import indices, text
from reesens.methods.sobol.moments import Moments, SeriesValues
from reesens.methods.sobol.summary import summary_dataset
from reesens.study.registry import Method, register, register_statistic

if TYPE_CHECKING:
    import xarray as xr


def results(plan, merged, level) -> dict:
    """The sobol and summary groups at N base points per design: from each independent
    scrambling's merged Moments (intervals = "replicates": Student t over them), or from
    all rows merged (delta-method or bootstrap intervals), or from every row's values
    (SALib's estimator)."""
    study, spec = plan.study, list(plan.spec)
    designs = merged[Moments.name]
    moments, boot = designs[0]
    for more, _ in designs[1:]:
        moments = moments.merge(more)
    shape = evaluate.case_shape(study)
    rows = moments.rows.reshape(*shape, len(spec), 3)
    kept = series.kept_series(spec, rows[..., 1])
    total_rows = study.scramblings * level.N * sampling.rows_per_point(
        len(study.columns), study.second_order)
    reasons = indices.skip_reasons(rows, total_rows)
    if len(designs) > 1:  # Student t needs every scrambling's estimate
        flat = np.stack([m.rows[:, 2] for m, _ in designs]).reshape(-1, *shape, len(spec))
        reasons[(reasons == "") & (flat == 0).any(axis=0)] = (
            "constant in one of the independent scramblings (a rare value: a larger N)")
    if plan.estimator == "salib":
        values = merged[SeriesValues.name][0]
        rows_values = values.reshape(*shape, len(spec), -1)[..., kept, :]
        arrays = indices.salib_indices(study, rows_values, reasons[..., kept],
                                       workers=level.workers, progress=level.progress)
        arrays.update(indices.ab_variances(study, rows_values))
    else:
        arrays = indices.scrambled_indices(study, [m for m, _ in designs], reasons) \
            if len(designs) > 1 else indices.streaming_indices(study, moments, reasons, boot)
        arrays = _kept(arrays, kept)
    kept_spec = [s for s, k in zip(spec, kept) if k]
    reasons = indices.explain_nan(arrays, reasons[..., kept])
    kept_spec, arrays, reasons = categorical.categorical(study, kept_spec, arrays, reasons)
    mean_conf = None
    if len(designs) > 1:  # Student t over the scramblings' own means of each series
        means = np.stack([m.rows[:, 1] for m, _ in designs]).reshape(-1, *shape, len(spec))
        mean_conf = intervals.student(means, study.conf_level)[1]
    return {"sobol": indices.sobol_dataset(study, kept_spec, arrays, reasons, plan.estimator),
            "summary": summary_dataset(study, spec, kept, rows, total_rows, mean_conf)}


def _kept(arrays: dict, kept: np.ndarray) -> dict:
    """arrays with only the kept series: quantities (*cases, series, D[, D]), variances
    (*cases, series) and the replicates' or designs' own (R, *cases, series[, D])."""
    def take(q, a):
        tail = 2 if q.startswith("S2") else (0 if q.startswith("V") else 1)
        return a[(slice(None),) * (a.ndim - tail - 1) + (kept,)]
    return {q: ({r: take(r, b) for r, b in a.items()} if isinstance(a, dict) else take(q, a))
            for q, a in arrays.items()}


def widest(groups: dict) -> float:
    """Largest ST interval half-width of a level's sobol group (NaN-free outputs)."""
    conf = groups["sobol"]["sobol_ST_conf"].values
    return float(np.nanmax(conf)) if np.isfinite(conf).any() else 0.0


def convergence(levels: list, target_ci: float) -> dict:
    """The convergence group: S1, ST and their half-widths at each N a run reached
    ([(N, groups)]), and whether the widest ST half-width met `target_ci`."""
    import xarray as xr

    names = ["sobol_S1", "sobol_S1_conf", "sobol_ST", "sobol_ST_conf"]
    ds = xr.concat([groups["sobol"][names] for _, groups in levels], dim="N",
                   coords="minimal", compat="override", join="override")
    ds.coords["N"] = ("N", np.array([N for N, _ in levels]),
                      {"long_name": "base sample count", "units": "1"})
    last = widest(levels[-1][1])
    ds.attrs = {"target_ci": target_ci, "target_met": bool(last <= target_ci),
                "widest_half_width": last, "N_reached": int(levels[-1][0])}
    return {"convergence": ds}


def result_size(plan, target: bool) -> tuple[int, int]:
    """(groups, bytes) of the sobol and summary groups (and convergence, at most 7
    levels of N), at most."""
    P, series = len(plan.study.sampled_names), len(plan.labels)
    first = 8 * series * P
    values = first * (4 + (2 * P if plan.study.second_order else 0)) + 8 * series * 8 \
        + 512 * series
    return 2 + target, values + (4 * first * 8 if target else 0)


SOBOL = register(Method(
    name="sobol", order=1, title="Sobol' indices", groups=("sobol", "summary", "convergence"),
    statistic=Moments.name,
    required="the other measures read the same Saltelli rows, and the run's checks (NaN "
             "rows, constant outputs) come from its statistics",
    export={"sobol": {f"sobol_{q}": q for q in ("S1", "ST", "S2")},
            "convergence": {f"sobol_{q}": q for q in ("S1", "ST")},
            "summary": {f"summary_{q}": q for q in ("mean", "variance", "nan_count")}},
    results=results, show=text.show, report=text.report, widest=widest,
    convergence=convergence, result_size=result_size), Moments())
register_statistic(SeriesValues())  # after Moments: the blocks group's array order
