"""Which paths a run may write, the lock that keeps a second writer out, and a store's
identity: created, resumed, repaired or (with --overwrite) replaced, never someone else's.

A store is reesens' when its root attributes carry `reesens_identity`; nothing else is
ever written into or deleted. Paths are resolved (symbolic links followed) before any
check, lock or deletion, so a link to a store is the store itself. A directory inside a
zarr store or group is refused, as is one holding anything reesens does not write.

The identity is the first thing a new store gets (one metadata write, with the command
that can repair it) and the template of the arrays to fill comes after it, stamped with
the identity's digest as its last write: a store killed at any step is one whose identity
reesens recognises, and a template without the stamp is rewritten on the next open.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import zarr

from reesens.engine import integrity

IDENTITY, COMMAND, RESULTS = "reesens_identity", "reesens_command", "reesens_results"
USED = "reesens_units_used"  # root attribute: the blocks a finished run's results use
TEMPLATE = "reesens_template"  # attribute of a template's group: the identity's digest
RESULT_GROUPS = ("sobol", "summary", "convergence", "pawn", "delta", "given_data", "morris")
STAGING, TRASH = "staging_", "trash_"  # prefixes of result groups being swapped in / out
TEMPLATE_GROUPS = ("blocks", "samples", "grid")
LOCK_SUFFIX = ".lock"
NAME_MAX = 255  # bytes in a file name on the file systems reesens runs on


class StoreError(ValueError):
    """The output path cannot take this run's results store."""


def ours(name: str) -> bool:
    """Whether an entry of a store's root directory is one reesens writes."""
    return (name == "zarr.json" or name in RESULT_GROUPS or name in TEMPLATE_GROUPS
            or name.startswith((STAGING, TRASH)) or name.endswith(".partial"))


def identity_digest(ident: dict) -> str:
    return f"{integrity.digest(json.dumps(ident, sort_keys=True), 'identity'):016x}"


def read_root(path: Path) -> dict:
    """The root attributes of the store at `path` ({} when it has none); StoreError when
    its root metadata cannot be read."""
    try:
        return zarr.open_group(path, mode="r", use_consolidated=False).attrs.asdict()
    except Exception as e:  # noqa: BLE001 (any parse failure: we cannot tell whose it is)
        raise StoreError(f"{path}: its root metadata (zarr.json) cannot be read "
                         f"({integrity._reason(e)}); reesens cannot tell whose store it "
                         "is and will not touch it: move it away or remove it yourself"
                         ) from None


def check_path(path: Path) -> None:
    """Refuse a path a run may not write: StoreError naming why (nothing is touched).

    `path` is resolved. Allowed: a directory that does not exist yet (its parent does),
    an empty one, or a reesens store (holding only what reesens writes).
    """
    parent = path.parent
    if len(path.name.encode()) + len(LOCK_SUFFIX) > NAME_MAX:
        raise StoreError(f"{path}: the name is too long (at most "
                         f"{NAME_MAX - len(LOCK_SUFFIX)} bytes, leaving room for its lock "
                         "file); choose a shorter --out")
    if not parent.is_dir():
        raise StoreError(f"{path}: the directory {parent} does not exist; create it or "
                         "choose another --out")
    _refuse_inside_zarr(path)
    if not (path.exists() or path.is_symlink()):
        return
    if not path.is_dir():
        raise StoreError(f"{path}: exists and is not a directory (a store is one); "
                         "refusing to replace it (choose another --out)")
    names = sorted(p.name for p in path.iterdir())
    if "zarr.json" not in names:
        foreign = [n for n in names if not n.endswith(".partial")]
        if foreign:
            raise StoreError(f"{path}: a directory that is not a reesens store (it holds "
                             f"{_listing(foreign)}); refusing to write into it (choose "
                             "another --out)")
        return
    if IDENTITY not in read_root(path):
        raise StoreError(f"{path}: a zarr store or group that reesens did not write; "
                         "refusing to write into it (choose another --out)")
    foreign = [n for n in names if not ours(n)]
    if foreign:
        raise StoreError(f"{path}: a reesens store that also holds files reesens did not "
                         f"write ({_listing(foreign)}); refusing to touch it (move them "
                         "out first)")


def _listing(names) -> str:
    shown = ", ".join(names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _refuse_inside_zarr(path: Path) -> None:
    for above in path.parents:
        if (above / "zarr.json").exists():
            raise StoreError(f"{path}: is inside the zarr store or group {above}; refusing "
                             "to write there (choose a path outside it)")


def output_path(out, default: Path, *, resume: bool) -> Path:
    """The resolved store path a run writes (`default` when `out` is None), checked before
    any work. Missing parent directories are created (as for the default's results/),
    never inside a zarr store."""
    given = Path(out) if out is not None else default
    if given.is_symlink() and not given.exists():
        raise StoreError(f"{given}: a symbolic link to {os.readlink(given)}, which does "
                         "not exist; choose another --out")
    if resume and not (given / "zarr.json").exists():
        raise StoreError(f"{given}: no store to resume")
    _refuse_inside_zarr(given.resolve())
    given.parent.mkdir(parents=True, exist_ok=True)
    path = given.resolve()
    check_path(path)
    return path


class StoreLock:
    """An exclusive flock on <store>.lock beside the store's resolved path, held while a
    run writes. Take it before creating the store's directory.

    The kernel drops a flock when its process dies, even by kill -9, so a crashed run
    never leaves a stale lock; the file is removed when the run ends.
    """

    def __init__(self, path: Path):
        path = Path(path).resolve()
        self.store, self.path = path, path.with_name(path.name + LOCK_SUFFIX)

    def __enter__(self):
        self.file = open(self.path, "a")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # the file may have been removed by a run that ended meanwhile: lock the new one
            if os.fstat(self.file.fileno()).st_ino != os.stat(self.path).st_ino:
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            self.file.close()
            raise StoreError(f"{self.store}: another reesens run is writing this store (it "
                             "holds the lock); wait for it or choose another --out") from None
        return self

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def open_or_create(path: Path, ident: dict, write_template, *, groups, command: str,
                   overwrite: bool = False) -> bool:
    """Make `path` (checked, locked, existing) a store of this run; True when it already
    was one (resume).

    A store of another study, seed or block plan is refused naming the differences,
    unless `overwrite`, which first gives the store this run's identity (one metadata
    write) and then deletes its other entries (all reesens', see check_path). A template
    (`groups`, written by `write_template(path)`) without this identity's stamp, or with
    a damaged coordinate, is rewritten. Resuming removes what a killed run left behind:
    torn chunk writes (`*.partial`, never read by zarr) and result groups being swapped.
    Call it holding the store's lock.
    """
    check_path(path)
    root_meta = path / "zarr.json"
    resumed = False
    if root_meta.exists():
        root = read_root(path)
        old = root.get(IDENTITY)
        if old == ident:
            resumed = True
            for torn in path.rglob("*.partial"):
                torn.unlink()
            for entry in path.iterdir():
                if entry.name.startswith((STAGING, TRASH)):
                    shutil.rmtree(entry)
            _rewrite_root(path, root, {COMMAND: command, **root})
        elif not overwrite:
            fields = "; ".join(differences(old if isinstance(old, dict) else {}, ident))
            raise StoreError(f"{path}: holds another run, differing in {fields}; refusing "
                             "to overwrite it (use --overwrite or another --out)")
    if not resumed:
        attrs = {IDENTITY: ident, COMMAND: command}
        if root_meta.exists():
            zarr.open_group(path, mode="r+", use_consolidated=False).attrs.put(attrs)
        else:
            zarr.create_group(store=str(path), attributes=attrs)
        for entry in path.iterdir():
            if entry.name != "zarr.json":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    if not template_intact(path, ident, groups):
        for group in groups:
            shutil.rmtree(path / group, ignore_errors=True)
        write_template(path)
        digest = identity_digest(ident)
        zarr.open_group(path / groups[0], mode="r+", use_consolidated=False
                        ).update_attributes({TEMPLATE: digest})
    return resumed


def _rewrite_root(path: Path, old: dict, attrs: dict) -> None:
    """Give the root `attrs` (a store of a reesens that kept no repair command gets one)
    without its consolidated view, which a resumed run may make stale (it is written
    again when the run finishes)."""
    if attrs != old or "consolidated_metadata" in json.loads((path / "zarr.json").read_text()):
        zarr.open_group(path, mode="r+", use_consolidated=False).attrs.put(attrs)


def template_intact(path: Path, ident: dict, groups) -> bool:
    """Whether the template (`groups`, the first laying out the units) is stamped with this
    identity and its arrays' metadata and coordinates read back as written."""
    try:
        first = zarr.open_group(path / groups[0], mode="r", use_consolidated=False)
        if first.attrs.get(TEMPLATE) != identity_digest(ident):
            return False
        units = integrity.Units.of(first)
        root = zarr.open_group(path, mode="r", use_consolidated=False)
        for name in (units.flag, units.digests, *units.members):
            root[name]
        return not any(integrity.check_group(root[g], g) for g in groups
                       if (path / g).exists())
    except Exception:  # noqa: BLE001 (unreadable metadata: a damaged template)
        return False


MAX_SHOWN = 8  # differences named in a refusal

# identity keys a user sets apart from the study file (the rest follow from the study)
RUN_SETTINGS = {"keep_samples": "--keep-samples", "second_order": "--second-order",
                "series_values": "rows kept for the SALib estimator (--estimator)",
                "bootstrap_replicates": "bootstrap replicates (--intervals, resamples)",
                "statistics_version": "the layout of block statistics (another reesens "
                                      "version)"}


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two run identities, in a user's terms, with both values: the
    study file's fields (`parameters.A.upper: store 1.0, now 2.0`), N and the run
    settings; the values derived from a changed study (its seed, grid shape) are left out."""
    def flat(value, prefix=""):
        if isinstance(value, dict) and value:
            return {k: v for key, sub in value.items()
                    for k, v in flat(sub, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): value}

    def study(identity):
        try:
            return flat(json.loads(identity.get("study_json") or "{}"))
        except (TypeError, ValueError):  # not JSON: compared whole
            return {"study": identity.get("study_json")}

    found = []
    study_changed = old.get("study_json") != new.get("study_json")
    if study_changed:
        before, after = study(old), study(new)
        changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        changed.sort(key=lambda k: k.rsplit(".", 1)[-1] in ("note", "title", "description"))
        found += [f"{k}: store {_short(before.get(k, '(not set)'))}, now "
                  f"{_short(after.get(k, '(not set)'))}" for k in changed]
    sizes = [x.get("block_points", 0) * x.get("total_blocks", 0)
             if all(isinstance(x.get(k, 0), int) for k in ("block_points", "total_blocks"))
             else None for x in (old, new)]
    if sizes[0] != sizes[1]:
        found.append(f"N: store {sizes[0]}, now {sizes[1]}")
    elif old.get("block_points") != new.get("block_points"):
        found.append(f"sampling.block_points: store {old.get('block_points')}, now "
                     f"{new.get('block_points')}")
    shown = set(RUN_SETTINGS) if study_changed else set(new) - {
        "study_json", "block_points", "total_blocks"}
    found += [f"{RUN_SETTINGS.get(k, k)}: store {_short(old.get(k))}, now {_short(new[k])}"
              for k in new if k in shown and old.get(k) != new[k]]
    if len(found) > MAX_SHOWN:
        found = found[:MAX_SHOWN] + [f"and {len(found) - MAX_SHOWN} more"]
    return found or ["the kind of store"]


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
