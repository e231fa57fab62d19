"""A grid store's cube: the swept outputs without the store's chunk bookkeeping, and the
code counts stored with each chunk."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reesens.core import lazy_dask
from reesens.store import integrity, ownership
from reesens.store.ownership import StoreError

if TYPE_CHECKING:
    import xarray as xr

GROUP = "grid"


COUNTS = "grid_chunk_counts"  # (chunk, count) int64: each chunk's code counts (`counted`)


BOOKKEEPING = ("grid_chunk_done", "grid_chunk_digest", COUNTS)  # the store's, not the cube's


BOOKKEEPING_DIMS = {"chunk", "chunk_member", "chunk_count"}


def counted(study) -> list[tuple[str, ...]]:
    """What a grid store of the study counts per chunk, as tuples of outputs whose codes
    are counted together: each code output (flag_values) among the grid's outputs, then
    the model's audit (region, flag) where both are among them. A tuple's counts take
    prod(len(flag_values)) places of a chunk's counts, C order over its outputs' flag
    values."""
    flagged = {v.name for v in study.model.outputs if v.flag_values}
    codes = [name for name in study.grid_outputs if name in flagged]
    audit = study.model.words.audit
    pair = (audit.region, audit.flag) if audit else ()
    return [(name,) for name in codes] + ([pair] if pair and set(pair) <= set(codes) else [])


def open_cube(path, dask: bool = True) -> xr.Dataset:
    """The cube of a grid store, lazily opened: dask arrays, one chunk per stored chunk,
    or with dask=False arrays read from the store where they are indexed (without dask:
    show and report read a grid's counts and a few of its chunks)."""
    import xarray as xr

    if dask:
        lazy_dask.sync_dask()
        opened = xr.open_zarr(path, group=GROUP, consolidated=False)
    else:
        opened = xr.open_dataset(path, engine="zarr", group=GROUP, consolidated=False,
                                 chunks=None, cache=False)
    cube = cube_of(opened)
    order = ownership.read_root(Path(path)).get(integrity.IDENTITY, {}).get("outputs", [])
    names = [n for n in order if n in cube.data_vars]  # the study's order, not zarr's listing
    return cube[names + sorted(n for n in cube.data_vars if n not in names)]


def cube_of(ds: xr.Dataset) -> xr.Dataset:
    """The cube of an opened grid group: without the chunk flags, digests, counts and
    their coordinates."""
    return ds.drop_vars([n for n in ds.variables
                         if n in BOOKKEEPING or BOOKKEEPING_DIMS & set(ds[n].dims)])


def stored_counts(path) -> dict[tuple[str, ...], np.ndarray]:
    """{outputs: int64 array, an axis per output over its flag values}: the cells of the
    cube holding each code (each combination of codes: `counted`), summed over the chunks'
    stored counts. StoreError for a store whose identity records no counts (an earlier
    reesens')."""
    import zarr

    if "counts" not in ownership.read_root(Path(path)).get(integrity.IDENTITY, {}):
        raise StoreError(f"{path}: a grid store of an earlier reesens, without the code "
                         "counts of its chunks; sweep its grid again with --overwrite")
    group = zarr.open_group(Path(path) / GROUP, mode="r", use_consolidated=False)
    if COUNTS not in group.array_keys():
        return {}
    counts = group[COUNTS]
    rows, bad = integrity.read_rows(path, f"{GROUP}/{COUNTS}", range(counts.shape[0]))
    if bad:
        raise integrity.IntegrityError(f"{path}: grid chunk {min(bad)}: its counts cannot "
                                       "be read; `reesens verify` lists what is damaged")
    total = rows.sum(axis=0)
    out, at = {}, 0
    for names in counts.attrs["counted"]:
        shape = tuple(len(group[n].attrs["flag_values"]) for n in names)
        out[tuple(names)] = total[at:at + math.prod(shape)].reshape(shape)
        at += math.prod(shape)
    return out


def chunks_at(cube: xr.Dataset, position: dict) -> list[int]:
    """The stored chunks (their numbers, C order) holding the cells of the cube at
    `position` ({dim: index}; every other dim whole)."""
    dims = cube[next(iter(cube.data_vars))].dims
    chunks = cube.attrs["chunk_shape"]
    counts = [math.ceil(cube.sizes[d] / c) for d, c in zip(dims, chunks)]
    ranges = [[position[d] // c] if d in position else range(n)
              for d, c, n in zip(dims, chunks, counts)]
    grid = np.meshgrid(*ranges, indexing="ij")
    return np.ravel_multi_index([g.ravel() for g in grid], counts).tolist()
