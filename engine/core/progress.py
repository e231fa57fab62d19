"""Progress of a long step: a tqdm bar on a terminal, "unit k/n" lines otherwise."""
from __future__ import annotations

import sys


class Progress:
    """Finished units (blocks, grid chunks) out of `total`: tqdm on a terminal, "block k/n"
    lines otherwise."""

    def __init__(self, total: int, enabled: bool, done: int = 0, unit: str = "block"):
        self.total, self.done, self.enabled, self.bar = total, done, enabled, None
        self.unit = unit
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=done, unit=unit, desc=f"{unit}s",
                            file=sys.stderr)

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled:
            print(f"{self.unit} {self.done}/{self.total}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
