"""A grid store's cube: the swept outputs without the store's chunk bookkeeping."""
from __future__ import annotations

from pathlib import Path

import xarray as xr

from reesens.core import lazy_dask
from reesens.store import integrity, ownership

GROUP = "grid"


BOOKKEEPING = ("grid_chunk_done", "grid_chunk_digest")  # the store's, not the cube's


BOOKKEEPING_DIMS = {"chunk", "chunk_member"}


def open_cube(path, dask: bool = True) -> xr.Dataset:
    """The cube of a grid store, lazily opened: dask arrays, one chunk per stored chunk,
    or with dask=False arrays read from the store when indexed (without dask, for reading
    it a chunk at a time)."""
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
    """The cube of an opened grid group: without the chunk flags, digests and their
    coordinates."""
    return ds.drop_vars([n for n in ds.variables
                         if n in BOOKKEEPING or BOOKKEEPING_DIMS & set(ds[n].dims)])
