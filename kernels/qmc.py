"""Scrambled Sobol' points at any offset, bit for bit the points of scipy.stats.qmc.Sobol.

scipy draws point n as (shift XOR the direction numbers of the set bits of gray(n)) *
2**-bits, walking the Gray code one point at a time; its `fast_forward` walks too, so
reaching point 2**26 costs 2**26 steps. Here a block jumps straight to its first point
(one XOR per set bit) and walks the Gray code from there, in numba and without the GIL.
The direction numbers and the shift are scipy's own, read from a scipy engine.
`uniform_saltelli_rows` lays those points out as SALib's Saltelli rows and scales them to
uniform ranges in the same pass.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from reesens.kernels.accelerate import jit


def sobol_state(d: int, *, seed: int, scramble: bool):
    """(direction numbers uint64 (d, bits), shift uint64 (d,), scale) of scipy's engine."""
    engine = qmc.Sobol(d=d, scramble=scramble, seed=seed)
    return (engine._sv.astype(np.uint64), engine._quasi.astype(np.uint64),
            float(engine._scale))


@jit
def _sobol_points(sv, shift, scale, start, out):
    d, bits = sv.shape
    quasi = shift.copy()
    gray = start ^ (start >> 1)
    for bit in range(bits):
        if (gray >> bit) & 1:
            for j in range(d):
                quasi[j] ^= sv[j, bit]
    for i in range(out.shape[0]):
        n = start + i
        if i > 0:  # point n follows point n-1 by flipping bit (lowest zero bit of n-1)
            prev, low = n - 1, 0
            while (prev >> low) & 1:
                low += 1
            for j in range(d):
                quasi[j] ^= sv[j, low]
        for j in range(d):
            out[i, j] = quasi[j] * scale


def sobol_points(state, start: int, n: int) -> np.ndarray:
    """float64 (n, d): points [start, start + n) of the sequence described by `state`."""
    sv, shift, scale = state
    if start < 0 or start + n > 2 ** sv.shape[1]:
        raise ValueError(f"sobol_points: points [{start}, {start + n}) outside "
                         f"[0, 2**{sv.shape[1]})")
    out = np.empty((n, sv.shape[0]))
    _sobol_points(sv, shift, scale, np.int64(start), out)
    return out


@jit
def _uniform_saltelli_rows(base, lower, width, second_order, out):
    D = lower.shape[0]
    k = 2 * D + 2 if second_order else D + 2
    for i in range(base.shape[0]):
        row = i * k
        for j in range(D):
            # SALib's scale_samples for "unif": u * (upper - lower) + lower
            a = base[i, j] * width[j] + lower[j]
            b = base[i, D + j] * width[j] + lower[j]
            out[row, j] = a
            out[row + k - 1, j] = b
            for r in range(D):
                out[row + 1 + r, j] = b if r == j else a
                if second_order:
                    out[row + 1 + D + r, j] = a if r == j else b


def uniform_saltelli_rows(base: np.ndarray, lower, upper, second_order: bool) -> np.ndarray:
    """SALib's Saltelli rows of uniform parameters, scaled: float64 (points * k, D).

    base: (points, 2D) Sobol' points [A | B]; per point the rows A, AB_1..AB_D,
    (BA_1..BA_D,) B (k of them), each value u * (upper - lower) + lower as SALib's
    `scale_samples` computes it, so bit for bit `scale_samples(unit rows)`.
    """
    lower = np.asarray(lower, dtype=np.float64)
    width = np.asarray(upper, dtype=np.float64) - lower
    D = lower.shape[0]
    if base.ndim != 2 or base.shape[1] != 2 * D:
        raise ValueError(f"uniform_saltelli_rows: base must be (points, {2 * D}), "
                         f"got {base.shape}")
    k = 2 * D + 2 if second_order else D + 2
    out = np.empty((base.shape[0] * k, D))
    _uniform_saltelli_rows(base, lower, width, second_order, out)
    return out
