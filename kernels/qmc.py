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

import sys
import threading
from pathlib import Path

import numpy as np

from reesens.kernels.accelerate import jit

BITS = 30  # scipy's default: points [0, 2**30)
_LOADING = threading.Lock()  # one thread loads the routines; the others wait for them


def _scipy_sobol_routines():
    """scipy's compiled Sobol' routines (scipy.stats._sobol), loaded without importing
    scipy.stats itself (1-2 s of start-up for nothing else we need). Thread-safe: the
    module is in sys.modules before its direction numbers are set, so a second thread
    must not take it from there half-loaded."""
    with _LOADING:
        return _load_scipy_sobol()


def _load_scipy_sobol():
    import importlib.machinery
    import importlib.util

    name = "scipy.stats._sobol"
    if name in sys.modules:
        return sys.modules[name]
    stats_dir = Path(importlib.util.find_spec("scipy").submodule_search_locations[0], "stats")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if (stats_dir / f"_sobol{suffix}").is_file():
            spec = importlib.util.spec_from_file_location(name, stats_dir / f"_sobol{suffix}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            # its direction numbers, as its own loader reads them (that loader finds the
            # file through importlib.resources, which imports scipy.stats)
            numbers = np.load(stats_dir / "_sobol_direction_numbers.npz")
            module._poly_dict[np.uint32] = np.ascontiguousarray(numbers["poly"], np.uint32)
            module._vinit_dict[np.uint32] = np.ascontiguousarray(numbers["vinit"], np.uint32)
            sys.modules[name] = module
            return module
    raise ImportError(f"no compiled scipy.stats._sobol in {stats_dir}")


def sobol_state(d: int, *, seed, scramble: bool):
    """(direction numbers uint64 (d, BITS), shift uint64 (d,), scale) of the engine
    `scipy.stats.qmc.Sobol(d, scramble=scramble, seed=seed)` builds: its direction numbers,
    then its LMS scrambling and digital shift, drawn in its order from
    `numpy.random.default_rng(seed)` (tests check every value against scipy's engine)."""
    sobol = _scipy_sobol_routines()
    sv = np.zeros((d, BITS), dtype=np.uint32)
    sobol._initialize_v(sv, dim=d, bits=BITS)
    shift = np.zeros(d, dtype=np.uint32)
    if scramble:
        rng = np.random.default_rng(seed)
        shift = np.dot(rng.integers(2, size=(d, BITS), dtype=np.uint32),
                       2 ** np.arange(BITS, dtype=np.uint32))
        ltm = np.tril(rng.integers(2, size=(d, BITS, BITS), dtype=np.uint32))
        sobol._cscramble(dim=d, bits=BITS, ltm=ltm, sv=sv)
    return sv.astype(np.uint64), shift.astype(np.uint64), 1.0 / 2 ** BITS


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
