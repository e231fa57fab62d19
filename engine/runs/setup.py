"""A run's store set-up, shared by Monte Carlo, Morris and grid runs: the lock, the
identity checked (or the template written), and the units already done, each verified."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reesens.store import integrity, ownership


@dataclass
class Opened:
    """A store opened for a run: its identity, whether it resumed one of the same run,
    and which units (blocks, grid chunks) are done and intact."""

    identity: dict
    resumed: bool
    done: np.ndarray


@contextmanager
def opened(path: Path, identity: dict, write_template, *, groups, units: str, unit: str,
           overwrite: bool, command: str, room=None):
    """Within: the store at `path` locked, created from `identity` (write_template(path,
    identity) writes its template groups `groups`) or resumed, and its `units` group's
    done units verified; a damaged unit is named on stderr and left to recompute.
    `room(path, identity)`: the identity to open with (a store of the same run may hold
    more units)."""
    with ownership.StoreLock(path):
        path.mkdir(exist_ok=True)
        if room is not None:
            identity = room(path, identity)
        resumed = ownership.open_or_create(
            path, identity, lambda p: write_template(p, identity), groups=groups,
            overwrite=overwrite, command=command)
        done, damaged = integrity.verified_units(path, units, check=resumed)
        for index, problem in sorted(damaged.items()):
            print(f"{path}: {unit} {index}: {problem}; recomputing it", file=sys.stderr)
        integrity.clear_flags(path, units, sorted(damaged))
        yield Opened(identity, resumed, done)
