"""Whether a store can be trusted: `reesens verify`, and the checks `show` and `report`
make before they read one.

A store is finished when its root carries the results marker (the groups of its last
complete run); every unit of work it holds is checked against its digests and every
group written whole against its own (engine.integrity). Nothing here writes.
"""
from __future__ import annotations

import shlex
from pathlib import Path

import xarray as xr
import zarr

from engine import grid, integrity, ownership
from engine.ownership import StoreError


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
    if group is None:
        return "its template is missing or damaged"
    done, _ = integrity.verified_units(path, group, check=False)
    unit = "blocks" if group == "blocks" else "grid chunks"
    return f"{int(done.sum())} of {done.size} {unit} done"


def finished_groups(path: Path) -> list[str]:
    """The result groups of the store's last complete run; StoreError when the run has
    not finished (`run not finished: k of n blocks done; resume with ...`)."""
    root = reesens_root(path)
    groups = root.get(ownership.RESULTS)
    if not groups:
        raise StoreError(f"{path}: run not finished: {_progress(path)}; resume with "
                         f"{repair_command(root)}")
    return list(groups)


def open_group(path: Path, group: str) -> xr.Dataset:
    """A finished result group (sobol, summary, convergence), loaded after its checksums
    are verified; StoreError or IntegrityError otherwise."""
    path = Path(path)
    if group not in finished_groups(path):
        raise StoreError(f"{path}: has no `{group}` group")
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    problems = integrity.check_group(root[group], group)
    if problems:
        raise integrity.IntegrityError(
            f"{path}: {problems[0]}{_more(problems)}; `reesens verify {path}` lists what "
            f"is damaged and {repair_command(root.attrs.asdict())} rewrites it")
    return xr.open_zarr(path, group=group, consolidated=False).load()


def open_grid(path: Path) -> xr.Dataset:
    """A finished grid cube (its outputs on the swept options and parameters), lazily
    opened after every chunk and coordinate is verified."""
    path = Path(path)
    finished_groups(path)
    problems = _grid_problems(path)
    if problems:
        root = ownership.read_root(path)
        raise integrity.IntegrityError(
            f"{path}: {problems[0]}{_more(problems)}; {repair_command(root)} recomputes it")
    cube = xr.open_zarr(path, group="grid", consolidated=False)
    return cube.drop_vars(grid.BOOKKEEPING)


def _grid_problems(path: Path) -> list[str]:
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    problems = integrity.check_group(root["grid"], "grid")
    done, damaged = integrity.verified_units(path, "grid")
    problems += [f"grid chunk {c}: {p}" for c, p in sorted(damaged.items())]
    if not done.all() and not damaged:
        problems.append(f"{int((~done).sum())} grid chunks not done")
    return problems


def _more(problems) -> str:
    return f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""


def verify(path: Path) -> tuple[bool, list[str]]:
    """(intact, report lines) of every part of a store: template, units, result groups."""
    path = Path(path)
    root_attrs = reesens_root(path)
    lines, bad = [], 0
    group = unit_group(path)
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    if group is None:
        lines.append("template: missing or damaged (no unit layout can be read)")
        bad += 1
    else:
        for name, _ in root.groups():
            g = root[name]
            if name in ownership.TEMPLATE_GROUPS and integrity.DIGESTS in g.attrs:
                problems = integrity.check_group(g, name)
                bad += len(problems)
                lines.append(f"{name} coordinates: " + ("intact" if not problems
                                                         else "; ".join(problems)))
        done, damaged = integrity.verified_units(path, group)
        unit = "block" if group == "blocks" else "grid chunk"
        intact = int(done.sum())
        missing = [u for u, p in damaged.items() if "missing" in p]
        lines.append(f"{unit}s: {intact} intact, {len(damaged) - len(missing)} corrupt, "
                     f"{len(missing)} missing, {done.size - intact - len(damaged)} not done "
                     f"(of {done.size})")
        lines += [f"  {unit} {u}: {p}" for u, p in sorted(damaged.items())]
        bad += len(damaged) + (done.size - intact - len(damaged))
    results = root_attrs.get(ownership.RESULTS)
    if not results:
        lines.append("results: run not finished")
        bad += 1
    for name in results or ():
        if name == "grid":
            continue
        try:
            problems = integrity.check_group(root[name], name)
        except Exception as e:  # noqa: BLE001 (a group whose metadata is gone)
            problems = [f"{name}: missing or unreadable ({integrity._reason(e)})"]
        bad += len(problems)
        lines.append(f"{name}: " + ("intact" if not problems else "; ".join(problems)))
    if bad:
        lines.append(f"{path}: NOT intact ({bad} problems); repair with: "
                     f"{repair_command(root_attrs)}")
    else:
        lines.append(f"{path}: intact")
    return not bad, lines
