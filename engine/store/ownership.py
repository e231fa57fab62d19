"""Which paths a run may write, the lock that keeps a second writer out, and a store's
identity: created, resumed, repaired or (with --overwrite) replaced, never someone else's.

A store is reesens' when its root attributes carry `reesens_identity`. What in it is
reesens' own is recorded, not guessed from names: the root's `reesens_entries` lists the
top-level groups reesens created there (recorded before each is created, under the
root's seal); inside them, reesens owns only the files zarr writes for the nodes it
created (each node's zarr.json, the chunk files of its arrays, and zarr's own temporary
files `<name>.<32 hex>.partial` of a write that was killed), and in a sealed group only
the arrays its seal lists. Anything else anywhere in the store is the user's: a run
refuses to touch a store holding any, and nothing reesens removes is ever anything else.
Paths are resolved (symbolic links followed) before any check, lock or deletion, so a link
to a store is the store itself. A directory inside a zarr store or group is refused.

The identity is the first thing a new store gets (one metadata write, with the command
that can repair it) and the template of the arrays to fill comes after it, each template
group sealed (store.integrity) as its last write: a store killed at any step is one
whose identity reesens recognises, and a template group whose seal fails is rewritten.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from pathlib import Path

from reesens.store import integrity
from reesens.store.integrity import IDENTITY, META

COMMAND, RESULTS = "reesens_command", "reesens_results"
ENTRIES = "reesens_entries"  # root attribute: the top-level groups reesens created here
USED = "reesens_units_used"  # root attribute: the blocks a finished run's results use
STAGING, TRASH = "staging_", "trash_"  # prefixes of result groups being swapped in / out
TEMPLATE_GROUPS = ("blocks", "samples", "grid")
LOCK_NAME = ".{}.reesens-lock"  # beside the store: its lock file
LOCK_TEXT = b"reesens store lock\n"  # a lock file's content (one a user would not write)
NAME_MAX = 255  # bytes in a file name on the file systems reesens runs on
TORN = re.compile(r"^(zarr|\d+)\.[0-9a-f]{32}\.partial$")  # zarr's temporary files
ZARR_NAMES = (META, ".zgroup", ".zarray", ".zattrs")  # metadata of zarr v3 and v2 nodes


class StoreError(ValueError):
    """The output path cannot take this run's results store."""


def read_root(path: Path) -> dict:
    """The root attributes of the store at `path` ({} when it has none), read as JSON;
    StoreError when its root metadata cannot be read."""
    try:
        return integrity.read_meta(path).get("attributes", {})
    except (OSError, ValueError) as e:
        raise StoreError(f"{path}: its root metadata (zarr.json) cannot be read "
                         f"({integrity._reason(e)}); reesens cannot tell whose store it "
                         "is and will not touch it: move it away or remove it yourself"
                         ) from None


def entries(path: Path, attrs: dict | None = None) -> list[str]:
    """The top-level groups reesens created in the store at `path`: those its root
    records when the root's seal holds, else those whose own seal proves them (a group
    reesens sealed, under its own name, with the store's identity)."""
    attrs = read_root(path) if attrs is None else attrs
    recorded = attrs.get(ENTRIES)
    if not integrity.check_root_seal(path) and isinstance(recorded, list) \
            and all(isinstance(n, str) and "/" not in n and n not in ("", ".", "..")
                    for n in recorded):
        return recorded
    key = integrity.key_of(attrs.get(IDENTITY))
    proven = []
    for entry in sorted(path.iterdir()):
        name = entry.name
        try:
            meta = integrity.read_meta(entry)
            own = meta["attributes"][integrity.SEAL]["meta"]["."]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if own == integrity.meta_digest(meta, key, name) and not entry.is_symlink():
            proven.append(entry.name)
    return proven


def scan(path: Path, names) -> tuple[list[Path], list[Path], list[str]]:
    """(zarr files, zarr's torn temporary files, foreign entries as paths relative to
    `path`) of a store whose reesens groups are `names`: every file that is neither the
    root's metadata nor a file zarr wrote for a node of those groups is foreign."""
    files, torn, foreign = [], [], []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if entry.name == META and entry.is_file(follow_symlinks=False):
            files.append(Path(entry.path))
        elif TORN.match(entry.name) and entry.is_file(follow_symlinks=False):
            torn.append(Path(entry.path))
        elif entry.name in names and entry.is_dir(follow_symlinks=False):
            _scan_node(Path(entry.path), entry.name, files, torn, foreign)
        else:
            foreign.append(entry.name)
    return files, torn, foreign


def _scan_node(node: Path, rel: str, files, torn, foreign) -> None:
    """Sort a zarr node's directory: its metadata, its chunks (an array) or its child
    nodes (a group: those its seal lists, when sealed), and anything else (foreign)."""
    try:
        meta = integrity.read_meta(node)
    except (OSError, ValueError):
        meta = {}
    array = meta.get("node_type") == "array" or not meta  # unreadable: a damaged array's
    sealed = (meta.get("attributes", {}).get(integrity.SEAL) or {}) if not array else {}
    listed = sealed.get("meta") if isinstance(sealed, dict) else None
    for entry in sorted(os.scandir(node), key=lambda e: e.name):
        where = f"{rel}/{entry.name}"
        if entry.is_symlink():
            foreign.append(where)
        elif entry.is_file() and entry.name == META:
            files.append(Path(entry.path))
        elif entry.is_file() and TORN.match(entry.name):
            torn.append(Path(entry.path))
        elif entry.is_dir() and array and entry.name == "c":
            _scan_chunks(Path(entry.path), where, files, torn, foreign)
        elif entry.is_dir() and not array and (entry.name in listed if isinstance(
                listed, dict) else _written_by_reesens(Path(entry.path))):
            _scan_node(Path(entry.path), where, files, torn, foreign)
        else:
            foreign.append(where)


def _written_by_reesens(node: Path) -> bool:
    """Whether a node of a group not yet sealed (one a killed run was writing) can be
    reesens': a group, or an array with the crc32c codec every reesens array has, or a
    node whose metadata is not written yet."""
    try:
        meta = integrity.read_meta(node)
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    return meta.get("node_type") == "group" or any(
        isinstance(c, dict) and c.get("name") == "crc32c" for c in meta.get("codecs", ()))


def _scan_chunks(folder: Path, rel: str, files, torn, foreign) -> None:
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        where = f"{rel}/{entry.name}"
        if entry.is_symlink():
            foreign.append(where)
        elif entry.is_dir() and entry.name.isdigit():
            _scan_chunks(Path(entry.path), where, files, torn, foreign)
        elif entry.is_file() and entry.name.isdigit():
            files.append(Path(entry.path))
        elif entry.is_file() and TORN.match(entry.name):
            torn.append(Path(entry.path))
        else:
            foreign.append(where)


def remove(path: Path, name: str) -> None:
    """Remove the group `name` reesens created in the store at `path`: the files zarr
    wrote for it, then its directories once empty. Anything else in it is left where it
    is (and keeps its directories). An OSError names the file that could not go."""
    top = path / name
    if not top.is_dir() or top.is_symlink():
        return
    files, torn, _ = [], [], []
    _scan_node(top, name, files, torn, _)
    ours = set(files)
    for file in files + torn:  # chunks first: a node keeps its metadata while it has any
        if file.name != META:
            file.unlink(missing_ok=True)
    for folder, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count(os.sep)):
        meta = Path(folder) / META
        if os.listdir(folder) == [META] and meta in ours:
            meta.unlink()
        try:
            os.rmdir(folder)
        except OSError:  # not empty: it holds what reesens did not write, or could not remove
            pass


def check_path(path: Path) -> None:
    """Refuse a path a run may not write: StoreError naming why (nothing is touched).

    `path` is resolved. Allowed: a directory that does not exist yet (its parent does),
    an empty one (zarr's torn root metadata aside), or a reesens store holding nothing
    but what reesens wrote.
    """
    parent = path.parent
    if len(LOCK_NAME.format(path.name).encode()) > NAME_MAX:
        raise StoreError(f"{path}: the name is too long (at most "
                         f"{NAME_MAX - len(LOCK_NAME.format(''))} bytes, leaving room for its "
                         "lock file); choose a shorter --out")
    if not parent.is_dir():
        raise StoreError(f"{path}: the directory {parent} does not exist; create it or "
                         "choose another --out")
    refuse_inside_zarr(path)
    if not (path.exists() or path.is_symlink()):
        return
    if not path.is_dir():
        raise StoreError(f"{path}: exists and is not a directory (a store is one); "
                         "refusing to replace it (choose another --out)")
    names = sorted(p.name for p in path.iterdir())
    if META not in names:
        foreign = [n for n in names if not TORN.match(n)]
        if foreign:
            raise StoreError(f"{path}: a directory that is not a reesens store (it holds "
                             f"{_listing(foreign)}); refusing to write into it (choose "
                             "another --out)")
        return
    attrs = read_root(path)
    if IDENTITY not in attrs:
        raise StoreError(f"{path}: a zarr store or group that reesens did not write; "
                         "refusing to write into it (choose another --out)")
    foreign = scan(path, entries(path, attrs))[2]
    if foreign:
        raise StoreError(f"{path}: a reesens store that also holds files reesens did not "
                         f"write ({_listing(foreign)}); refusing to touch it (move them "
                         "out first)")


def _listing(names) -> str:
    shown = ", ".join(names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def refuse_inside_zarr(path: Path) -> None:
    """StoreError when `path` lies inside a zarr store or group (v2 or v3)."""
    for above in path.parents:
        if any((above / name).exists() for name in ZARR_NAMES):
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
    if resume and not (given / META).exists():
        raise StoreError(f"{given}: no store to resume")
    refuse_inside_zarr(given.resolve())
    given.parent.mkdir(parents=True, exist_ok=True)
    path = given.resolve()
    check_path(path)
    return path


class StoreLock:
    """An exclusive flock on `.<store>.reesens-lock` beside the store's resolved path,
    held while a run writes. Take it before creating the store's directory.

    The lock file is created exclusively with reesens' own content (a file of that name
    with other content is someone else's, and the run is refused), and removed at the end
    only by the run holding it, only if it is still the file it locked. The kernel drops a
    flock when its process dies, even by kill -9, so a crashed run never leaves a lock
    that blocks: the next run takes over the file it left.
    """

    def __init__(self, path: Path):
        path = Path(path).resolve()
        self.store, self.path = path, path.with_name(LOCK_NAME.format(path.name))

    def _create(self) -> None:
        """Create the lock file with its content in one step (a link of a temporary
        file), unless a file of that name exists."""
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            os.write(fd, LOCK_TEXT)
            os.close(fd)
            os.link(tmp, self.path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)

    def __enter__(self):
        self._create()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            raise StoreError(f"{self.path}: is in the way of the store's lock and is not "
                             "reesens'; move it away") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self.store}: another reesens run is writing this store (it "
                             "holds the lock); wait for it or choose another --out") from None
        if os.pread(fd, len(LOCK_TEXT) + 1, 0) != LOCK_TEXT:
            os.close(fd)
            raise StoreError(f"{self.path}: a file reesens did not write is in the way of "
                             "the store's lock; move it away")
        try:  # removed by a run that ended meanwhile: start again on the new file
            same = os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return self.__enter__()
        self.fd = fd
        return self

    def __exit__(self, *exc):
        try:
            if os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def record(path: Path, attrs: dict, names) -> dict:
    """The root attributes `attrs` with `names` added to the recorded groups, written
    (sealed) before any of them is created; returns them."""
    attrs = {**attrs, ENTRIES: sorted(set(attrs.get(ENTRIES, [])) | set(names))}
    integrity.put_root(path, attrs)
    return attrs


def forget_missing(path: Path, attrs: dict) -> dict:
    """`attrs` recording only the groups that still exist."""
    return {**attrs, ENTRIES: [n for n in attrs.get(ENTRIES, []) if (path / n).is_dir()]}


def open_or_create(path: Path, ident: dict, write_template, *, groups, command: str,
                   overwrite: bool = False) -> bool:
    """Make `path` (checked, locked, existing) a store of this run; True when it already
    was one (resume).

    A store of another study, seed or block plan is refused naming the differences,
    unless `overwrite`, which first gives the store this run's identity (one metadata
    write, keeping the record of what the old run created) and then removes those groups.
    A template (`groups`, written by `write_template(path)`, each sealed) whose seal
    fails is rewritten. Resuming removes what a killed run left behind: zarr's torn
    writes and result groups being swapped; a root whose seal fails (an edited attribute)
    is written anew from the identity, so the results are recomputed. Call it holding the
    store's lock.
    """
    check_path(path)
    resumed = False
    if (path / META).exists():
        attrs = read_root(path)
        old = attrs.get(IDENTITY)
        names = entries(path, attrs)
        if old == ident:
            resumed = True
            if integrity.check_root_seal(path):
                attrs = {IDENTITY: ident}
            for torn in scan(path, names)[1]:
                torn.unlink()
            for name in names:
                if name.startswith((STAGING, TRASH)):
                    remove(path, name)
            attrs = {**attrs, COMMAND: command, ENTRIES: names}
            integrity.put_root(path, forget_missing(path, attrs))  # no consolidated view
        elif not overwrite:
            fields = "; ".join(differences(old if isinstance(old, dict) else {}, ident))
            raise StoreError(f"{path}: holds another run, differing in {fields}; refusing "
                             "to overwrite it (use --overwrite or another --out)")
        else:
            integrity.put_root(path, {IDENTITY: ident, COMMAND: command, ENTRIES: names})
            for name in names:
                remove(path, name)
    if not resumed and not (path / META).exists():
        integrity.put_root(path, {IDENTITY: ident, COMMAND: command, ENTRIES: []})
    attrs = read_root(path)
    if not resumed:
        for torn in scan(path, [])[1]:
            torn.unlink()
        attrs = forget_missing(path, attrs)
        integrity.put_root(path, attrs)
    if not template_intact(path, ident, groups):
        attrs = record(path, attrs, groups)
        for group in groups:
            remove(path, group)
        write_template(path)
    return resumed


def template_intact(path: Path, ident: dict, groups) -> bool:
    """Whether the template (`groups`, the first laying out the units) is there with
    every group's seal holding under this identity, and every array the units fill."""
    key = integrity.key_of(ident)
    present = [g for g in groups if (path / g).is_dir()]
    if not present or present[0] != groups[0]:
        return False
    if any(integrity.check_group(path, g, key) for g in present):
        return False
    try:
        import zarr
        root = zarr.open_group(path, mode="r", use_consolidated=False)
        units = integrity.Units.of(root, groups[0])
        sealed = {g: integrity.read_meta(path / g)["attributes"][integrity.SEAL]["meta"]
                  for g in present}
        return all(name.split("/", 1)[1] in sealed.get(name.split("/", 1)[0], {})
                   for name in (units.flag, units.digests, *units.members))
    except Exception:  # noqa: BLE001 (an unreadable layout: a damaged template)
        return False


MAX_SHOWN = 8  # differences named in a refusal

# identity keys a user sets apart from the study file (the rest follow from the study)
RUN_SETTINGS = {"keep_samples": "--keep-samples", "second_order": "--second-order",
                "series_values": "rows kept for the SALib estimator (--estimator)",
                "bootstrap_replicates": "bootstrap replicates (--intervals, resamples)",
                "delta_subsample": "the delta method's co-moments (--intervals)",
                "statistics_version": "the layout of block statistics (another reesens "
                                      "version)",
                "counts": "the code counts stored with each grid chunk (another reesens "
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
