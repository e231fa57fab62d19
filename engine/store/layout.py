"""The summary dataset, provenance, and replacing a store's result groups as one set.

A store holds the groups `sobol`, `summary`, `blocks` (store.blocks), and when asked
`samples` and `convergence`; each is a plain xarray Dataset with CF attributes and the
run's provenance. Result groups are written beside the old ones and swapped in when
complete (:func:`write_results`); store.verify reads them back.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import warnings
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from reesens.store import integrity, ownership
from reesens.study.schema import Study

if TYPE_CHECKING:
    import xarray as xr

PACKAGES = ("reesens", "numpy", "numba", "scipy", "SALib", "xarray", "dask", "zarr")
ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path("results")  # default directory of the stores, relative to where one runs


@dataclass(frozen=True)
class Unwritten:
    """An array of a template that units of work fill later: no chunk is written yet, so
    every cell reads as `fill`. dims and chunks as xarray's; attrs its CF attributes."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: object
    fill: float | int
    attrs: dict


def write_template_group(path, group: str, ds: xr.Dataset, unwritten: dict) -> None:
    """A template group: ds (coordinates and attributes, written whole, their digests in
    the group's attributes) and the arrays {name: Unwritten}, metadata only, so that a
    template of any size is written at once and with no dask."""
    import zarr

    ds.to_zarr(path, group=group, mode="w", consolidated=False,
               encoding=integrity.encoding(ds))
    node = zarr.open_group(Path(path) / group, mode="r+", use_consolidated=False)
    for name, a in unwritten.items():
        node.create_array(name, shape=a.shape, chunks=a.chunks, dtype=a.dtype,
                          fill_value=a.fill, compressors=integrity.compressors(),
                          dimension_names=a.dims, attributes=a.attrs)
    integrity.seal(path, group, integrity.store_key(path), whole=list(ds.variables))


def git_state() -> tuple[str, bool | None]:
    """(commit, dirty) of the source tree, ("unknown", None) outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


def provenance(study: Study, *, N: int, estimator: str) -> dict:
    """Attributes of every group: what ran, on what, with which inputs (JSON-serialisable).

    They depend only on the study, the code and its environment, so that a resumed run
    writes the same bytes as an uninterrupted one; the invocation (command, wall time)
    goes to the store's root, see :func:`invocation`.
    """
    return {
        **common_provenance(study),
        "N": N,
        "block_points": study.block_points,
        "second_order": int(study.second_order),
        "seed": study.seed,
        "estimator": estimator,
        "intervals": "salib bootstrap" if estimator == "salib" else study.intervals,
        "analysis_seed": study.analysis_seed,
        "resamples": study.resamples,
        "conf_level": study.conf_level,
        **({"scramblings": study.scramblings} if study.scramblings > 1 else {}),
    }


def study_json(study: Study) -> str:
    """The whole study file's content as canonical JSON."""
    return json.dumps(study.raw, sort_keys=True, default=str)


def common_provenance(study: Study) -> dict:
    """Provenance of any run of the study (Monte Carlo or grid): the study, code, versions."""
    commit, dirty = git_state()
    return {
        "Conventions": "CF-1.10",
        "title": study.title or study.name,
        "study": study.name,
        "study_file": study.path,
        "study_json": study_json(study),
        "model": study.model.name,
        "fixed_parameters": json.dumps({n: v for n, v in study.fixed.items()
                                        if n not in study.grid}),
        "package_versions": json.dumps(package_versions(), sort_keys=True),
        "git_commit": commit,
        "git_dirty": "unknown" if dirty is None else str(dirty).lower(),
    }


@cache
def package_versions() -> dict:
    """{package: version} of the packages a result depends on (read once per process)."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def invocation(*, command: str, wall_seconds: float, resumed: bool) -> dict:
    """Root attributes of the store about this invocation (CF `history`)."""
    return {"command": command, "wall_time_s": round(wall_seconds, 3),
            "resumed": int(resumed),
            "history": f"{command}  # reesens {package_versions()['reesens']}"}


def write_results(path: Path, groups: dict[str, xr.Dataset], root_attrs: dict) -> None:
    """Replace the store's result groups by `groups` as one set, then set `root_attrs`.

    Each group is written beside the old ones (`staging_<name>`, checksummed), read back
    and compared with what was meant, and only then swapped in: the root's results marker
    is cleared, old groups (including any the new set lacks, such as a stale
    `convergence`) are renamed away, the new ones renamed in, and the marker written
    again with the root attributes. A kill or a full disk before the swap leaves the old
    results; during it, a store that show/report refuse as unfinished and a resume
    completes.
    """
    import xarray as xr

    path = Path(path)
    key = integrity.store_key(path)
    attrs = ownership.read_root(path)
    attrs = ownership.record(path, attrs, [ownership.STAGING + name for name in groups])
    for name, ds in groups.items():
        staged = ownership.STAGING + name
        ownership.remove(path, staged)
        ds.to_zarr(path, group=staged, mode="w", consolidated=False,
                   encoding=integrity.encoding(ds))
        read = xr.open_zarr(path, group=staged, consolidated=False, chunks=None).load()
        if not read.drop_encoding().identical(ds):
            raise integrity.IntegrityError(f"{path / staged}: the group read back differs "
                                           "from what was written; the old results are kept")
        integrity.seal(path, staged, key, name=name, bind=results_bind(root_attrs))
    old = [name for name in attrs[ownership.ENTRIES] if (path / name).is_dir()
           and name not in ownership.TEMPLATE_GROUPS
           and not name.startswith((ownership.STAGING, ownership.TRASH))]
    attrs.pop(ownership.RESULTS, None)  # unfinished from here on (no consolidated view)
    attrs = ownership.record(path, attrs, [ownership.TRASH + name for name in old]
                             + list(groups))
    for name in old:
        os.rename(path / name, path / (ownership.TRASH + name))
    for name in groups:
        os.rename(path / (ownership.STAGING + name), path / name)
    for name in old:
        try:
            ownership.remove(path, ownership.TRASH + name)
        except OSError as e:  # the new results are in place: say what is left, go on
            print(f"{e.filename or path / (ownership.TRASH + name)}: reesens could not "
                  f"remove this file of the results it replaced ({e.strerror}); "
                  f"{path / (ownership.TRASH + name)} is left, and the next run of this "
                  "store removes it", file=sys.stderr)
    attrs = ownership.forget_missing(path, {**attrs, ownership.ENTRIES: sorted(
        set(attrs[ownership.ENTRIES]) | set(groups))})
    integrity.put_root(path, {**attrs, **root_attrs, ownership.RESULTS: list(groups)})
    consolidate(path)


def results_bind(root: dict) -> str:
    """What result groups' digests are bound to besides the store's identity: the blocks
    they use (so results of another N from the same blocks do not pass)."""
    return f":{root.get(ownership.USED, '')}"


def set_attrs(path, attrs: dict, group: str = "") -> None:
    """Add attributes to a verified group of the store (default: its root), resealing it
    in the same metadata write."""
    if group:
        integrity.update_attrs(path, group, attrs, integrity.store_key(path))
    else:
        integrity.put_root(path, {**ownership.read_root(path), **attrs})


def consolidate(path) -> None:
    """Write the consolidated metadata that lets a plain xr.open_zarr find every group."""
    import zarr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not")
        zarr.consolidate_metadata(path)


def root_attrs(store) -> dict:
    """The store's root attributes: provenance and the last invocation."""
    import zarr

    return zarr.open_group(store, mode="r", use_consolidated=False).attrs.asdict()


def default_store(study: Study) -> Path:
    """results/<study name>.zarr: where a Monte Carlo or Morris run writes by default."""
    return RESULTS / f"{study.name}.zarr"
