"""Whether a store can be trusted: `reesens verify`, and the checks `show` and `report`
make before they read one.

A store is finished when its root carries the results marker (the groups of its last
complete run); every unit of work it holds is checked against its digests and every
group written whole against its own (store.integrity). A grid's `show` and `report` read
its chunks' code counts and the few chunks their slices cut, not the whole cube, and check
what they read: every chunk's counts first, each slice's chunks before it is drawn.
Nothing here writes.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import NoReturn

import numpy as np
import xarray as xr

from reesens.store import cube, integrity, ownership
from reesens.store import layout as store
from reesens.store.ownership import StoreError


def reesens_root(path: Path) -> dict:
    """The root attributes of a reesens store; StoreError for anything else."""
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise StoreError(f"{path}: not a reesens results store (no zarr.json)")
    root = ownership.read_root(path)
    if integrity.IDENTITY not in root:
        raise StoreError(f"{path}: a zarr store that reesens did not write")
    return root


def repair_command(root: dict, path: Path) -> str:
    """The command that resumes (and so repairs) the store where it is now: the one that
    created it, with --out the store's present path, without --overwrite, with --resume."""
    try:
        words = shlex.split(str(root.get(ownership.COMMAND) or ""))
    except ValueError:
        words = []
    kept, skip = [], False
    for w in words:
        if skip or w in ("--overwrite", "--resume") or w.startswith("--out="):
            skip = False
            continue
        skip = w == "--out"
        if not skip:
            kept.append(w)
    if len(kept) < 3 or kept[0] != "reesens":
        return f"its run's command with --out {shlex.quote(str(path))} --resume"
    return shlex.join(kept + ["--out", str(path), "--resume"])


def unit_group(path: Path) -> str | None:
    """The group whose attributes lay out the store's units ("blocks" or "grid")."""
    for name in ("blocks", "grid"):
        try:
            if integrity.UNITS in integrity.read_meta(path / name)["attributes"]:
                return name
        except (OSError, ValueError, KeyError):  # absent or unreadable: not this one
            continue
    return None


def _progress(path: Path) -> str:
    """'k of n blocks done' (or grid chunks), from the flags alone."""
    group = unit_group(path)
    try:
        done, _ = integrity.verified_units(path, group, check=False)
    except Exception:  # noqa: BLE001 (killed while its template was written)
        return "its template is incomplete"
    unit = "blocks" if group == "blocks" else "grid chunks"
    return f"{int(done.sum())} of {done.size} {unit} done"


def finished_groups(path: Path) -> list[str]:
    """The result groups of the store's last complete run; StoreError when the run has
    not finished (`run not finished: k of n blocks done; resume with ...`)."""
    root = reesens_root(path)
    groups = root.get(ownership.RESULTS)
    edited = integrity.check_root_seal(path)
    if edited:
        raise StoreError(f"{path}: {edited[0]}; repair with {repair_command(root, path)}")
    if not groups:
        raise StoreError(f"{path}: run not finished: {_progress(path)}; resume with "
                         f"{repair_command(root, path)}")
    return list(groups)


def require_intact(path: Path, cells: bool = True) -> list[str]:
    """The result groups of a finished store whose every part verifies; StoreError when
    the run has not finished, IntegrityError naming what is damaged and the command that
    repairs it otherwise. cells=False: of a grid's chunks, only their counts are read back
    (a reader of its cells checks the chunks it reads: require_chunks)."""
    path = Path(path)
    groups = finished_groups(path)
    problems, _ = verify(path, cells)
    if problems:
        _refuse(path, problems)
    return groups


def require_chunks(path: Path, chunks) -> None:
    """IntegrityError, as require_intact's, unless each grid chunk of `chunks` (their
    numbers) reads back as its digests say."""
    import zarr

    units = integrity.Units.of(zarr.open_group(path, mode="r", use_consolidated=False),
                               cube.GROUP)
    problems = [f"grid chunk {u}: {p}" for u, p in
                sorted(integrity.verify_units(path, units, chunks).items())]
    if problems:
        _refuse(Path(path), problems)


def _refuse(path: Path, problems: list[str]) -> NoReturn:
    raise integrity.IntegrityError(
        f"{path}: {problems[0]}{_more(problems)}; `reesens verify {path}` lists what "
        f"is damaged and {repair_command(ownership.read_root(path), path)} repairs it")


def open_group(path: Path, group: str) -> xr.Dataset:
    """A result group (sobol, summary, convergence) of a finished store, loaded; call
    require_intact first (it checks every group against its checksums)."""
    path = Path(path)
    if group not in finished_groups(path):
        raise StoreError(f"{path}: has no `{group}` group")
    return xr.open_zarr(path, group=group, consolidated=False, chunks=None).load()


def has_samples(path: Path) -> bool:
    """Whether the store kept its sample rows (--keep-samples)."""
    return "samples" in ownership.entries(Path(path)) and (Path(path) / "samples").is_dir()


def open_samples(path: Path) -> xr.Dataset:
    """The kept sample rows, loaded; call require_intact first (it checks every block's
    rows against their digests)."""
    return xr.open_zarr(path, group="samples", consolidated=False, chunks=None).load()


def open_grid(path: Path, dask: bool = True) -> xr.Dataset:
    """The cube of a finished grid store (its outputs on the swept options and
    parameters), lazily opened (store.cube.open_cube); call require_intact first."""
    path = Path(path)
    if "grid" not in finished_groups(path):
        raise StoreError(f"{path}: not a grid store")
    return cube.open_cube(path, dask)


def _more(problems) -> str:
    return f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""


def verify(path: Path, cells: bool = True) -> tuple[list[str], list[str]]:
    """(problems, report lines) of every part of a store: its root's metadata, its
    template (metadata and coordinates), its units (blocks or grid chunks) and its result
    groups; no problems: all is intact. cells=False: a grid's chunks' cells are not read
    back, only their counts, flags and digests."""
    path = Path(path)
    root_attrs = reesens_root(path)
    key = integrity.key_of(root_attrs[integrity.IDENTITY])
    lines, problems = [], []
    found = integrity.check_root_seal(path)
    trusted = not found  # an edited root says nothing about what is finished
    problems += found
    lines.append("; ".join(found) or "root metadata: intact")
    group = unit_group(path)
    names = ownership.entries(path, root_attrs)
    if group is None:
        problems.append("template: missing or damaged (no unit layout can be read)")
        lines.append(problems[-1])
    else:
        template_ok = _check_template(path, names, key, problems, lines)
        members = None if cells or group != cube.GROUP else (f"{cube.GROUP}/{cube.COUNTS}",)
        _check_units(path, group, root_attrs, trusted, template_ok, problems, lines, members)
    _check_results(path, root_attrs, names, key, problems, lines)
    if trusted:
        found = integrity.check_consolidated(path, integrity.read_meta(path))
        problems += found
        lines += found
    lines.append(f"{path}: NOT intact ({len(problems)} problems); repair with: "
                 f"{repair_command(root_attrs, path)}" if problems else f"{path}: intact")
    return problems, lines


def _check_template(path: Path, names, key: str, problems: list, lines: list) -> bool:
    """Whether every template group's metadata and coordinates match their seal; what
    does not is added to problems and lines."""
    template_ok = True
    for name in ownership.TEMPLATE_GROUPS:
        if name in names and (path / name).is_dir():
            found = integrity.check_group(path, name, key)
            template_ok = template_ok and not found
            problems += found
            lines.append(f"{name} metadata and coordinates: " + ("; ".join(found) or "intact"))
    return template_ok


def _check_units(path: Path, group: str, root_attrs: dict, trusted: bool, template_ok: bool,
                 problems: list, lines: list, members=None) -> None:
    """The units (blocks, grid chunks) of the `group`: intact, corrupt, missing or not
    done, those the results use and those beyond (`members`: only these are read back;
    default all); added to problems and lines."""
    try:
        if not template_ok:  # its layout cannot be trusted: every unit is redone
            raise ValueError("not checked, the template does not match its checksums")
        done, damaged = integrity.verified_units(path, group, members=members)
    except Exception as e:  # noqa: BLE001 (a flag or digest array that is gone)
        done, damaged = np.zeros(0, dtype=bool), {-1: f"unreadable ({integrity._reason(e)})"}
    unit = "block" if group == "blocks" else "grid chunk"
    # a --target-ci run that met its target uses the blocks up to its N only
    used = root_attrs.get(ownership.USED, done.size)
    used = used if trusted and root_attrs.get(ownership.RESULTS) \
        and isinstance(used, int) and 0 <= used <= done.size else done.size
    spare = int((~done[used:]).sum())
    done = done[:used]
    beyond = {u: p for u, p in damaged.items() if u >= used}  # kept rows are read too
    damaged = {u: p for u, p in damaged.items() if u < used}
    intact = int(done.sum())
    missing = [u for u, p in damaged.items() if "missing" in p]
    not_done = done.size - intact - len(damaged)
    lines.append(f"{unit}s: {intact} intact, {len(damaged) - len(missing)} corrupt, "
                 f"{len(missing)} missing, {not_done} not done (of {done.size})"
                 + (f"; {spare} more, not needed by the results, not done" if spare
                    else "") + (f"; {len(beyond)} more damaged" if beyond else ""))
    found = [f"{unit} {u}: {p}" for u, p in sorted({**damaged, **beyond}.items())]
    lines += [f"  {line}" for line in found]
    problems += found
    if not_done:
        waiting = [str(u) for u in np.flatnonzero(~done) if u not in damaged]
        more = ", ..." if not_done > 10 else ""
        problems.append(f"{not_done} {unit}s not done ({unit} "
                        f"{', '.join(waiting[:10])}{more})")
        lines.append(f"  {problems[-1]}")


def _check_results(path: Path, root_attrs: dict, names, key: str, problems: list,
                   lines: list) -> None:
    """Whether the run finished, and each result group against its seal (bound to the
    blocks its results use)."""
    results = root_attrs.get(ownership.RESULTS)
    if not results:
        problems.append(f"run not finished: {_progress(path)}")
        lines.append(f"results: {problems[-1]}")
    for name in results if isinstance(results, list) else ():
        if name == "grid" or not isinstance(name, str):
            continue
        bind = store.results_bind(root_attrs)
        found = integrity.check_group(path, name, key, bind=bind) if name in names and (
            path / name).is_dir() else [f"{name}: missing"]
        problems += found
        lines.append(f"{name}: " + ("; ".join(found) or "intact"))
