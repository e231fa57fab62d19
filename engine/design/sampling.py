"""Saltelli sample rows, block by block, identical to `SALib.sample.sobol.sample`.

The base sequence is scipy's (scrambled) Sobol' sequence in 2D dimensions, as SALib draws
it, generated at any offset by kernels.qmc (scipy's own points, without its O(offset)
fast_forward). Block b holds base points [b*m, (b+1)*m) for m = study.block_points, so any block can
be regenerated alone; its rows follow SALib's order per base point: A, AB_1..AB_D,
(BA_1..BA_D,) B. Concatenating the blocks gives SALib's matrix bit for bit. Rows are
mapped to the distributions by SALib's `scale_samples`, or, when every parameter is
uniform, by kernels.qmc's numba pass that computes the same values.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from reesens.kernels.qmc import sobol_points, sobol_state, uniform_saltelli_rows


def rows_per_point(D: int, second_order: bool) -> int:
    """Sample rows per base point: D + 2, or 2D + 2 with second-order indices."""
    return 2 * D + 2 if second_order else D + 2


def ab_rows(a: np.ndarray, k: int, axis: int = -1, out: np.ndarray | None = None
            ) -> np.ndarray:
    """The A and B rows of rows in Saltelli order along `axis` (k rows per base point:
    the first and the last), A and B interleaved per point; with `out` (axis -1 only,
    any dtype), written there (a block's counts gather each output's rows this way)."""
    if axis not in (-1, a.ndim - 1):
        return np.moveaxis(ab_rows(np.moveaxis(a, axis, -1), k), -1, axis)
    if out is None:
        out = np.empty((*a.shape[:-1], 2 * (a.shape[-1] // k)), dtype=a.dtype)
    out[..., 0::2], out[..., 1::2] = a[..., 0::k], a[..., k - 1::k]
    return out


def unit_block(D: int, start: int, points: int, *, seed: int, scramble: bool,
               second_order: bool, groups=None) -> np.ndarray:
    """Saltelli rows in the unit cube for base points [start, start + points); with
    `groups` (each parameter's group name, SALib's problem["groups"]), one AB row per
    group, with all its parameters' columns from B, in SALib's group order.

    Returns float64 (points * rows_per_point(G, second_order), D), G the groups (or D).
    """
    base = sobol_points(sobol_engine_state(2 * D, seed, scramble), start, points)
    a, b = base[:, :D], base[:, D:]
    names = list(dict.fromkeys(groups)) if groups is not None else range(D)
    member = np.array([[(groups[j] == g) if groups is not None else j == g
                        for j in range(D)] for g in names])  # (G, D)
    G = len(names)
    k = rows_per_point(G, second_order)
    rows = np.empty((points, k, D))
    rows[:, 0] = a
    rows[:, 1:G + 1] = np.where(member, b[:, None, :], a[:, None, :])  # AB_g
    if second_order:
        rows[:, G + 1:2 * G + 1] = np.where(member, a[:, None, :], b[:, None, :])  # BA_g
    rows[:, k - 1] = b
    return rows.reshape(points * k, D)


def scrambling_seed(seed: int, replicate: int) -> int:
    """The Sobol' scrambling seed of independent replicate `replicate` of a design seeded
    `seed` (intervals = "replicates"): replicate 0 is the design itself, the others are
    drawn from numpy's SeedSequence keyed by (seed, replicate), in [1, 2^63)."""
    if replicate == 0:
        return seed
    state = np.random.SeedSequence([seed, replicate]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1)) or 1


@lru_cache(maxsize=8)
def sobol_engine_state(d: int, seed: int, scramble: bool):
    return sobol_state(d, seed=seed, scramble=scramble)


def salib_problem(names, sampled, groups=None) -> dict:
    """SALib problem dict for the parameters `names`, in order; sampled: {name:
    Distribution}; groups: each parameter's group name, or None."""
    problem = {"num_vars": len(names), "names": list(names),
               "bounds": [list(sampled[n].bounds) for n in names],
               "dists": [sampled[n].dist for n in names]}
    if groups is not None:
        problem["groups"] = list(groups)
    return problem


def scale(unit_rows: np.ndarray, problem: dict) -> np.ndarray:
    """Map unit-cube rows to the problem's distributions with SALib's own transform."""
    from SALib.util import scale_samples  # scipy.stats: import only to use

    return scale_samples(unit_rows.copy(), dict(problem))


def scaled_block(names, sampled, start: int, points: int, *, seed: int, scramble: bool,
                 second_order: bool, groups=None) -> np.ndarray:
    """Saltelli rows for base points [start, start + points) mapped to the distributions
    `sampled` {name: Distribution} of the parameters `names` (grouped by `groups`, see
    unit_block): float64 (rows, D), bit for bit SALib's. All-uniform parameters without
    groups take one numba pass without the GIL (kernels.qmc); anything else goes through
    SALib's `scale_samples`."""
    if groups is None and all(sampled[n].dist == "unif" for n in names):
        base = sobol_points(sobol_engine_state(2 * len(names), seed, scramble), start, points)
        return uniform_saltelli_rows(base, [sampled[n].bounds[0] for n in names],
                                     [sampled[n].bounds[1] for n in names], second_order)
    unit = unit_block(len(names), start, points, seed=seed, scramble=scramble,
                      second_order=second_order, groups=groups)
    return scale(unit, salib_problem(names, sampled))
