"""Regions of chunked arrays: the cells of chunk k."""
from __future__ import annotations

import math

import numpy as np


def unit_region(shape, chunks, unit: int) -> tuple[slice, ...]:
    """The region of chunk number `unit` (C order over the chunk grid) of an array."""
    counts = [math.ceil(s / c) for s, c in zip(shape, chunks)]
    index = np.unravel_index(unit, counts)
    return tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunks, shape))
