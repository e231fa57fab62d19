"""Evaluate a study's model on the Saltelli rows of one block, and the study's case layout.

A block's rows are regenerated from the block index alone (design.sampling), mapped to
every scenario's distributions, and passed to the model's registered `evaluate_block` once
per combination of option values. Nothing here knows which model it runs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reesens.design import sampling
from reesens.study.schema import Study

if TYPE_CHECKING:
    import xarray as xr


def case_shape(study: Study) -> tuple[int, ...]:
    """(scenarios, *values per option): one model evaluation of every row per case."""
    return (len(study.scenario_items()), *(len(v) for v in study.options.values()))


def case_dims(study: Study) -> list[tuple[str, list[str], bool]]:
    """[(dim name, values, kept in results)] matching case_shape.

    The scenario dimension is kept when the study has [[scenario]] blocks, an option's when
    the study gives it as a list.
    """
    return [("scenario", [name or "" for name, _, _ in study.scenario_items()],
             bool(study.scenarios))] + [
        (option, list(values), option in study.swept)
        for option, values in study.options.items()]


def case_coords(study: Study):
    """(case dim names, {dim: values as variable-length strings}) for a results dataset."""
    dims = case_dims(study)
    return [d for d, _, _ in dims], {d: np.array(v, dtype=object) for d, v, _ in dims}


def rows_per_block(study: Study) -> int:
    return study.block_points * sampling.rows_per_point(len(study.columns),
                                                        study.second_order)


def parameter_rows(study: Study, start: int, points: int) -> np.ndarray:
    """float64 (scenarios, rows, sampled parameters): rows of base points [start, start +
    points), each scenario's scale."""
    return np.stack([sampling.scaled_block(study.sampled_names, sampled, start, points,
                                           seed=study.seed, scramble=study.scramble,
                                           second_order=study.second_order,
                                           groups=study.param_groups)
                     for _, _, sampled in study.scenario_items()])


def evaluate_points(study: Study, start: int, points: int) -> dict[str, np.ndarray]:
    """Model outputs of base points [start, start + points): {output: (*case_shape, rows)}
    plus "_params" (parameter_rows)."""
    return evaluate_rows(study, parameter_rows(study, start, points))


def evaluate_rows(study: Study, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Model outputs of parameter rows (scenarios, n, sampled parameters): {output:
    (*case_shape, n)} plus "_params" (the rows)."""
    model = study.model
    n = rows.shape[1]
    combos = study.option_combinations()
    out = {name: np.empty((len(combos) * rows.shape[0], n),
                          dtype=next(v.dtype for v in model.outputs if v.name == name))
           for name in study.outputs}
    params = np.empty((n, len(model.params)), order="F")
    for s, (_, fixed, _) in enumerate(study.scenario_items()):
        for j, name in enumerate(model.param_names):
            if name in fixed:
                params[:, j] = fixed[name]
            else:
                params[:, j] = rows[s, :, study.sampled_names.index(name)]
        for c, combo in enumerate(combos):
            result = model.evaluate_block(params, **combo)
            for name in study.outputs:
                out[name][s * len(combos) + c] = result[name]
    shape = case_shape(study)
    out = {name: a.reshape(*shape, n) for name, a in out.items()}
    out["_params"] = rows
    return out


def squeeze_cases(ds: xr.Dataset, study: Study) -> xr.Dataset:
    """Drop the case dimensions the study does not sweep (their value goes to attrs)."""
    for dim, values, kept in case_dims(study):
        if not kept:
            ds = ds.isel({dim: 0}, drop=True)
            if dim != "scenario":
                ds.attrs[dim] = values[0]
    return ds


EVAL_POINTS = 2048  # base points evaluated at once inside a block: bounds a task's memory
