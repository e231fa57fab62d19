"""The fused path of a Saltelli design (kernels.fused): a block's base points through the
model's scalar row function into the Sobol' sums, in one nogil call, without rows.

It serves a study whose model declares a row function (kernels.registry.Model.row) and
whose sampled parameters are all uniform in every scenario; `design` returns None for any
other, which then takes the materialised path (evaluate.cases, the model's batch
function, then the same sums). Both give the same bytes.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from reesens.design import sampling
from reesens.study.schema import Study


@dataclass(frozen=True)
class Design:
    """What the fused kernel reads of a study, fixed for a run (every scrambling):
    kernels.fused.block_sums' arguments but the Sobol' state and the accumulator."""

    row: object
    n_out: int
    member: np.ndarray
    second_order: bool
    lower: np.ndarray
    width: np.ndarray
    sampled_at: np.ndarray
    fixed: np.ndarray
    is_fixed: np.ndarray
    options: np.ndarray
    series_output: np.ndarray
    series_code: np.ndarray
    is_code: np.ndarray


def design(study: Study, spec) -> Design | None:
    """The fused path's arrays for the study's series `spec` (evaluate.series), or None
    when the model has no row function or a sampled parameter is not uniform."""
    model = study.model
    items = study.scenario_items()
    names = study.sampled_names
    if model.row is None or any(sampled[n].dist != "unif" for _, _, sampled in items
                                for n in names):
        return None
    bounds = np.array([[sampled[n].bounds for n in names] for _, _, sampled in items])
    groups = study.param_groups
    member = np.array([[(groups[j] == g) if groups is not None else names[j] == g
                        for j in range(len(names))] for g in study.columns])
    params = model.param_names
    outputs = model.output_names
    combos = study.option_combinations()
    return Design(
        row=row_function(model),
        n_out=len(outputs), member=member, second_order=study.second_order,
        lower=np.ascontiguousarray(bounds[..., 0], dtype=np.float64),
        width=np.ascontiguousarray(bounds[..., 1] - bounds[..., 0], dtype=np.float64),
        sampled_at=np.array([names.index(p) if p in names else -1 for p in params]),
        fixed=np.array([[float(fixed.get(p, np.nan)) for p in params]
                        for _, fixed, _ in items]),
        is_fixed=np.array([[p in fixed for p in params] for _, fixed, _ in items]),
        options=np.array([[model.options[o].index(c[o]) for o in model.options]
                          for c in combos], dtype=np.int64).reshape(len(combos), -1),
        series_output=np.array([outputs.index(s.output) for s in spec]),
        series_code=np.array([np.nan if s.code is None else float(s.code) for s in spec]),
        is_code=np.array([s.code is not None for s in spec]))


def add_block(d: Design, study: Study, accumulator, start: int, points: int) -> None:
    """Add base points [start, start + points) of the study's design (its seed) to the
    accumulator (kernels.saltelli.Accumulator)."""
    from reesens.kernels.fused import block_sums

    state = sampling.sobol_engine_state(2 * len(study.sampled_names), study.seed,
                                        study.scramble)
    block_sums(d.row, d.n_out, state, start, points, d.member, d.second_order, d.lower,
               d.width, d.sampled_at, d.fixed, d.is_fixed, d.options, d.series_output,
               d.series_code, d.is_code, accumulator)


def row_function(model):
    """The model's row function as the fused kernels take it (kernels.fused.RowFunction,
    keyed by the model's name and sources); None when the model declares none."""
    if model.row is None:
        return None
    from reesens.kernels.fused import RowFunction  # numba: only for a run that fuses
    return RowFunction(f"{model.name}:{_source_digest(model.row)}", model.row)


@cache
def _source_digest(row) -> str:
    """A hash of every Python file beside the row function's module (its package's
    sources): a changed model compiles a fresh fused kernel rather than reusing a cached
    one."""
    folder = Path(inspect.getfile(getattr(row, "py_func", row))).parent
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
