"""Checksums of everything a store holds, bound to the store's identity, and their
verification.

Three layers, because zarr checks only chunk bytes and decodes with whatever metadata it
finds:
- every array reesens writes carries zarr's crc32c codec after zstd (`compressors`), so a
  flipped or truncated chunk raises on read, for reesens and for anyone reading the store
  with zarr or xarray;
- a chunk that is missing reads as the array's fill value without any error, so reesens
  also keeps blake2b digests of what it wrote: each unit of work (a run's block, a grid
  chunk) stores the digest of its region of every member array beside its done flag
  (`Units`), and each group written whole (templates' coordinates, results) the digest
  of every such array in its seal;
- every node's metadata (its zarr.json: dtype, shape, chunks, codecs, fill value,
  dimension names, every attribute) is digested too: each group's `reesens_seal`
  attribute holds the digests of its own metadata and of each of its arrays', and the
  root's seal its own. A seal lists the arrays of its group, so an array added later is
  found as well.
Every digest is salted with the store's key (the digest of its identity: study, seeds,
N, options), the node's path and the unit, so a group, chunk or digest copied from
another run or another block does not pass. Metadata is checked as JSON before zarr or
xarray parse it, so an edited or malformed zarr.json is reported, never decoded.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reesens.core.regions import unit_region

if TYPE_CHECKING:
    import zarr

IDENTITY = "reesens_identity"  # root attribute: what must match for a store to be resumed
SEAL = "reesens_seal"  # group attribute: {"meta": {".": own, array: its}, "data": {array}}
UNITS = "reesens_units"  # group attribute: the layout of arrays filled unit by unit
READ_BYTES = 256 * 2**20  # bytes of unit regions read at once while verifying
META = "zarr.json"


class IntegrityError(ValueError):
    """A store's content does not match its checksums."""


def compressors() -> tuple:
    """zarr's compressors of every array reesens writes: zstd, then crc32c."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return ZstdCodec(level=0), Crc32cCodec()


def encoding(ds) -> dict:
    """xarray `to_zarr` encoding that puts crc32c after zstd on every variable of ds."""
    return {name: {"compressors": compressors()} for name in ds.variables}


def digest(values, salt: str) -> int:
    """A non-zero 64-bit blake2b digest of an array's dtype and values (C order), salted."""
    values = np.asarray(values)
    h = blake2b(salt.encode("utf-8", "surrogatepass"), digest_size=8)
    if values.dtype.kind in "OUT":  # strings: their UTF-8 text, NUL-separated
        h.update("\0".join(map(str, values.ravel().tolist())).encode("utf-8",
                                                                    "surrogatepass"))
    else:
        h.update(values.dtype.str.encode())
        h.update(np.ascontiguousarray(values).data)
    return int.from_bytes(h.digest(), "little") or 1


def key_of(identity) -> str:
    """The store key: a 16-hex digest of a run's identity (any JSON value)."""
    text = json.dumps(identity, sort_keys=True, allow_nan=True, default=str)
    return f"{digest(text, 'identity'):016x}"


def read_meta(node: Path) -> dict:
    """A node's zarr.json as JSON (ValueError/OSError when it is not a JSON object)."""
    meta = json.loads((Path(node) / META).read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or not isinstance(meta.get("attributes", {}), dict):
        raise ValueError("not a JSON object with an attributes object")
    return meta


def store_key(path) -> str:
    """The key of the store at `path`, from its root's identity as stored."""
    return key_of(read_meta(path).get("attributes", {}).get(IDENTITY))


def meta_digest(meta: dict, key: str, where: str) -> str:
    """Digest of a node's metadata without its seal, and at the root without its
    consolidated view (checked against the nodes themselves, see check_consolidated)."""
    meta = {k: v for k, v in meta.items() if k != "consolidated_metadata"
            or (where != "." and v is not None)}
    meta["attributes"] = {k: v for k, v in meta.get("attributes", {}).items() if k != SEAL}
    text = json.dumps(meta, sort_keys=True, allow_nan=True)
    return f"{digest(text, f'{key}:{where}:meta'):016x}"


def _data_digest(array: zarr.Array, key: str, where: str) -> str:
    return f"{digest(array[...], f'{key}:{where}'):016x}"


def seal(path, group: str, key: str, whole=None, name: str | None = None,
         bind: str = "") -> None:
    """Seal a group: digest its metadata, each of its arrays' metadata and the data of
    the arrays in `whole` (default: all; the others are filled unit by unit and have
    their own digests), and write the seal as the group's last attribute write. `name`:
    the group's name once in place (a staged group is sealed as the group it becomes);
    `bind`: what else its arrays' digests are salted with (the blocks results use)."""
    import zarr

    name = name or group
    inner = key + bind
    node = zarr.open_group(Path(path) / group, mode="r+", use_consolidated=False)
    names = sorted(node.array_keys())
    whole = names if whole is None else sorted(whole)
    found = {
        "meta": {".": meta_digest(read_meta(Path(path) / group), key, name),
                 **{n: meta_digest(read_meta(Path(path) / group / n), inner, f"{name}/{n}")
                    for n in names}},
        "data": {n: _data_digest(node[n], inner, f"{name}/{n}") for n in whole}}
    node.update_attributes({SEAL: found})


def update_attrs(path, group: str, attrs: dict, key: str) -> None:
    """Add `attrs` to a sealed group (the root when group is ""), resealing its own
    metadata in the same write. Call it only on a group already verified."""
    import zarr

    where = Path(path) / group
    meta = read_meta(where)
    new = {**meta.get("attributes", {}), **attrs}
    found = dict(new.get(SEAL) or {"meta": {}, "data": {}})
    found["meta"] = {**found.get("meta", {}),
                     ".": meta_digest({**meta, "attributes": new}, key, group or ".")}
    node = zarr.open_group(where, mode="r+", use_consolidated=False)
    node.update_attributes({**attrs, SEAL: found})


def put_root(path, attrs: dict) -> None:
    """Replace the root's attributes by `attrs` (which hold the identity) and its seal,
    in one write; any consolidated view goes with it (consolidate writes it again)."""
    import zarr

    key = key_of(attrs.get(IDENTITY))
    meta = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
    sealed = {**attrs, SEAL: {"meta": {".": meta_digest(meta, key, ".")}, "data": {}}}
    if (Path(path) / META).exists():
        zarr.open_group(path, mode="r+", use_consolidated=False).attrs.put(sealed)
    else:
        zarr.create_group(store=str(path), attributes=sealed)


def check_root_seal(path) -> list[str]:
    """Problems of the root's metadata against its seal ([] when it matches)."""
    try:
        meta = read_meta(path)
        attrs = meta["attributes"]
        expected = {"meta": {".": meta_digest(meta, key_of(attrs.get(IDENTITY)), ".")},
                    "data": {}}
        ok = attrs.get(SEAL) == expected
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return [f"root metadata: unreadable ({_reason(e)})"]
    return [] if ok else ["root metadata: does not match its checksum (an attribute was "
                          "changed after reesens wrote it)"]


def check_consolidated(path, meta: dict) -> list[str]:
    """Problems of the root's consolidated view (what plain xr.open_zarr reads): each of
    its entries must equal the node's own metadata."""
    view = meta.get("consolidated_metadata")
    if view is None:
        return []
    entries = view.get("metadata") if isinstance(view, dict) else None
    if not isinstance(entries, dict):
        return ["root metadata: its consolidated view is malformed"]

    def plain(m):
        return {k: v for k, v in m.items() if k != "consolidated_metadata"} \
            if isinstance(m, dict) else m
    if set(entries) != _nodes(Path(path)):
        return ["root metadata: its consolidated view does not list the store's nodes"]
    for name, entry in sorted(entries.items()):
        try:
            same = plain(read_meta(Path(path) / name)) == plain(entry)
        except (OSError, ValueError):
            same = False
        if not same:
            return [f"root metadata: its consolidated view of {name} differs from {name}'s "
                    "own metadata"]
    return []


def _nodes(path: Path) -> set[str]:
    """The folders under `path` that hold a zarr.json (relative paths), not looking into
    the chunk folders ("c") of arrays: thousands of them in a large grid."""
    found, todo = set(), [path]
    while todo:
        folder = todo.pop()
        try:
            array = folder != path and read_meta(folder).get("node_type") == "array"
        except (OSError, ValueError):  # no node, or a damaged one: looked into
            array = False
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False) and not (array and entry.name == "c"):
                sub = Path(entry.path)
                if (sub / META).is_file():
                    found.add(str(sub.relative_to(path)))
                todo.append(sub)
    return found


def check_group(path, group: str, key: str, bind: str = "") -> list[str]:
    """Problems of a group against its seal ([] when all matches): its own metadata, each
    array's metadata (an array it does not list included), and the data of the arrays
    written whole (their digests salted with `bind` too); an array that cannot be read is
    a problem too. Metadata is compared as
    JSON before zarr parses it."""
    where = Path(path) / group
    try:
        meta = read_meta(where)
        found = meta["attributes"].get(SEAL)
        if not isinstance(found, dict) or set(found) != {"meta", "data"} \
                or not isinstance(found["meta"], dict) or not isinstance(found["data"], dict):
            return [f"{group}: has no checksums (not written whole by reesens)"]
    except (OSError, ValueError, KeyError) as e:
        return [f"{group}: metadata unreadable ({_reason(e)})"]
    if found["meta"].get(".") != meta_digest(meta, key, group):
        return [f"{group}: its metadata does not match its checksum (edited, or copied "
                "from another store)"]
    problems = []
    listed = {n for n in found["meta"] if n != "."}
    if not set(found["data"]) <= listed:
        return [f"{group}: its checksums list an array it does not hold"]
    present = {p.name for p in where.iterdir() if p.is_dir() and (p / META).exists()}
    problems += [f"{group}/{n}: an array reesens did not write" for n in sorted(present - listed)]
    for name in sorted(listed):
        try:
            same = found["meta"][name] == meta_digest(read_meta(where / name), key + bind,
                                                      f"{group}/{name}")
        except (OSError, ValueError) as e:
            problems.append(f"{group}/{name}: metadata unreadable ({_reason(e)})")
            continue
        if not same:
            problems.append(f"{group}/{name}: its metadata does not match its checksum")
    if problems:
        return problems  # zarr would decode with metadata that is not ours
    from zarr.core.sync import sync

    names = sorted(found["data"])
    for name, values in zip(names, sync(_read_whole(str(where), names))):
        if isinstance(values, Exception):  # any decoding failure is corruption
            problems.append(f"{group}/{name}: unreadable ({_reason(values)})")
        elif f"{digest(values, f'{key + bind}:{group}/{name}'):016x}" != found["data"][name]:
            problems.append(f"{group}/{name}: does not match its checksum")
    return problems


async def _read_whole(where: str, names) -> list:
    """Each array `names` of the group at `where` read whole, concurrently (or the
    exception reading it)."""
    import asyncio

    import zarr.api.asynchronous

    node = await zarr.api.asynchronous.open_group(where, mode="r", use_consolidated=False)

    async def read(name):
        return await (await node.getitem(name)).getitem(...)
    return await asyncio.gather(*(read(n) for n in names), return_exceptions=True)


def _reason(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text if len(text) <= 80 else text[:77] + "..."


# --- arrays filled unit by unit ------------------------------------------------------------

@dataclass(frozen=True)
class Units:
    """Arrays filled one unit (block, grid chunk) at a time, unit u being the u-th chunk of
    each member array in C order. `flag` (units,) int8 is 1 once the unit is written;
    `digests` (units, members) uint64 holds the digest of each member's region."""

    flag: str
    digests: str
    members: tuple[str, ...]
    key: str = ""  # the store's key (its digests' salt), when read from a store

    def attrs(self) -> dict:
        return {UNITS: {"flag": self.flag, "digests": self.digests,
                        "members": list(self.members)}}

    @classmethod
    def of(cls, root: zarr.Group, group: str) -> "Units":
        """The layout stored in a group's attributes, with the store's key (KeyError or
        TypeError when absent)."""
        spec = root[group].attrs[UNITS]
        return cls(spec["flag"], spec["digests"], tuple(spec["members"]),
                   key_of(root.attrs.get(IDENTITY)))

    def salt(self, member: str, unit: int) -> str:
        return f"{self.key}:{member}:{unit}"


def _shape(region) -> tuple[int, ...]:
    return tuple(s.stop - s.start for s in region)


def write_unit(path, units: Units, unit: int, values: dict) -> None:
    """Write each member's region of `unit` from values {member: array of that many
    elements} and their digests, all at once, then (only then) set the unit's flag. The
    digests are taken in the calling thread, beside the other workers, not in zarr's one
    event loop."""
    from zarr.core.sync import sync

    names = [*units.members, units.digests, units.flag]
    key, arrays = sync(_open_arrays(str(path), names))
    regions, digests = {}, []
    for name in units.members:
        region = unit_region(arrays[name].shape, arrays[name].chunks, unit)
        value = np.asarray(values[name], dtype=arrays[name].dtype).reshape(_shape(region))
        regions[name] = (region, value)
        digests.append(digest(value, f"{key}:{name}:{unit}"))
    sync(_write_unit(arrays, units, unit, regions, np.array(digests, dtype=np.uint64)))


async def _open_arrays(path: str, names) -> tuple[str, dict]:
    """(the store's key, {name: its async array})."""
    import asyncio

    import zarr.api.asynchronous

    root = await zarr.api.asynchronous.open_group(path, mode="r+", use_consolidated=False)
    found = await asyncio.gather(*(root.getitem(n) for n in names))
    return key_of(root.attrs.get(IDENTITY)), dict(zip(names, found))


async def _write_unit(arrays: dict, units: Units, unit: int, regions: dict, digests) -> None:
    import asyncio

    writes = [arrays[name].setitem(region, value) for name, (region, value) in regions.items()]
    writes.append(arrays[units.digests].setitem(unit, digests))
    # every write ends (none left pending) before a failure is raised, and no flag follows
    failures = [r for r in await asyncio.gather(*writes, return_exceptions=True)
                if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    await arrays[units.flag].setitem(unit, 1)


def _is_rows(array) -> bool:
    """Whether each chunk of the array is one whole row (a unit's flag, digests, counts
    or statistics), its chunks encoded as reesens writes them (`compressors`)."""
    from zarr.codecs.bytes import Endian

    codecs = [type(c).__name__ for c in array.metadata.codecs]
    return (array.chunks[0] == 1 and array.chunks[1:] == array.shape[1:]
            and codecs == ["BytesCodec", "ZstdCodec", "Crc32cCodec"]
            and array.metadata.codecs[0].endian in (None, Endian.little))


def read_rows(path, name: str, units) -> tuple[np.ndarray, dict[int, Exception]]:
    """(values (len(units), *row), {unit: why its chunk cannot be read}) of the array
    `name` (from the store's root) whose chunks are rows, one per unit (_is_rows). Each
    chunk file is read and decoded here as `compressors` encode it (zstd, then crc32c):
    through zarr a chunk costs ~0.4 ms, most of a report on thousands of units, here a
    tenth of it. A missing chunk reads as the fill value, as through zarr; an unreadable
    one holds the fill value too."""
    import google_crc32c
    import numcodecs
    import zarr

    array = zarr.open_array(store=str(path), path=name, mode="r")
    if not _is_rows(array):
        raise ValueError(f"{name}: not one row per chunk as reesens writes it")
    dtype = np.dtype(array.dtype).newbyteorder("<")
    values = np.full((len(units), *array.shape[1:]), array.fill_value, dtype=array.dtype)
    zstd = numcodecs.Zstd()  # decodes what ZstdCodec (compressors) encodes
    first, rest = array.metadata.encode_chunk_key((0,) * array.ndim).split("0", 1)
    folder = os.path.join(path, name, first)
    bad = {}
    for i, u in enumerate(units):
        try:
            with open(f"{folder}{u}{rest}", "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        except OSError as e:
            bad[u] = e
            continue
        if len(data) < 4 or google_crc32c.value(data[:-4]) != int.from_bytes(data[-4:],
                                                                             "little"):
            bad[u] = ValueError("crc32c checksum mismatch")
            continue
        try:
            values[i] = np.frombuffer(zstd.decode(data[:-4]), dtype=dtype).reshape(
                array.shape[1:])
        except Exception as e:  # noqa: BLE001 (any decoding failure is corruption)
            bad[u] = e
    return values, bad


def flags_and_digests(path, units: Units, todo=None):
    """(done bool (units,), digests uint64 (units, members), {unit: problem}) of the units
    `todo` (default all; the others read as not done) of a store, where a unit whose flag
    or digests cannot be read counts as not done."""
    import zarr

    n = zarr.open_array(store=str(path), path=units.flag, mode="r").shape[0]
    todo = list(range(n)) if todo is None else sorted(todo)
    flags, bad_flags = read_rows(path, units.flag, todo)
    rows, bad_digests = read_rows(path, units.digests, todo)
    done = np.zeros(n, dtype=bool)
    done[todo] = flags == 1
    digests = np.zeros((n, *rows.shape[1:]), dtype=rows.dtype)
    digests[todo] = rows
    problems = {u: f"{units.flag} unreadable" for u in bad_flags}
    problems.update({u: f"{units.digests} unreadable" for u in bad_digests if done[u]})
    done[list(problems)] = False
    return done, digests, problems


def verify_units(path, units: Units, todo, members=None) -> dict[int, str]:
    """{unit: problem} for the units `todo` whose flag, digests or member regions cannot
    be read or do not match (regions read concurrently, READ_BYTES at a time); {} when all
    are intact. `members`: the members whose regions are read back (default all)."""
    todo = sorted(set(todo))
    _, digests, problems = flags_and_digests(path, units, todo)
    return _check_units(path, units, todo, digests, problems, members)


def _check_units(path, units: Units, todo, digests, problems: dict, members) -> dict:
    """verify_units with the units' digests and flag problems already read."""
    import zarr

    root = zarr.open_group(path, mode="r", use_consolidated=False)
    wanted = set(todo)
    problems = {u: p for u, p in problems.items() if u in wanted}
    problems.update({u: f"{units.digests} missing" for u in todo
                     if u not in problems and not digests[u].any()})
    checked = [m for m in units.members if members is None or m in members]
    column = [units.members.index(m) for m in checked]
    arrays = [root[m] for m in checked]
    fills = [a.fill_value for a in arrays]
    unit_bytes = sum(math.prod(a.chunks) * a.dtype.itemsize for a in arrays)
    per_batch = max(1, READ_BYTES // max(1, unit_bytes))
    todo = [u for u in todo if u not in problems]
    for start in range(0, len(todo), per_batch):
        batch = todo[start:start + per_batch]
        read = _read_units(str(path), checked, batch)
        for u in batch:
            for i, (name, value) in enumerate(zip(checked, read[u])):
                state = _state(name, units.salt(name, u), value, digests[u, column[i]],
                               fills[i])
                if state:
                    problems[u] = state
                    break
    return problems


def _state(name: str, salt: str, value, expected: int, fill) -> str:
    """"" when `value` (or the exception reading it) matches the digest, else the problem."""
    if isinstance(value, Exception):
        return f"{name} corrupt ({_reason(value)})"
    if digest(value, salt) == int(expected):
        return ""
    empty = np.isnan(value).all() if np.isnan(fill) else np.all(value == fill)
    return f"{name} missing" if empty else f"{name} does not match its checksum"


def _read_units(path: str, members, batch) -> dict[int, list]:
    """{unit: [its region of each member, or why it cannot be read]}: rows through
    read_rows, other regions through zarr, concurrently."""
    import zarr
    from zarr.core.sync import sync

    root = zarr.open_group(path, mode="r", use_consolidated=False)
    rows = {m: read_rows(path, m, batch) for m in members if _is_rows(root[m])}
    others = [m for m in members if m not in rows]
    regions = sync(_read_regions(path, others, batch)) if others else {}
    return {u: [rows[m][1].get(u, rows[m][0][i]) if m in rows
                else regions[u][others.index(m)] for m in members]
            for i, u in enumerate(batch)}


async def _read_regions(path: str, members, batch):
    import asyncio

    import zarr.api.asynchronous

    root = await zarr.api.asynchronous.open_group(path, mode="r", use_consolidated=False)
    arrays = await asyncio.gather(*(root.getitem(m) for m in members))
    reads = [a.getitem(unit_region(a.shape, a.chunks, u)) for u in batch for a in arrays]
    values = await asyncio.gather(*reads, return_exceptions=True)
    k = len(arrays)
    return {u: values[i * k:(i + 1) * k] for i, u in enumerate(batch)}


def verified_units(path, group: str, *, check: bool = True, members=None):
    """(done bool (units,), {unit: problem}) of the units laid out in `group` (a run's
    blocks, a grid): those flagged done whose digests match what the store holds, every
    one read back when `check` (`members`: only these members' regions; default all). A
    unit that fails counts as not done, to be recomputed."""
    import zarr

    root = zarr.open_group(path, mode="r", use_consolidated=False)
    units = Units.of(root, group)
    done, digests, problems = flags_and_digests(path, units)
    if check:
        problems.update(_check_units(path, units, np.flatnonzero(done).tolist(), digests,
                                     problems, members))
        done[list(problems)] = False
    return done, problems


def clear_flags(path, group: str, damaged) -> None:
    """Flag the units `damaged` of `group` not done, before they are recomputed: a unit
    flagged done is then one written whole in this run (a task run again after its
    worker was lost skips it)."""
    import zarr

    if damaged:
        flags = zarr.open_array(store=str(path), path=Units.of(
            zarr.open_group(path, mode="r", use_consolidated=False), group).flag, mode="r+")
        for unit in damaged:
            flags[unit] = 0


def check_unit_rows(units: Units, members: dict, first_unit: int, digests) -> list[int]:
    """Units among [first_unit, first_unit + n) whose rows of the arrays `members`
    {member: (n, ...) values as read} do not match `digests` (n, members)."""
    index = {m: i for i, m in enumerate(units.members)}
    bad = []
    for k in range(len(digests)):
        u = first_unit + k
        if any(digest(v[k], units.salt(m, u)) != int(digests[k, index[m]])
               for m, v in members.items()):
            bad.append(u)
    return bad
