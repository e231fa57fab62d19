"""Checksums of everything a store holds, and verification of them.

Two layers, because zarr has one blind spot:
- every array reesens writes carries zarr's crc32c codec after zstd (`compressors`), so a
  flipped or truncated chunk raises on read, for reesens and for anyone reading the store
  with zarr or xarray;
- a chunk that is missing reads as the array's fill value without any error, so reesens
  also keeps blake2b digests of what it wrote: each unit of work (a run's block, a grid
  chunk) stores the digest of its region of every member array beside its done flag
  (`Units`), and each group written whole (templates' coordinates, results) the digest
  of every array in its attributes (`DIGESTS`). A digest is salted with the array's name
  and the unit, so a chunk copied from another block does not pass either.

A unit that fails verification is recomputed from the study (blocks and grid chunks are
pure functions of the study and their index); a group written whole that fails is
refused, and a re-run rewrites it.
"""
from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from hashlib import blake2b

import numpy as np
import zarr
import zarr.api.asynchronous
from zarr.codecs import Crc32cCodec, ZstdCodec
from zarr.core.sync import sync

DIGESTS = "reesens_digests"  # group attribute: {array: digest} of arrays written whole
UNITS = "reesens_units"  # group attribute: the layout of arrays filled unit by unit
READ_BYTES = 256 * 2**20  # bytes of unit regions read at once while verifying


class IntegrityError(ValueError):
    """A store's content does not match its checksums."""


def compressors() -> tuple:
    """zarr's compressors of every array reesens writes: zstd, then crc32c."""
    return ZstdCodec(level=0), Crc32cCodec()


def encoding(ds) -> dict:
    """xarray `to_zarr` encoding that puts crc32c after zstd on every variable of ds."""
    return {name: {"compressors": compressors()} for name in ds.variables}


def digest(values, salt: str) -> int:
    """A non-zero 64-bit blake2b digest of an array's dtype and values (C order), salted."""
    values = np.asarray(values)
    h = blake2b(salt.encode(), digest_size=8)
    if values.dtype.kind in "OUT":  # strings: their UTF-8 text, NUL-separated
        h.update("\0".join(map(str, values.ravel().tolist())).encode("utf-8",
                                                                   "surrogatepass"))
    else:
        h.update(values.dtype.str.encode())
        h.update(np.ascontiguousarray(values).data)
    return int.from_bytes(h.digest(), "little") or 1


def group_digests(group: zarr.Group, names=None) -> dict[str, str]:
    """{array: hex digest} of every array of a zarr group (or of `names`), read whole."""
    names = sorted(group.array_keys()) if names is None else names
    return {name: f"{digest(group[name][...], name):016x}" for name in names}


def check_group(group: zarr.Group, where: str) -> list[str]:
    """Problems of a group's arrays written whole against its DIGESTS attribute ([] when
    all match); an array that cannot be read or has no digest is a problem too."""
    expected = group.attrs.get(DIGESTS)
    if not isinstance(expected, dict):
        return [f"{where}: has no checksums (not written whole by reesens)"]
    problems = []
    for name, hexdigest in expected.items():
        try:
            got = f"{digest(group[name][...], name):016x}"
        except Exception as e:  # noqa: BLE001 (any decoding failure is corruption)
            problems.append(f"{where}/{name}: unreadable ({_reason(e)})")
            continue
        if got != hexdigest:
            problems.append(f"{where}/{name}: does not match its checksum")
    return problems


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

    def attrs(self) -> dict:
        return {UNITS: {"flag": self.flag, "digests": self.digests,
                        "members": list(self.members)}}

    @classmethod
    def of(cls, group: zarr.Group) -> "Units":
        """The layout stored in a group's attributes (KeyError/TypeError when absent)."""
        spec = group.attrs[UNITS]
        return cls(spec["flag"], spec["digests"], tuple(spec["members"]))


def unit_region(shape, chunks, unit: int) -> tuple[slice, ...]:
    """The region of chunk number `unit` (C order over the chunk grid) of an array."""
    counts = [math.ceil(s / c) for s, c in zip(shape, chunks)]
    index = np.unravel_index(unit, counts)
    return tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunks, shape))


def _shape(region) -> tuple[int, ...]:
    return tuple(s.stop - s.start for s in region)


def write_unit(path, units: Units, unit: int, values: dict) -> None:
    """Write each member's region of `unit` from values {member: array of that many
    elements} and their digests, all at once, then (only then) set the unit's flag."""
    sync(_write_unit(str(path), units, unit, values))


async def _write_unit(path: str, units: Units, unit: int, values: dict) -> None:
    root = await zarr.api.asynchronous.open_group(path, mode="r+", use_consolidated=False)
    names = [*units.members, units.digests, units.flag]
    arrays = dict(zip(names, await asyncio.gather(*(root.getitem(n) for n in names))))
    writes, digests = [], []
    for name in units.members:
        array = arrays[name]
        region = unit_region(array.shape, array.chunks, unit)
        value = np.asarray(values[name], dtype=array.dtype).reshape(_shape(region))
        digests.append(digest(value, f"{name}:{unit}"))
        writes.append(array.setitem(region, value))
    writes.append(arrays[units.digests].setitem(unit, np.array(digests, dtype=np.uint64)))
    # every write ends (none left pending) before a failure is raised, and no flag follows
    failures = [r for r in await asyncio.gather(*writes, return_exceptions=True)
                if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    await arrays[units.flag].setitem(unit, 1)


def _read_each(array: zarr.Array, n: int, fill):
    """array[:n] read whole, or chunk by chunk when some chunk is unreadable; returns
    (values, units whose chunk could not be read, which hold `fill`)."""
    try:
        return array[:n], []
    except Exception:  # noqa: BLE001 (one bad chunk: find which)
        pass
    values = np.full((n, *array.shape[1:]), fill, dtype=array.dtype)
    bad = []
    for u in range(n):
        try:
            values[u] = array[u]
        except Exception:  # noqa: BLE001
            bad.append(u)
    return values, bad


def flags_and_digests(root: zarr.Group, units: Units):
    """(done bool (units,), digests uint64 (units, members), {unit: problem}) of a store's
    root group, where a unit whose flag or digests cannot be read counts as not done."""
    flag = root[units.flag]
    done, bad_flags = _read_each(flag, flag.shape[0], 0)
    digests, bad_digests = _read_each(root[units.digests], flag.shape[0], 0)
    problems = {u: f"{units.flag} unreadable" for u in bad_flags}
    problems.update({u: f"{units.digests} unreadable" for u in bad_digests if done[u]})
    done = done == 1
    done[list(problems)] = False
    return done, digests, problems


def verify_units(path, units: Units, todo) -> dict[int, str]:
    """{unit: problem} for the units `todo` whose flag, digests or member regions cannot
    be read or do not match (regions read concurrently, READ_BYTES at a time); {} when all
    are intact."""
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    _, digests, problems = flags_and_digests(root, units)
    todo = set(todo)
    problems = {u: p for u, p in problems.items() if u in todo}
    problems.update({u: f"{units.digests} missing" for u in todo
                     if u not in problems and not digests[u].any()})
    arrays = [root[m] for m in units.members]
    fills = [a.fill_value for a in arrays]
    unit_bytes = sum(math.prod(a.chunks) * a.dtype.itemsize for a in arrays)
    per_batch = max(1, READ_BYTES // max(1, unit_bytes))
    todo = sorted(u for u in todo if u not in problems)
    for start in range(0, len(todo), per_batch):
        batch = todo[start:start + per_batch]
        read = sync(_read_regions(str(path), units, batch))
        for u in batch:
            for i, (name, value) in enumerate(zip(units.members, read[u])):
                state = _state(name, u, value, digests[u, i], fills[i])
                if state:
                    problems[u] = state
                    break
    return problems


def _state(name: str, unit: int, value, expected: int, fill) -> str:
    """"" when `value` (or the exception reading it) matches the digest, else the problem."""
    if isinstance(value, Exception):
        return f"{name} corrupt ({_reason(value)})"
    if digest(value, f"{name}:{unit}") == int(expected):
        return ""
    empty = np.isnan(value).all() if np.isnan(fill) else np.all(value == fill)
    return f"{name} missing" if empty else f"{name} does not match its checksum"


async def _read_regions(path: str, units: Units, batch):
    root = await zarr.api.asynchronous.open_group(path, mode="r", use_consolidated=False)
    arrays = await asyncio.gather(*(root.getitem(m) for m in units.members))
    reads = [a.getitem(unit_region(a.shape, a.chunks, u)) for u in batch for a in arrays]
    values = await asyncio.gather(*reads, return_exceptions=True)
    k = len(arrays)
    return {u: values[i * k:(i + 1) * k] for i, u in enumerate(batch)}


def verified_units(path, group: str, *, check: bool = True):
    """(done bool (units,), {unit: problem}) of the units laid out in `group` (a run's
    blocks, a grid): those flagged done whose digests match what the store holds, every
    one read back when `check`. A unit that fails counts as not done, to be recomputed."""
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    units = Units.of(root[group])
    done, _, problems = flags_and_digests(root, units)
    if check:
        problems.update(verify_units(path, units, np.flatnonzero(done).tolist()))
        done[list(problems)] = False
    return done, problems


def check_unit_rows(units: Units, members: dict, first_unit: int, digests) -> list[int]:
    """Units among [first_unit, first_unit + n) whose rows of the arrays `members`
    {member: (n, ...) values as read} do not match `digests` (n, members)."""
    index = {m: i for i, m in enumerate(units.members)}
    bad = []
    for k in range(len(digests)):
        u = first_unit + k
        if any(digest(v[k], f"{m}:{u}") != int(digests[k, index[m]])
               for m, v in members.items()):
            bad.append(u)
    return bad
