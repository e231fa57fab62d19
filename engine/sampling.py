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


def unit_block(D: int, start: int, points: int, *, seed: int, scramble: bool,
               second_order: bool) -> np.ndarray:
    """Saltelli rows in the unit cube for base points [start, start + points).

    Returns float64 (points * rows_per_point(D, second_order), D).
    """
    base = sobol_points(_state(2 * D, seed, scramble), start, points)
    a, b = base[:, :D], base[:, D:]
    k = rows_per_point(D, second_order)
    rows = np.empty((points, k, D))
    rows[:, 0] = a
    rows[:, 1:D + 1] = a[:, None, :]
    idx = np.arange(D)
    rows[:, 1 + idx, idx] = b[:, idx]  # AB_j: A with column j from B
    if second_order:
        rows[:, D + 1:2 * D + 1] = b[:, None, :]
        rows[:, D + 1 + idx, idx] = a[:, idx]  # BA_j: B with column j from A
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
def _state(d: int, seed: int, scramble: bool):
    return sobol_state(d, seed=seed, scramble=scramble)


def salib_problem(names, sampled) -> dict:
    """SALib problem dict for the parameters `names`, in order; sampled: {name: Distribution}."""
    return {"num_vars": len(names), "names": list(names),
            "bounds": [list(sampled[n].bounds) for n in names],
            "dists": [sampled[n].dist for n in names]}


def scale(unit_rows: np.ndarray, problem: dict) -> np.ndarray:
    """Map unit-cube rows to the problem's distributions with SALib's own transform."""
    from SALib.util import scale_samples  # scipy.stats: import only to use

    return scale_samples(unit_rows.copy(), dict(problem))


def scaled_block(names, sampled, start: int, points: int, *, seed: int, scramble: bool,
                 second_order: bool) -> np.ndarray:
    """Saltelli rows for base points [start, start + points) mapped to the distributions
    `sampled` {name: Distribution} of the parameters `names`: float64 (rows, D), bit for
    bit SALib's. All-uniform parameters take one numba pass without the GIL
    (kernels.qmc); any other distribution goes through SALib's `scale_samples`."""
    if all(sampled[n].dist == "unif" for n in names):
        base = sobol_points(_state(2 * len(names), seed, scramble), start, points)
        return uniform_saltelli_rows(base, [sampled[n].bounds[0] for n in names],
                                     [sampled[n].bounds[1] for n in names], second_order)
    unit = unit_block(len(names), start, points, seed=seed, scramble=scramble,
                      second_order=second_order)
    return scale(unit, salib_problem(names, sampled))
