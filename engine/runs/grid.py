"""Grid sweeps: a model's outputs on a regular N-D grid, as a cube in a crash-safe store.

A study's [grid] gives each swept parameter's values; every other parameter is fixed.
The cube's dims are the swept options (e.g. `concept`, when the study lists several) and
then the swept parameters in model order, with the grid values as coordinates. It is cut
into chunks of about CHUNK_CELLS cells; a task evaluates a chunk, counts its codes, writes
its cells and counts into their own zarr chunks with their digests and then flags it
done, so a killed run resumes where it stopped and gives the same bytes, and a chunk
damaged afterwards is found and recomputed (store.integrity; store.ownership has the lock
and the identity checks).

A model with a scalar row function (kernels.registry.Model.row) evaluates a chunk in one
nogil call that walks its cells and writes only the grid's outputs (kernels.grid); any
other model evaluates EVAL_CELLS parameter rows at a time through its batch function, so
memory stays bounded whatever the cube's size. Both give the same bytes.
"""
from __future__ import annotations

import math
import time
from itertools import product
from pathlib import Path

import numpy as np
import xarray as xr

from reesens.core.progress import Progress
from reesens.design import grid as grid_design
from reesens.design.grid import GridPlan
from reesens.evaluate.fused import row_function
from reesens.execute import tasks as parallel
from reesens.runs import limits, options, setup
from reesens.store import cube, integrity, ownership
from reesens.store import layout as store
from reesens.store.integrity import Units
from reesens.store.ownership import StoreError
from reesens.study.schema import Study


def default_store(study: Study) -> Path:
    """results/<study>-grid.zarr, or results/<study>.zarr when the study's name already
    ends in "grid" (baseline_grid: results/baseline_grid.zarr)."""
    name = study.name if study.name.lower().endswith("grid") else f"{study.name}-grid"
    return store.RESULTS / f"{name}.zarr"


def _fill(dtype) -> float | int:
    """Fill of a not yet written cell: NaN, -1 (signed codes: "invalid") or 0."""
    kind = np.dtype(dtype).kind
    return np.nan if kind == "f" else (-1 if kind == "i" else 0)


def template(study: Study, plan: GridPlan) -> tuple[xr.Dataset, dict]:
    """(coordinates and attributes, {name: store.Unwritten}) of the cube with every cell
    unwritten."""
    variables = {v.name: v for v in study.model.outputs}
    params = {v.name: v for v in study.model.params}
    unwritten = {name: store.Unwritten(plan.dims, plan.shape, plan.chunks,
                                       variables[name].dtype, _fill(variables[name].dtype),
                                       variables[name].attrs())
                 for name in study.grid_outputs}
    unwritten["grid_chunk_done"] = store.Unwritten(
        ("chunk",), (plan.n_chunks,), (1,), np.int8, 0,
        {"long_name": "1 once the chunk's cells are written", "units": "1"})
    series = cube.counted(study)
    members = len(study.grid_outputs) + bool(series)
    unwritten["grid_chunk_digest"] = store.Unwritten(
        ("chunk", "chunk_member"), (plan.n_chunks, members), (1, members), np.uint64, 0,
        {"long_name": "blake2b digest of the chunk's region of each output, then of its "
                      "counts (engine.integrity)", "units": "1"})
    if series:
        size = sum(math.prod(len(variables[n].flag_values) for n in names)
                   for names in series)
        unwritten[cube.COUNTS] = store.Unwritten(
            ("chunk", "chunk_count"), (plan.n_chunks, size), (1, size), np.int64, 0,
            {"long_name": "cells of the chunk holding each code of each counted output (or "
                          "combination of codes, C order over their flag_values)",
             "units": "1", "counted": [list(names) for names in series]})
    coords = {o: (o, np.array(study.options[o], dtype=object), {"long_name": f"model {o}",
                                                                  "units": "1"})
              for o in plan.dims[:plan.n_options]}
    for name, values in study.grid.items():
        coords[name] = (name, np.array(values), params[name].attrs())
    ds = xr.Dataset(coords=coords,
                    attrs={"chunk_shape": list(plan.chunks), **grid_units(study).attrs()})
    return ds, unwritten


def grid_units(study: Study) -> Units:
    """The arrays a grid chunk fills, as paths from the store's root: its outputs, then
    its counts (when it counts any)."""
    names = (*study.grid_outputs, *((cube.COUNTS,) if cube.counted(study) else ()))
    return Units(f"{cube.GROUP}/grid_chunk_done", f"{cube.GROUP}/grid_chunk_digest",
                 tuple(f"{cube.GROUP}/{name}" for name in names))


def write_template(path, study: Study, plan: GridPlan) -> None:
    """The cube with every cell still to do, checksummed; the coordinates' digests go to
    the group's attributes."""
    store.write_template_group(path, cube.GROUP, *template(study, plan))


def evaluate_chunk(study: Study, plan: GridPlan, chunk: int) -> dict[str, np.ndarray]:
    """{output: array of the chunk region's shape} for grid chunk number `chunk`: through
    the model's row function where it has one (kernels.grid), else its batch function."""
    model = study.model
    region = plan.region(chunk)
    combo = {o: values[0] for o, values in study.options.items()}
    for o, sl in zip(plan.dims[:plan.n_options], region):  # swept options: this chunk's
        combo[o] = study.options[o][sl.start]
    names = plan.dims[plan.n_options:]
    region = region[plan.n_options:]
    shape = tuple(sl.stop - sl.start for sl in region)
    dtypes = {v.name: v.dtype for v in model.outputs}
    out = {name: np.empty(shape, dtype=dtypes[name]) for name in study.grid_outputs}
    columns = [model.param_names.index(p) for p in names]
    fixed = [study.fixed.get(p, np.nan) for p in model.param_names]
    row = row_function(model)
    if row is not None:
        from reesens.kernels import grid as kernel  # numba: only for a sweep
        picks = kernel.Picks([model.output_names.index(n) for n in study.grid_outputs])
        options = [model.options[o].index(combo[o]) for o in model.options]
        kernel.evaluate_chunk(row, picks, [study.grid[p] for p in names], region, columns,
                              fixed, options, [a.reshape(-1) for a in out.values()])
        return out
    axes = [np.asarray(study.grid[p])[sl] for p, sl in zip(names, region)]
    split = next(k for k in range(len(shape) + 1)
                 if math.prod(shape[k:]) <= grid_design.EVAL_CELLS)
    inner = shape[split:]
    params = np.empty((math.prod(inner), len(model.params)), order="F")
    params[:] = fixed
    for k in range(split, len(shape)):
        column = axes[k].reshape([-1 if i == k - split else 1 for i in range(len(inner))])
        params[:, columns[k]] = np.broadcast_to(column, inner).ravel()
    for lead in product(*(range(s) for s in shape[:split])):
        for k, i in enumerate(lead):
            params[:, columns[k]] = axes[k][i]
        result = model.evaluate_block(params, **combo)
        for name in study.grid_outputs:
            out[name][lead] = result[name].reshape(inner)
    return out


def chunk_counts(study: Study, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{counts member: int64 counts (store.cube.counted's layout)} of a chunk's outputs
    `values`, {} when the grid counts nothing; ValueError naming an output that holds a
    code outside its flag_values."""
    from reesens.kernels.grid import code_counts  # numba: only for a sweep
    flags = {v.name: v.flag_values for v in study.model.outputs}
    parts = []
    for names in cube.counted(study):
        counts = code_counts([values[n].reshape(-1) for n in names], [flags[n] for n in names])
        if counts is None:
            raise ValueError(f"model {study.model.name}: an output of {', '.join(names)} "
                             "holds a code that is not among its flag_values")
        parts.append(counts)
    return {f"{cube.GROUP}/{cube.COUNTS}": np.concatenate(parts)} if parts else {}


SAMPLE_CHUNKS = 3  # pieces evaluated to learn how well a grid's outputs compress


def stored_share(study: Study) -> float:
    """What the cube's outputs take on disk per raw byte: twice the largest share zstd
    (as the store writes them) leaves of SAMPLE_CHUNKS pieces of EVAL_CELLS cells spread
    over the grid (first, middle, last), at most 1. Codes of neighbouring cells repeat,
    so a grid takes a few percent of its raw size (baseline_grid: 2 % in its samples);
    a piece smaller than a stored chunk compresses no better than the chunk."""
    import numcodecs
    zstd = numcodecs.Zstd(level=0)
    plan = GridPlan.of(study, grid_design.EVAL_CELLS)
    picks = sorted({round(k * (plan.n_chunks - 1) / (SAMPLE_CHUNKS - 1))
                    for k in range(SAMPLE_CHUNKS)})
    share = 0.0
    for piece in picks:
        out = evaluate_chunk(study, plan, piece)
        raw = sum(a.nbytes for a in out.values())
        share = max(share, sum(len(zstd.encode(np.ascontiguousarray(a)))
                               for a in out.values()) / max(raw, 1))
    return min(1.0, 2 * share)


def grid_task(study: Study, plan: GridPlan, chunk_ids, path) -> None:
    """Evaluate, write and flag each chunk of `chunk_ids`."""
    parallel.keep_freed_memory()
    units = grid_units(study)
    for chunk in chunk_ids:
        values = evaluate_chunk(study, plan, chunk)
        integrity.write_unit(path, units, chunk,
                             {f"{cube.GROUP}/{name}": v for name, v in values.items()}
                             | chunk_counts(study, values))


def identity(study: Study, plan: GridPlan) -> dict:
    """What must match for a grid store to be resumed."""
    return {"kind": "grid", "study_json": store.study_json(study), "model": study.model.name,
            "dims": list(plan.dims), "shape": list(plan.shape), "chunks": list(plan.chunks),
            "outputs": list(study.grid_outputs),
            "counts": [list(names) for names in cube.counted(study)]}


def run_grid(study: Study, *, out=None, workers: int = 1, scheduler: str = "threads",
             client=None, chunks_per_task: int = 1, progress: bool = True,
             overwrite: bool = False, resume: bool = False, command: str = "") -> xr.Dataset:
    """Sweep the study's grid into its store (resuming one of the same grid); returns the
    cube, lazily opened (it may be far larger than memory)."""
    start = time.perf_counter()
    options.check_execution(workers=workers, per_task=chunks_per_task,
                            per_task_flag="--chunks-per-task")
    if not study.grid:
        raise StoreError(f"{study.path}: the study has no [grid] to sweep")
    if study.scenarios:
        raise StoreError(f"{study.path}: a grid run takes no [[scenario]] blocks; give each "
                         "scenario its own grid study")
    path = ownership.output_path(out, default_store(study), resume=resume)
    plan = GridPlan.of(study)
    limits.check_grid(study, path, workers, limits.units_done(
        path, identity(study, plan), cube.GROUP, "grid_chunk_done", plan.n_chunks),
        share=stored_share(study))
    with setup.opened(path, identity(study, plan), lambda p, _: write_template(p, study, plan),
                      groups=(cube.GROUP,), units=cube.GROUP, unit="grid chunk",
                      overwrite=overwrite,
                      command=command or f"reesens grid {study.path} --out {path}") as opened:
        done, resumed = opened.done, opened.resumed
        todo = [int(c) for c in np.flatnonzero(~done)]
        groups = [todo[i:i + chunks_per_task] for i in range(0, len(todo), chunks_per_task)]
        bar = Progress(plan.n_chunks, progress, int(done.sum()), unit="chunk")
        try:
            parallel.run_tasks(grid_task, (study, plan), groups, (str(path),),
                               name=study.name, workers=workers, scheduler=scheduler,
                               client=client, progress=bar)
        finally:
            bar.close()
        attrs = {**store.common_provenance(study), "cells": int(math.prod(plan.shape))}
        store.set_attrs(path, attrs, cube.GROUP)
        store.set_attrs(path, {**attrs, **store.invocation(
            command=command, wall_seconds=time.perf_counter() - start, resumed=resumed),
            ownership.RESULTS: [cube.GROUP]})
        store.consolidate(path)
    return cube.open_cube(path)

