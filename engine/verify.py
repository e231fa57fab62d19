"""Whether a store can be trusted: `reesens verify`, and the checks `show` and `report`
make before they read one.

A store is finished when its root carries the results marker (the groups of its last
complete run); every unit of work it holds is checked against its digests and every
group written whole against its own (engine.integrity). Nothing here writes.
"""
from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from reesens.engine import grid, integrity, ownership
from reesens.engine.ownership import StoreError


def reesens_root(path: Path) -> dict:
    """The root attributes of a reesens store; StoreError for anything else."""
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise StoreError(f"{path}: not a reesens results store (no zarr.json)")
    root = ownership.read_root(path)
    if ownership.IDENTITY not in root:
        raise StoreError(f"{path}: a zarr store that reesens did not write")
    return root


def repair_command(root: dict) -> str:
    """The command that resumes (and so repairs) the store: the one that created it,
    without --overwrite, with --resume."""
    words = [w for w in shlex.split(root.get(ownership.COMMAND) or "")
             if w not in ("--overwrite", "--resume")]
    return shlex.join(words + ["--resume"]) if words else "its run's command with --resume"


def unit_group(path: Path) -> str | None:
    """The group whose attributes lay out the store's units ("blocks" or "grid")."""
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    for name in ("blocks", "grid"):
        try:
            if integrity.UNITS in root[name].attrs:
                return name
        except Exception:  # noqa: BLE001 (absent or unreadable: not this one)
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
    if not groups and ownership.COMMAND not in root:
        raise StoreError(verify(path)[0][0])
    if not groups:
        raise StoreError(f"{path}: run not finished: {_progress(path)}; resume with "
                         f"{repair_command(root)}")
    return list(groups)


def require_intact(path: Path) -> list[str]:
    """The result groups of a finished store whose every part verifies; StoreError when
    the run has not finished, IntegrityError naming what is damaged and the command that
    repairs it otherwise."""
    path = Path(path)
    groups = finished_groups(path)
    problems, _ = verify(path)
    if problems:
        raise integrity.IntegrityError(
            f"{path}: {problems[0]}{_more(problems)}; `reesens verify {path}` lists what "
            f"is damaged and {repair_command(ownership.read_root(path))} repairs it")
    return groups


def open_group(path: Path, group: str) -> xr.Dataset:
    """A result group (sobol, summary, convergence) of a finished store, loaded after its
    own checksums are verified (require_intact checks the whole store)."""
    path = Path(path)
    if group not in finished_groups(path):
        raise StoreError(f"{path}: has no `{group}` group")
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    problems = integrity.check_group(root[group], group)
    if problems:
        raise integrity.IntegrityError(
            f"{path}: {problems[0]}{_more(problems)}; "
            f"{repair_command(root.attrs.asdict())} rewrites it")
    return xr.open_zarr(path, group=group, consolidated=False, chunks=None).load()


def has_samples(path: Path) -> bool:
    """Whether the store kept its sample rows (--keep-samples)."""
    return "samples" in zarr.open_group(path, mode="r", use_consolidated=False)


def open_samples(path: Path) -> xr.Dataset:
    """The kept sample rows, loaded; call require_intact first (it checks every block's
    rows against their digests)."""
    return xr.open_zarr(path, group="samples", consolidated=False, chunks=None).load()


def open_grid(path: Path) -> xr.Dataset:
    """The cube of a finished grid store (its outputs on the swept options and
    parameters), lazily opened; call require_intact first."""
    path = Path(path)
    if "grid" not in finished_groups(path):
        raise StoreError(f"{path}: not a grid store")
    return grid.open_cube(path)


def _more(problems) -> str:
    return f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""


def verify(path: Path) -> tuple[list[str], list[str]]:
    """(problems, report lines) of every part of a store: its template's coordinates, its
    units (blocks or grid chunks) and its result groups; no problems: all is intact."""
    path = Path(path)
    root_attrs = reesens_root(path)
    if ownership.COMMAND not in root_attrs and not root_attrs.get(ownership.RESULTS):
        problem = (f"{path}: written by a reesens without checksums, so it cannot be "
                   "verified; run its study again onto it (same --out) to recompute and "
                   "checksum it")
        return [problem], [problem]
    lines, problems = [], []
    group = unit_group(path)
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    if group is None:
        problems.append("template: missing or damaged (no unit layout can be read)")
        lines.append(problems[-1])
    else:
        for name in ownership.TEMPLATE_GROUPS:  # by name: a torn write is no member
            if (path / name).is_dir():
                found = integrity.check_group(root[name], name)
                problems += found
                lines.append(f"{name} coordinates: " + ("; ".join(found) or "intact"))
        try:
            done, damaged = integrity.verified_units(path, group)
        except Exception as e:  # noqa: BLE001 (a flag or digest array that is gone)
            done, damaged = np.zeros(0, dtype=bool), {-1: f"unreadable ({integrity._reason(e)})"}
        unit = "block" if group == "blocks" else "grid chunk"
        # a --target-ci run that met its target uses the blocks up to its N only
        used = int(root_attrs.get(ownership.USED, done.size)) \
            if root_attrs.get(ownership.RESULTS) else done.size
        spare = int((~done[used:]).sum())
        done = done[:used]
        damaged = {u: p for u, p in damaged.items() if u < used}
        intact = int(done.sum())
        missing = [u for u, p in damaged.items() if "missing" in p]
        not_done = done.size - intact - len(damaged)
        lines.append(f"{unit}s: {intact} intact, {len(damaged) - len(missing)} corrupt, "
                     f"{len(missing)} missing, {not_done} not done (of {done.size})"
                     + (f"; {spare} more, not needed by the results, not done" if spare
                        else ""))
        found = [f"{unit} {u}: {p}" for u, p in sorted(damaged.items())]
        lines += [f"  {line}" for line in found]
        problems += found
        if not_done:
            waiting = [str(u) for u in np.flatnonzero(~done) if u not in damaged]
            more = ", ..." if not_done > 10 else ""
            problems.append(f"{not_done} {unit}s not done ({unit} "
                            f"{', '.join(waiting[:10])}{more})")
            lines.append(f"  {problems[-1]}")
    results = root_attrs.get(ownership.RESULTS)
    if not results:
        problems.append(f"run not finished: {_progress(path)}")
        lines.append(f"results: {problems[-1]}")
    for name in results or ():
        if name == "grid":
            continue
        try:
            found = integrity.check_group(root[name], name)
        except Exception as e:  # noqa: BLE001 (a group whose metadata is gone)
            found = [f"{name}: missing or unreadable ({integrity._reason(e)})"]
        problems += found
        lines.append(f"{name}: " + ("; ".join(found) or "intact"))
    lines.append(f"{path}: NOT intact ({len(problems)} problems); repair with: "
                 f"{repair_command(root_attrs)}" if problems else f"{path}: intact")
    return problems, lines
