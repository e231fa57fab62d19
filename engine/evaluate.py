"""Evaluate a study's model on its Saltelli rows: one dask task per block.

Each task regenerates its block's rows (engine.sampling), maps them to every scenario's
distributions, and calls the model's registered `evaluate_block` once per combination of
option values. Nothing here knows which model it runs.
"""
from __future__ import annotations

import sys

import dask
import numpy as np
from dask.callbacks import Callback

from engine import sampling
from engine.study import Study


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


def n_blocks(study: Study) -> int:
    return study.N // study.block_points


def parameter_rows(study: Study, block: int) -> np.ndarray:
    """float64 (scenarios, rows, sampled parameters): the block's rows, each scenario's scale."""
    names = study.sampled_names
    unit = sampling.unit_block(len(names), block * study.block_points, study.block_points,
                               seed=study.seed, scramble=study.scramble,
                               second_order=study.second_order)
    return np.stack([sampling.scale(unit, sampling.salib_problem(names, sampled))
                     for _, _, sampled in study.scenario_items()])


def evaluate_block(study: Study, block: int) -> dict[str, np.ndarray]:
    """Model outputs of one block: {output: array (*case_shape, rows)} plus "_params"."""
    model = study.model
    rows = parameter_rows(study, block)
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


_TASK = "reesens-block"


class _BlockProgress(Callback):
    """Counts finished block tasks: a tqdm bar on a terminal, "block k/n" lines otherwise."""

    def __init__(self, total: int, enabled: bool):
        super().__init__()
        self.total, self.done, self.bar = total, 0, None
        self.enabled = enabled
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="block", desc="evaluate", file=sys.stderr)

    def _posttask(self, key, result, dsk, state, id):
        if not str(key).startswith(_TASK):
            return
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            print(f"block {self.done}/{self.total}", file=sys.stderr, flush=True)

    def _finish(self, dsk, state, errored):
        if self.bar is not None:
            self.bar.close()


def evaluate(study: Study, *, workers: int = 1, progress: bool = True):
    """All blocks on `workers` threads.

    Returns ({output: array (*case_shape, rows)}, params (scenarios, rows, sampled)), rows
    in Saltelli order.
    """
    tasks = [dask.delayed(evaluate_block, traverse=False)(
        study, b, dask_key_name=f"{_TASK}-{study.name}-{b}") for b in range(n_blocks(study))]
    with _BlockProgress(len(tasks), progress):
        blocks = dask.compute(*tasks, scheduler="threads", num_workers=workers)
    outputs = {name: np.concatenate([b[name] for b in blocks], axis=-1)
               for name in study.outputs}
    params = np.concatenate([b["_params"] for b in blocks], axis=1)
    return outputs, params
