"""Sobol' indices of every analysed output under every case, with SALib.

Outputs are the study's continuous outputs and, for each code output (CF flag_values),
the indicator 1{code == k} of every code k that occurs. An output with NaN rows or no
variance gets NaN indices and a recorded reason instead of a SALib call.
"""
from __future__ import annotations

import dask
import numpy as np
import xarray as xr
from SALib.analyze import sobol as salib_sobol

from engine import evaluate, sampling
from engine.study import Study


def analysed_outputs(study: Study, outputs: dict[str, np.ndarray]):
    """[(label, float64 array (*case_shape, rows), attrs)] in the study's output order."""
    variables = {v.name: v for v in study.model.outputs}
    analysed = []
    for name in study.outputs:
        var, values = variables[name], outputs[name]
        if not var.flag_values:
            analysed.append((name, values.astype(np.float64, copy=False), var.attrs()))
            continue
        present = set(np.unique(values).tolist())
        for code, meaning in zip(var.flag_values, var.flag_meanings):
            if code in present:
                analysed.append((f"{name}=={meaning}", (values == code).astype(np.float64),
                                 {"long_name": f"indicator that {name} is {meaning} "
                                               f"({code})", "units": "1"}))
    return analysed


def skip_reason(y: np.ndarray) -> str:
    """Why y gets no indices ("" when it does): NaN rows or no variance."""
    n_nan = int(np.isnan(y).sum())
    if n_nan:
        return f"{n_nan} NaN rows"
    if np.all(y == y[0]):
        return "constant output"
    return ""


def _indices(problem, y, study: Study):
    """SALib's result dict for one output vector."""
    return salib_sobol.analyze(problem, y, calc_second_order=study.second_order,
                               num_resamples=study.resamples, conf_level=study.conf_level,
                               print_to_console=False, seed=study.analysis_seed)


def sobol_dataset(study: Study, analysed, *, workers: int = 1) -> xr.Dataset:
    """The `sobol` group: S1, ST (S2) and intervals on (cases..., output, param)."""
    names = study.sampled_names
    D = len(names)
    problem = sampling.salib_problem(names, study.sampled)
    shape = evaluate.case_shape(study)
    O = len(analysed)
    reasons = np.empty((*shape, O), dtype=object)
    todo = []  # (index into the result arrays, output vector) of the outputs SALib gets
    for o, (_, values, _) in enumerate(analysed):
        for case in np.ndindex(*shape):
            reasons[(*case, o)] = skip_reason(values[case])
            if not reasons[(*case, o)]:
                todo.append(((*case, o), values[case]))
    results = dask.compute(*[dask.delayed(_indices, traverse=False)(problem, y, study)
                             for _, y in todo], scheduler="threads", num_workers=workers)

    quantities = ["S1", "S1_conf", "ST", "ST_conf"] + (
        ["S2", "S2_conf"] if study.second_order else [])
    arrays = {q: np.full((*shape, O) + ((D, D) if q.startswith("S2") else (D,)), np.nan)
              for q in quantities}
    for (index, _), result in zip(todo, results):
        for q in quantities:
            arrays[q][index] = result[q]

    dims, coords = evaluate.case_coords(study)
    coords["output"] = np.array([label for label, _, _ in analysed], dtype=object)
    coords["param"] = np.array(names, dtype=object)
    level = f"{100 * study.conf_level:g}%"
    texts = {"S1": "first-order Sobol' index (Saltelli 2010)",
             "ST": "total Sobol' index (Jansen)",
             "S2": "second-order Sobol' index (Saltelli 2002)"}
    data = {}
    for q, a in arrays.items():
        base = q.split("_")[0]
        long_name = texts[base] if q == base else (
            f"half-width of the {level} bootstrap interval of the {texts[base]}")
        pair = ("param_0", "param_1") if base == "S2" else ("param",)
        data[f"sobol_{q}"] = (dims + ["output", *pair], a,
                              {"long_name": long_name, "units": "1"})
    data["sobol_skip_reason"] = (dims + ["output"], reasons, {
        "long_name": "why the output has no indices (empty: it has them)", "units": "1"})
    if study.second_order:
        coords["param_0"] = coords["param_1"] = coords["param"]
    ds = xr.Dataset(data, coords=coords)
    supports = np.array([[sampled[n].support() for n in names]
                         for _, _, sampled in study.scenario_items()])  # (scenarios, D, 2)
    for k, end in enumerate(("lower", "upper")):
        ds.coords[f"param_support_{end}"] = (("scenario", "param"), supports[..., k], {
            "long_name": f"{end} end of the sampled distribution's support",
            "units": "parameter units"})
    ds.coords["param_dist"] = (("scenario", "param"), np.array(
        [[sampled[n].dist for n in names] for _, _, sampled in study.scenario_items()],
        dtype=object), {"long_name": "SALib distribution of the parameter", "units": "1"})
    for key, meaning in (("long_name", "meaning"), ("units", "units")):
        ds.coords[f"output_{key}"] = ("output", np.array(
            [attrs[key] for _, _, attrs in analysed], dtype=object),
            {"long_name": f"{meaning} of the output", "units": "1"})
    return squeeze_cases(ds, study)


def squeeze_cases(ds: xr.Dataset, study: Study) -> xr.Dataset:
    """Drop the case dimensions the study does not sweep (their value goes to attrs)."""
    for dim, values, kept in evaluate.case_dims(study):
        if not kept:
            ds = ds.isel({dim: 0}, drop=True)
            if dim != "scenario":
                ds.attrs[dim] = values[0]
    return ds
