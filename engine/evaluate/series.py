"""Analysed outputs ("series"): each continuous output, and the indicator of each code of
each code output, under every case."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from reesens.evaluate import cases
from reesens.study.registry import Plan
from reesens.study.schema import Study


@dataclass(frozen=True)
class Series:
    """One analysed output: `output` itself, or the indicator of `code` when it is set."""

    label: str
    output: str
    code: int | None
    attrs: dict


def series_spec(study: Study) -> list[Series]:
    """Every candidate series, in the study's output order."""
    spec = []
    for var in study.model.outputs:
        if var.name not in study.outputs:
            continue
        if not var.flag_values:
            spec.append(Series(var.name, var.name, None, var.attrs()))
            continue
        for code, meaning in zip(var.flag_values, var.flag_meanings):
            spec.append(Series(f"{var.name}=={meaning}", var.name, code, {
                "long_name": f"indicator that {var.name} is {meaning} ({code})", "units": "1"}))
    order = {name: i for i, name in enumerate(study.outputs)}
    return sorted(spec, key=lambda s: order[s.output])


def series_values(spec: list[Series], outputs: dict[str, np.ndarray]) -> np.ndarray:
    """float64 (*case_shape, series, rows) from model outputs {name: (*case_shape, rows)}."""
    first = outputs[spec[0].output]
    values = np.empty((*first.shape[:-1], len(spec), first.shape[-1]))
    for i, s in enumerate(spec):  # written in place: no temporary per series
        if s.code is None:
            values[..., i, :] = outputs[s.output]
        else:
            np.equal(outputs[s.output], s.code, out=values[..., i, :])
    return values


def kept_series(spec: list[Series], row_mean: np.ndarray) -> np.ndarray:
    """bool (series,): continuous outputs, and indicators of codes that occur in some case.

    row_mean: (*case_shape, series) mean of each series over its rows (an indicator's
    share of rows with its code).
    """
    occurs = (row_mean.reshape(-1, len(spec)) > 0).any(axis=0)
    return np.array([s.code is None or occurs[i] for i, s in enumerate(spec)])


def series_labels(study: Study, spec) -> list[str]:
    """The blocks group's `series` labels: each case's kept dim values and each series."""
    cases = [" ".join(v for v in case if v) for case in _case_values(study)]
    return [f"{c}{' ' if c else ''}{s.label}" for c in cases for s in spec]


def _case_values(study: Study):
    """Each case's kept dim values, in case_shape order (for series labels)."""
    dims = cases.case_dims(study)
    return [[v if kept else "" for (_, _, kept), v in zip(dims, values)]
            for values in product(*(values for _, values, _ in dims))]


def plan(study: Study, estimator: str) -> Plan:
    """What a Monte Carlo run of the study with this estimator computes: its series and
    their labels (study.registry.Plan)."""
    spec = series_spec(study)
    return Plan(study, estimator, tuple(spec), tuple(series_labels(study, spec)))
