"""Grid chunks in one nogil numba call: the cells of a chunk, generated in C order from the
swept axes' values, through the model's scalar row function (kernels.fused.call_row,
inlined), with only the outputs asked for written, each into its typed array; and the
counts of a chunk's codes.

Which outputs a kernel writes is part of its numba type (`Picks`), so the outputs not
written are never computed (LLVM drops them) and the kernel is compiled and cached per
model and per choice of outputs.
"""
from __future__ import annotations

import numpy as np
from numba.extending import overload

from reesens.kernels.accelerate import jit
from reesens.kernels.fused import call_row, keyed_type

BATCH = 1024  # parameter rows built, then evaluated, at a time


class Picks:
    """The outputs a grid kernel writes: `indices` into the row function's tuple."""

    def __init__(self, indices):
        self.indices = tuple(int(i) for i in indices)


# one type (and one compiled kernel) per choice of outputs
PicksType = keyed_type(Picks, "Picks", lambda value: value.indices)


def write_picked(values, picks, outs, i):
    """outs[k][i] = values[picks.indices[k]] for each picked output k."""
    for k, o in enumerate(picks.indices):
        outs[k][i] = values[o]


@overload(write_picked)
def _write_picked(values, picks, outs, i):
    if not isinstance(picks, PicksType):
        return None
    lines = "".join(f"    outs[{k}][i] = values[{o}]\n"
                    for k, o in enumerate(picks.value_key))
    namespace = {}
    exec(f"def impl(values, picks, outs, i):\n{lines or '    pass'}\n", namespace)
    return namespace["impl"]


@jit
def _chunk(row, picks, values, first, shape, columns, fixed, options, outs):
    """Evaluate the cells of a chunk (C order over its axes) into outs.

    values float64: each swept axis's grid values, concatenated; first int64 (axes,): the
    position in `values` of the chunk's first value on each axis; shape int64 (axes,):
    the chunk's extent on each axis; columns int64 (axes,): each axis's column of the
    parameter rows; fixed float64 (P,): every parameter's value off the swept axes;
    options int64: the positions of the option values; outs: the picked outputs, each
    1-D (cells,) of its own dtype.
    """
    n_axes = shape.shape[0]
    last = n_axes - 1
    cells = 1
    for k in range(n_axes):
        cells *= shape[k]
    params = np.empty((fixed.shape[0], BATCH)).T  # Fortran order: each parameter contiguous
    for j in range(fixed.shape[0]):
        params[:, j] = fixed[j]
    index = np.zeros(n_axes, dtype=np.int64)  # the next cell's position on each axis
    done = 0
    while done < cells:
        n = 0
        while n < BATCH and done + n < cells:  # runs of the last axis, whole or in part
            take = min(shape[last] - index[last], BATCH - n)
            for k in range(last):
                params[n:n + take, columns[k]] = values[first[k] + index[k]]
            start = first[last] + index[last]
            params[n:n + take, columns[last]] = values[start:start + take]
            n += take
            index[last] += take
            k = last
            while k > 0 and index[k] == shape[k]:
                index[k] = 0
                index[k - 1] += 1
                k -= 1
        for i in range(n):  # one flat loop: LLVM vectorises it
            write_picked(call_row(row, params, i, options), picks, outs, done + i)
        done += n


def evaluate_chunk(row, picks: Picks, axes, region, columns, fixed, options, outs) -> None:
    """Fill `outs` (the picked outputs, each (cells,) of its dtype) with the cells of the
    region `region` (a slice per axis) of the grid over `axes` (each swept parameter's
    1-D float64 values); columns, fixed, options: as `_chunk` takes them."""
    values = np.concatenate([np.asarray(a, dtype=np.float64) for a in axes])
    offsets = np.cumsum([0] + [len(a) for a in axes[:-1]])
    first = np.array([o + s.start for o, s in zip(offsets, region)], dtype=np.int64)
    shape = np.array([s.stop - s.start for s in region], dtype=np.int64)
    _chunk(row, picks, values, first, shape, np.asarray(columns, dtype=np.int64),
           np.asarray(fixed, dtype=np.float64), np.asarray(options, dtype=np.int64),
           tuple(outs))


@jit
def _add_index(codes, low, span, index, first) -> bool:
    """index[i] = index[i] * span + codes[i] - low (index[i] = codes[i] - low when
    `first`); False when a code is outside [low, low + span)."""
    inside = True
    for i in range(codes.shape[0]):
        c = np.int64(codes[i]) - low
        inside &= (c >= 0) & (c < span)
        index[i] = (0 if first else index[i] * span) + c
    return inside


@jit
def _tally(index, size):
    """int64 (size,): how many times each value of index occurs (four interleaved
    tallies, so that equal neighbours do not wait on each other)."""
    lanes = np.zeros((4, size), dtype=np.int64)
    n = index.shape[0] - index.shape[0] % 4
    for i in range(0, n, 4):
        lanes[0, index[i]] += 1
        lanes[1, index[i + 1]] += 1
        lanes[2, index[i + 2]] += 1
        lanes[3, index[i + 3]] += 1
    for i in range(n, index.shape[0]):
        lanes[0, index[i]] += 1
    return lanes.sum(axis=0)


def code_counts(arrays, flag_values) -> np.ndarray | None:
    """int64 (prod of len(flag_values[k]),): how many cells hold each combination of the
    codes of `arrays` (1-D integer arrays of one length), C order over the arrays' flag
    values; None when a cell holds a code that is not among its array's flag values."""
    index = np.empty(len(arrays[0]), dtype=np.int32)
    lows = [min(flags) for flags in flag_values]
    spans = [max(flags) - low + 1 for flags, low in zip(flag_values, lows)]
    for k, (a, low, span) in enumerate(zip(arrays, lows, spans)):
        if not _add_index(a, low, span, index, k == 0):
            return None
    dense = _tally(index, int(np.prod(spans))).reshape(spans)
    counts = dense[np.ix_(*(np.asarray(f) - low for f, low in zip(flag_values, lows)))]
    return counts.ravel() if counts.sum() == len(index) else None
