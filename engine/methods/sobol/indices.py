"""Sobol' indices of every analysed output under every case: SALib or streaming statistics.

The analysed outputs ("series") are the study's continuous outputs and, for each code
output (CF flag_values), the indicator 1{code == k} of every code k; indicators of codes
that never occur are dropped from the results. A series with NaN rows or no variance gets
NaN indices and a recorded reason instead of an estimate.

Two estimators fill the same dataset: `salib` runs SALib's analyze on the rows (bootstrap
intervals), `streaming` reads merged block statistics (methods.sobol.streaming; delta-method or
Poisson-bootstrap intervals). Their point estimates agree to round-off.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

import numpy as np

from reesens.core import intervals
from reesens.core.progress import Progress
from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.evaluate.series import Series
from reesens.methods.sobol import streaming
from reesens.study.schema import Study

if TYPE_CHECKING:
    import xarray as xr


def skip_reasons(rows: np.ndarray, total_rows: int) -> np.ndarray:
    """Why each series gets no indices ("" when it does): rows (..., 3) merged row
    statistics (count, mean, M2)."""
    reasons = np.full(rows.shape[:-1], "", dtype=object)
    n_nan = total_rows - rows[..., 0].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = rows[..., 2] / rows[..., 0]
    reasons[~(variance >= np.finfo(np.float64).tiny)] = (
        "variance underflow (the rows differ by less than a float's variance can hold)")
    reasons[rows[..., 2] == 0] = "constant output"  # M2 is 0 only if every row is equal
    for index in zip(*np.nonzero(n_nan)):
        reasons[index] = f"{n_nan[index]} NaN rows"
    return reasons


def explain_nan(arrays: dict, reasons: np.ndarray) -> np.ndarray:
    """reasons, with one for each series whose S1 or ST came out NaN or infinite without
    one (every NaN index carries a reason)."""
    reasons = reasons.copy()
    bad = ~(np.isfinite(arrays["S1"]).all(axis=-1) & np.isfinite(arrays["ST"]).all(axis=-1))
    reasons[bad & (reasons == "")] = ("estimates not finite (the output's variance is too "
                                      "small against its values)")
    return reasons


QUANTITIES = ("S1", "S1_conf", "ST", "ST_conf")


def _salib(problem, y, study: Study):
    from SALib.analyze import sobol as salib_sobol  # scipy.stats: import only to use

    return salib_sobol.analyze(problem, y, calc_second_order=study.second_order,
                               num_resamples=study.resamples, conf_level=study.conf_level,
                               print_to_console=False, seed=study.analysis_seed)


def salib_indices(study: Study, values: np.ndarray, reasons: np.ndarray, *,
                  workers: int = 1, progress: bool = False) -> dict:
    """SALib's indices for every series without a skip reason, `workers` series at a time
    (with `progress`, a line or bar per finished series).

    values: (*cases, series, rows); returns {quantity: (*cases, series, D[, D])}.
    """
    problem = sampling.salib_problem(study.sampled_names, study.sampled, study.param_groups)
    todo = [index for index in np.ndindex(*reasons.shape) if not reasons[index]]
    arrays = _empty(study, reasons.shape)
    bar = Progress(len(todo), progress, unit="SALib analysis of series")
    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = {pool.submit(_salib, problem, values[i], study): i for i in todo}
            for future in as_completed(futures):
                for q, a in arrays.items():
                    a[futures[future]] = future.result()[q]
                bar.advance(1)
    finally:
        bar.close()
    return arrays


def interval_kind(study: Study, estimator: str) -> str:
    """How the run's intervals were computed, in words."""
    if estimator == "salib":
        return "bootstrap (SALib)"
    if study.intervals == "bootstrap":
        return f"Poisson bootstrap ({study.resamples} replicates)"
    if study.intervals == "replicates":
        return f"Student t over {study.scramblings} independent scramblings"
    return "asymptotic normal (delta method)"


def streaming_indices(study: Study, moments: streaming.Moments, reasons: np.ndarray,
                      replicates: streaming.Replicates | None = None) -> dict:
    """The streaming estimator's indices: moments (and bootstrap replicates, for its
    intervals) over (prod(cases) * series) series."""
    out = streaming.indices(moments, study.conf_level, replicates)
    arrays = _empty(study, reasons.shape)
    skip = reasons.astype(bool)
    for q, a in arrays.items():
        if q in out:  # without delta or bootstrap statistics, no half-widths: NaN
            a[...] = out[q].reshape(a.shape)
        a[skip] = np.nan
    arrays["V"] = out["V"].reshape(reasons.shape)
    if "V_conf" in out:
        arrays["V_conf"] = out["V_conf"].reshape(reasons.shape)
    if "boot" in out:
        arrays["boot"] = {q: b.reshape(b.shape[0], *reasons.shape, *b.shape[2:])
                          for q, b in out["boot"].items()}
    return arrays


def scrambled_indices(study: Study, designs: list, reasons: np.ndarray) -> dict:
    """Indices of `scramblings` independent scrambled designs (their streaming Moments):
    the mean of the designs' point estimates, and Student-t half-widths over them,
    t(R - 1) quantile * standard deviation / sqrt(R). Randomised QMC: the designs'
    estimates are independent, so the interval holds whatever Sobol' points gain over iid
    rows."""
    estimates = [streaming_indices(study, m, reasons) for m in designs]
    arrays = {}
    for q in (name for name in estimates[0] if name in ("S1", "ST", "S2")):
        arrays[q], arrays[f"{q}_conf"] = intervals.student(np.stack([e[q] for e in estimates]),
                                                       study.conf_level)
    arrays["designs"] = {q: np.stack([e[q] for e in estimates]) for q in ("V", "S1", "ST")}
    return arrays


def ab_variances(study: Study, values: np.ndarray) -> dict:
    """{"V", "V_conf"}: (*cases, series) variance of each series over the A and B rows of
    values (*cases, series, rows) and its delta-method half-width, sqrt((m4 - V^2) / n)."""
    ab = sampling.ab_rows(values, sampling.rows_per_point(len(study.columns),
                                                         study.second_order))
    centred = ab - ab.mean(axis=-1, keepdims=True)
    V = (centred ** 2).mean(axis=-1)
    m4 = (centred ** 4).mean(axis=-1)
    z = intervals.normal_quantile(study.conf_level)
    return {"V": V, "V_conf": z * np.sqrt(np.maximum(m4 - V ** 2, 0) / ab.shape[-1])}


def _empty(study: Study, shape) -> dict:
    D = len(study.columns)
    quantities = QUANTITIES + (("S2", "S2_conf") if study.second_order else ())
    return {q: np.full((*shape, D, D) if q.startswith("S2") else (*shape, D), np.nan)
            for q in quantities}


def sobol_dataset(study: Study, spec: list[Series], arrays: dict, reasons: np.ndarray,
                  estimator: str) -> xr.Dataset:
    """The `sobol` group: S1, ST (S2) and intervals on (cases..., output, param), param
    the study's columns (its parameters, or its groups with their members)."""
    import xarray as xr

    names = study.columns
    dims, coords = evaluate.case_coords(study)
    coords["output"] = np.array([s.label for s in spec], dtype=object)
    coords["param"] = np.array(names, dtype=object)
    level = f"{100 * study.conf_level:g}%"
    interval = interval_kind(study, estimator)
    texts = {"S1": "first-order Sobol' index (Saltelli 2010)",
             "ST": "total Sobol' index (Jansen)",
             "S2": "second-order Sobol' index (Saltelli 2002)"}
    data = {}
    for q, a in arrays.items():
        base = q.split("_")[0]
        long_name = texts[base] if q == base else (
            f"half-width of the {level} {interval} interval of the {texts[base]}")
        pair = ("param_0", "param_1") if base == "S2" else ("param",)
        data[f"sobol_{q}"] = (dims + ["output", *pair], a,
                              {"long_name": long_name, "units": "1"})
    data["sobol_skip_reason"] = (dims + ["output"], reasons, {
        "long_name": "why the output has no indices (empty: it has them)", "units": "1"})
    if study.second_order:
        coords["param_0"] = coords["param_1"] = coords["param"]
    ds = xr.Dataset(data, coords=coords)
    if study.groups:
        groups = study.param_groups
        ds.coords["param_members"] = ("param", np.array(
            [" ".join(p for p, g in zip(study.sampled_names, groups) if g == name)
             for name in names], dtype=object),
            {"long_name": "the group's parameters", "units": "1"})
    else:
        supports = np.array([[sampled[n].support() for n in names]
                             for _, _, sampled in study.scenario_items()])  # (scen., D, 2)
        for k, end in enumerate(("lower", "upper")):
            ds.coords[f"param_support_{end}"] = (("scenario", "param"), supports[..., k], {
                "long_name": f"{end} end of the sampled distribution's support",
                "units": "parameter units"})
        ds.coords["param_dist"] = (("scenario", "param"), np.array(
            [[sampled[n].dist for n in names] for _, _, sampled in study.scenario_items()],
            dtype=object), {"long_name": "SALib distribution of the parameter",
                            "units": "1"})
    for key, meaning in (("long_name", "meaning"), ("units", "units")):
        ds.coords[f"output_{key}"] = ("output", np.array(
            [s.attrs[key] for s in spec], dtype=object),
            {"long_name": f"{meaning} of the output", "units": "1"})
    ds.attrs["estimator"] = estimator
    return evaluate.squeeze_cases(ds, study)


