"""Importing dask only when it is used: xarray and dask cost most of a small command's
start-up otherwise."""
from __future__ import annotations

import sys
from contextlib import contextmanager


def sync_dask() -> None:
    """Import dask for xarray's lazy arrays (grid cubes), ending any xarray_without_dask.
    Unless dask.distributed is imported (no client can exist without it), their computes
    run in the calling thread and dask does not import distributed (~0.7 s) to look for a
    client."""
    from xarray.namedarray import pycompat
    if getattr(pycompat._cached_duck_array_modules.get("dask"), "module", True) is None:
        del pycompat._cached_duck_array_modules["dask"]  # xarray looks for dask again
    import dask
    import dask.local
    if "distributed" not in sys.modules and dask.config.get("scheduler", None) is None:
        dask.config.set(scheduler=dask.local.get_sync)


@contextmanager
def xarray_without_dask():
    """Within: xarray takes dask for absent until sync_dask is called.

    xarray asks of every array it wraps whether it is a dask array, and the first such
    question imports dask.array when dask is installed (~0.9 s, most of a small run's
    start-up); building an index asks whether its values are a dask collection, which
    imports dask (~0.1 s). Only grid cubes are dask arrays in reesens, and they are
    opened after sync_dask. This fills xarray's (private) cache of optional modules and
    answers the second question without dask while dask is not imported (nothing can be
    a dask collection then); where those private names are not there, nothing changes
    but the start-up time.
    """
    try:
        from xarray.namedarray import pycompat, utils
        modules = pycompat._cached_duck_array_modules
        absent = object.__new__(pycompat.DuckArrayModule)
        absent.module, absent.version, absent.type, absent.available = (
            None, pycompat.Version("0"), (), False)
        collection = utils.is_dask_collection
    except (ImportError, AttributeError):
        yield
        return
    seeded = "dask" not in modules and "dask.array" not in sys.modules
    if seeded:
        modules["dask"] = absent
    utils.is_dask_collection = lambda x: "dask" in sys.modules and collection(x)
    try:
        yield
    finally:
        utils.is_dask_collection = collection
        if seeded and modules.get("dask") is absent:
            del modules["dask"]


class ClusterLost(RuntimeError):
    """The dask.distributed scheduler, or every worker, went away during a run
    (execute.tasks): the command line says so in one line, with the command that
    resumes."""
