"""The crash-safe part of a results store: one slot per block, filled once, flagged done.

A run first writes a template: the `blocks` group (each block's streaming statistics, see
kernels.saltelli, and a `block_done` flag) and, with --keep-samples, the `samples` group,
all chunked one block per chunk. Each finished block is written into its own chunks and
only then flagged done, so a killed run leaves only whole blocks behind (zarr writes a
chunk to a temporary file and renames it). The store's root attributes hold the run's
identity; a store with another identity is refused, and a lock file keeps a second run
out while one writes.
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import zarr
import zarr.api.asynchronous
from zarr.core.sync import sync

from engine import evaluate, store
from engine.sobol import squeeze_cases
from engine.study import Study
from kernels.saltelli import STATISTICS_VERSION, Features


class StoreError(ValueError):
    """The output path cannot take this run's results store."""


def identity(study: Study, *, keep_samples: bool, total_blocks: int,
             replicates: int = 0) -> dict:
    """What must match for a store to be resumed: the study, its seeds, the block plan and
    the layout of the block statistics (with `replicates` bootstrap replicates per block,
    weighted by the analysis seed)."""
    return {"study_json": store.study_json(study), "statistics_version": STATISTICS_VERSION,
            "model": study.model.name, "seed": study.seed, "scramble": study.scramble,
            "second_order": study.second_order, "block_points": study.block_points,
            "total_blocks": total_blocks, "keep_samples": keep_samples,
            "bootstrap_replicates": replicates,
            "bootstrap_seed": study.analysis_seed if replicates else None}


class StoreLock:
    """An exclusive flock on <store>.lock beside the store, held while a run writes.

    The kernel drops a flock when its process dies, even by kill -9, so a crashed run
    never leaves a stale lock; the file is removed when the run ends.
    """

    def __init__(self, path: Path):
        self.path = Path(path).with_name(Path(path).name + ".lock")

    def __enter__(self):
        self.file = open(self.path, "a")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # the file may have been removed by a run that ended meanwhile: lock the new one
            if os.fstat(self.file.fileno()).st_ino != os.stat(self.path).st_ino:
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            self.file.close()
            raise StoreError(f"{self.path.with_suffix('')}: another reesens run is writing "
                             "this store (it holds the lock); wait for it or choose another "
                             "--out") from None
        return self

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def check_path(path: Path) -> None:
    """Refuse, before any work, a path that exists and is not a zarr store (or empty)."""
    if path.exists() and not (path.is_dir() and ((path / "zarr.json").exists()
                                                  or not any(path.iterdir()))):
        raise StoreError(f"{path}: exists and is not a zarr store; refusing to replace it "
                         "(choose another --out or remove it)")
    if not path.parent.exists():
        raise StoreError(f"{path}: the directory {path.parent} does not exist")


def output_path(out, default: Path, *, resume: bool) -> Path:
    """The store a run writes (`default` when `out` is None), checked before any work."""
    path = Path(out) if out is not None else default
    if out is None:
        path.parent.mkdir(exist_ok=True)
    check_path(path)
    if resume and not (path / "zarr.json").exists():
        raise StoreError(f"{path}: no store to resume")
    return path


def stored_identity(path: Path) -> dict | None:
    """The identity a store was created with (None: not a reesens store)."""
    attrs = zarr.open_group(path, mode="r", use_consolidated=False).attrs.asdict()
    return attrs.get("reesens_identity")


def open_or_create(path: Path, ident: dict, write_template, *, overwrite: bool = False
                   ) -> bool:
    """Make `path` a store of this run; True when it already was one (resume).

    A new store gets `write_template(path)` after the identity. A store of another study,
    seed or block plan is refused naming the differences, unless `overwrite`. Resuming
    removes the temporary files of chunk writes that a killed run left torn (`*.partial`;
    zarr never reads them), so the resumed store holds exactly the files of an
    uninterrupted run. Call it holding the store's lock.
    """
    if (path / "zarr.json").exists():
        old = stored_identity(path)
        if old == ident:
            for torn in path.rglob("*.partial"):
                torn.unlink()
            return True
        if not overwrite:
            if old is None:
                raise StoreError(f"{path}: a zarr store that reesens did not write; "
                                 "refusing to replace it (use --overwrite or another --out)")
            fields = ", ".join(f"{k} (store: {_short(old.get(k))}, now: {_short(v)})"
                               for k, v in ident.items() if old.get(k) != v)
            raise StoreError(f"{path}: holds another run, differing in {fields}; refusing "
                             "to overwrite it (use --overwrite or another --out)")
        for child in path.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    zarr.open_group(path, mode="a", use_consolidated=False).attrs["reesens_identity"] = ident
    write_template(path)
    return False


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def write_template(path, study: Study, total_blocks: int, labels, keep_samples: bool,
                   replicates: int = 0):
    """The `blocks` group (and `samples` with keep_samples), every block still to do; with
    `replicates`, the blocks' bootstrap statistics too (kernels.bootstrap)."""
    nb, n_series = total_blocks, len(labels)
    ft = Features(len(study.sampled_names), study.second_order)
    nan = {"fill": np.nan, "dtype": np.float64}

    def lazy(shape, fill, dtype):
        return da.full(shape, fill, dtype=dtype, chunks=(1, *shape[1:]))

    blocks = xr.Dataset({
        "block_done": (("block",), lazy((nb,), 0, np.int8),
                       {"long_name": "1 once the block's statistics are written", "units": "1"}),
        "block_feature_mean": (("block", "series", "feature"),
                               lazy((nb, n_series, ft.size), **nan),
                               {"long_name": "mean of each Saltelli feature over the block's "
                                             "base points (kernels.saltelli)",
                                "units": "output units to the feature's power"}),
        "block_feature_comoment": (("block", "series", "feature_pair"),
                                   lazy((nb, n_series, ft.n_pairs), **nan),
                                   {"long_name": "centred co-moment sums of the feature "
                                                 "pairs the estimators use",
                                    "units": "output units to the pair's power"}),
        "block_row_stats": (("block", "series", "row_stat"), lazy((nb, n_series, 5), **nan),
                            {"long_name": "over all rows: non-NaN count, mean, M2, min, max",
                             "units": "output units (count: 1)"}),
    }, coords={"series": ("series", np.array(labels, dtype=object),
                          {"long_name": "case and analysed output", "units": "1"}),
               **{f"feature_pair_{end}": ("feature_pair", ft.pairs[i], {
                   "long_name": f"{end} feature of the pair (index on feature)", "units": "1"})
                  for i, end in enumerate(("first", "second"))},
               "row_stat": ("row_stat", np.array(["count", "mean", "m2", "min", "max"],
                                                 dtype=object),
                            {"long_name": "row statistic", "units": "1"})})
    if replicates:
        blocks = blocks.merge(_bootstrap_template(ft, nb, n_series, replicates))
    blocks.attrs["block_points"] = study.block_points
    blocks.to_zarr(path, group="blocks", mode="w", compute=False, consolidated=False)
    if keep_samples:
        _samples_template(study, nb).to_zarr(path, group="samples", mode="w", compute=False,
                                              consolidated=False)


def _bootstrap_template(ft: Features, nb: int, n_series: int, replicates: int) -> xr.Dataset:
    """Per block and replicate: total Poisson weight, weighted means of the base features
    and weighted centred co-moment sums of their pairs (kernels.bootstrap)."""
    B, P = ft.base.size, ft.base_pairs.shape[1]

    def lazy(shape):
        return da.full(shape, np.nan, chunks=(1, *shape[1:]))

    pairs = ft.base[ft.base_pairs]
    return xr.Dataset({
        "block_bootstrap_weight": (("block", "replicate"), lazy((nb, replicates)), {
            "long_name": "total Poisson(1) weight of the block's base points",
            "units": "1"}),
        "block_bootstrap_mean": (("block", "replicate", "series", "base_feature"),
                                 lazy((nb, replicates, n_series, B)), {
            "long_name": "weighted mean of each base feature over the block",
            "units": "output units"}),
        "block_bootstrap_comoment": (("block", "replicate", "series", "base_pair"),
                                     lazy((nb, replicates, n_series, P)), {
            "long_name": "weighted centred co-moment sums of the base feature pairs",
            "units": "output units squared"}),
    }, coords={"base_feature": ("base_feature", ft.base, {
        "long_name": "index on feature of the base feature", "units": "1"}),
        **{f"base_pair_{end}": ("base_pair", pairs[i], {
            "long_name": f"{end} feature of the pair (index on feature)", "units": "1"})
           for i, end in enumerate(("first", "second"))}})


def _samples_template(study: Study, nb: int) -> xr.Dataset:
    """Parameter rows and raw outputs on a `sample` dim, one block per chunk."""
    dims, coords = evaluate.case_coords(study)
    rows = evaluate.rows_per_block(study)
    n = nb * rows
    scenarios = len(study.scenario_items())
    shape = evaluate.case_shape(study)
    data = {}
    for name in study.sampled_names:
        var = next(v for v in study.model.params if v.name == name)
        data[name] = (["scenario", "sample"], da.full((scenarios, n), np.nan,
                                                      chunks=(scenarios, rows)), var.attrs())
    for var in study.model.outputs:
        if var.name in study.outputs:
            fill = np.nan if np.dtype(var.dtype).kind == "f" else 0
            data[var.name] = (dims + ["sample"], da.full((*shape, n), fill, dtype=var.dtype,
                                                         chunks=(*shape, rows)), var.attrs())
    coords["sample"] = ("sample", np.arange(n), {"long_name": "row in Saltelli order",
                                                 "units": "1"})
    return squeeze_cases(xr.Dataset(data, coords=coords), study)


def write_block(path, study: Study, block: int, stats, outputs=None,
                replicates=None) -> None:
    """Write one block's statistics (its bootstrap replicates' (weight, mean, comoment),
    and its rows: outputs with "_params") into its chunks, then flag it done."""
    mean, comoment, rows = stats
    writes = [("blocks/block_feature_mean", block, mean),
              ("blocks/block_feature_comoment", block, comoment),
              ("blocks/block_row_stats", block, rows)]
    if replicates is not None:
        writes += [(f"blocks/block_bootstrap_{name}", block, value)
                   for name, value in zip(("weight", "mean", "comoment"), replicates)]
    if outputs is not None:
        params = outputs["_params"]
        n = params.shape[1]
        rows_ = (Ellipsis, slice(block * n, (block + 1) * n))
        kept = tuple(0 if not k else slice(None) for _, _, k in evaluate.case_dims(study))
        writes += [(f"samples/{name}", rows_, params[:, :, j])
                   for j, name in enumerate(study.sampled_names)]
        writes += [(f"samples/{name}", rows_, outputs[name][kept]) for name in study.outputs]
    sync(_write_then_flag(str(path), writes, block))


async def _write_then_flag(path: str, writes, block: int) -> None:
    """Every (array, selection, value) write at once, then block_done[block] = 1: one
    round trip to zarr's event loop instead of one per array."""
    root = await zarr.api.asynchronous.open_group(path, mode="r+", use_consolidated=False)
    arrays = await asyncio.gather(*(root.getitem(name) for name, _, _ in writes),
                                  root.getitem("blocks/block_done"))
    await asyncio.gather(*(array.setitem(selection, value)
                           for array, (_, selection, value) in zip(arrays, writes)))
    await arrays[-1].setitem(block, 1)


def done_blocks(path) -> np.ndarray:
    """bool (total_blocks,): which blocks are written."""
    return zarr.open_group(path, mode="r", use_consolidated=False)["blocks/block_done"][:] == 1


def read_statistics(path, blocks: slice):
    """(mean, comoment, rows) of the blocks in `blocks`, stacked on a leading block axis,
    and their bootstrap (weight, mean, comoment), or None when the store has none."""
    group = zarr.open_group(path, mode="r", use_consolidated=False)["blocks"]
    stats = tuple(group[name][blocks] for name in
                  ("block_feature_mean", "block_feature_comoment", "block_row_stats"))
    if "block_bootstrap_weight" not in group:
        return stats, None
    return stats, tuple(group[f"block_bootstrap_{name}"][blocks]
                        for name in ("weight", "mean", "comoment"))


def set_attrs(path, attrs: dict, group: str = "") -> None:
    """Add attributes to a group of the store (default: its root)."""
    root = zarr.open_group(path, mode="r+", use_consolidated=False)
    (root[group] if group else root).update_attributes(attrs)  # one metadata write


def consolidate(path) -> None:
    """Write the consolidated metadata that lets a plain xr.open_zarr find every group."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not")
        zarr.consolidate_metadata(path)
