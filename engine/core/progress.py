"""Progress of a long step: a tqdm bar on a terminal, "unit k/n" lines otherwise (at
most LINES of them, so that a log of 4,800 grid chunks stays readable)."""
from __future__ import annotations

import sys

LINES = 100  # "unit k/n" lines at most, off a terminal: one per hundredth, and the last
# Ctrl-C's received (interrupt): one that Python swallowed, because it landed in a weakref
# callback or a __del__ ("Exception ignored in ..."), still stops the run at its next unit
INTERRUPTED: list[int] = []


def interrupt(signum, frame) -> None:
    """The command line's SIGINT handler: Python's own, remembered."""
    INTERRUPTED.append(signum)
    raise KeyboardInterrupt


class Progress:
    """Finished units (blocks, grid chunks) out of `total`: tqdm on a terminal, "block k/n"
    lines otherwise, one each time the count passes a further LINES-th of the total."""

    def __init__(self, total: int, enabled: bool, done: int = 0, unit: str = "block"):
        self.total, self.done, self.enabled, self.bar = total, done, enabled, None
        self.unit = unit
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=done, unit=unit, desc=f"{unit}s",
                            file=sys.stderr)

    def advance(self, n: int) -> None:
        if INTERRUPTED:
            raise KeyboardInterrupt
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and (self.done * LINES // max(self.total, 1)
                               > (self.done - n) * LINES // max(self.total, 1)
                               or self.done >= self.total):
            print(f"{self.unit} {self.done}/{self.total}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
