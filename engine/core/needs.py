"""What a run needs of the machine: bytes of memory or disk, what would make them fewer,
and the costs of the steps every stage shares.

Seconds per unit of work, measured on a 2-core AMD EPYC VM (2026-12-03, other work
running beside), rounded up (the measurements in brackets)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Need:
    """Bytes of `resource` ("memory" or "disk") that `what` takes, driven by `field`;
    `fix` says which setting makes it smaller; memory is taken during `phase` ("design",
    "blocks" or "merge", one after the other; "": throughout)."""

    resource: str
    what: str
    bytes: int
    field: str
    fix: str
    phase: str = ""


BYTE_S = 2e-9  # a raw byte written: digested, compressed (1.3 + 0.12 ns), copied
READ_S = 10e-9  # a raw byte read back: decompressed, checked against its digest, summed
