"""Streaming sufficient statistics of Saltelli designs: one pass per block, merged exactly.

A block holds `points` base points of a Saltelli design, k = D + 2 (or 2D + 2 with
second order) output rows per point in SALib's order A, AB_1..AB_D, (BA_1..BA_D,) B.
Per output series and point, the kernel forms the feature vector f below; per block it
returns the feature means and the centred co-moment sums sum_i (f_i - mean)(f_i - mean)^T
(two passes over the block, so no cancellation), and the mean, M2, min and max of all
rows. Blocks then merge with Chan et al.'s pairwise update, which is exact in exact
arithmetic and numerically careful in floating point.

Features (index: meaning), a = A, b = B, d_j = AB_j - A, y_j = BA_j:
    0 a, 1 b, 2 s (mean of the point's k rows), 3 a^2, 4 b^2,
    d_j, b d_j, d_j^2 (D each), and with second order y_j (D) and
    w_jk = y_j (d_k + a) - a b for j < k in SALib's pair order.
The point estimates need only means and co-moments of a, b, d_j, y_j; the products are
there for the delta-method variances.
"""
from __future__ import annotations

import numpy as np

from kernels.accelerate import jit


class Features:
    """Index layout of the feature vector for D parameters."""

    def __init__(self, D: int, second_order: bool):
        self.D, self.second_order = D, second_order
        self.a, self.b, self.s, self.a2, self.b2 = range(5)
        self.pairs = [(j, k) for j in range(D) for k in range(j + 1, D)] if second_order else []
        self.size = 5 + 3 * D + ((D + len(self.pairs)) if second_order else 0)

    def d(self, j):
        return 5 + j

    def bd(self, j):
        return 5 + self.D + j

    def d2(self, j):
        return 5 + 2 * self.D + j

    def y(self, j):
        return 5 + 3 * self.D + j

    def w(self, j, k):
        return 5 + 4 * self.D + self.pairs.index((j, k))

    @property
    def packed(self) -> int:
        """Length of a packed upper triangle (np.triu_indices order)."""
        return self.size * (self.size + 1) // 2


@jit
def _features(y, base, D, k, second_order, f):
    a, b = y[base], y[base + k - 1]
    total = 0.0
    for r in range(k):
        total += y[base + r]
    f[0], f[1], f[2], f[3], f[4] = a, b, total / k, a * a, b * b
    for j in range(D):
        d = y[base + 1 + j] - a
        f[5 + j] = d
        f[5 + D + j] = b * d
        f[5 + 2 * D + j] = d * d
    if second_order:
        p = 5 + 4 * D
        for j in range(D):
            yj = y[base + 1 + D + j]
            f[5 + 3 * D + j] = yj
            for kk in range(j + 1, D):
                f[p] = yj * (f[5 + kk] + a) - a * b
                p += 1


@jit
def _block_moments(Y, D, k, second_order, n_features, mean, comoment, rows):
    points = Y.shape[1] // k
    f = np.empty(n_features)
    g = np.empty((4, n_features))
    acc = np.empty((n_features, n_features))
    feats = np.empty((points, n_features))
    for s in range(Y.shape[0]):
        y = Y[s]
        # all rows: valid count, mean, M2, min, max (NaN rows excluded)
        n, total, lo, hi = 0, 0.0, np.inf, -np.inf
        for i in range(y.shape[0]):
            v = y[i]
            if v == v:
                n += 1
                total += v
                lo = min(lo, v)
                hi = max(hi, v)
        m = total / n if n else np.nan
        m2 = 0.0
        for i in range(y.shape[0]):
            v = y[i]
            if v == v:
                m2 += (v - m) * (v - m)
        rows[s, 0], rows[s, 1], rows[s, 2], rows[s, 3], rows[s, 4] = n, m, m2, lo, hi
        if n == y.shape[0] and lo == hi:  # constant (e.g. a code that never occurs)
            _features(y, 0, D, k, second_order, f)
            mean[s] = f
            comoment[s] = 0.0
            continue
        for i in range(n_features):
            mean[s, i] = 0.0
        for i in range(points):
            _features(y, i * k, D, k, second_order, feats[i])
            for q in range(n_features):
                mean[s, q] += feats[i, q]
        for q in range(n_features):
            mean[s, q] /= points
        acc[:] = 0.0
        for i0 in range(0, points, 4):
            # four points per sweep over acc: a quarter of the loads and stores, and the
            # same additions in the same order as one point at a time
            for t in range(4):
                if i0 + t < points:
                    for q in range(n_features):
                        g[t, q] = feats[i0 + t, q] - mean[s, q]
                else:
                    g[t, :] = 0.0
            for q in range(n_features):
                g0, g1, g2, g3 = g[0, q], g[1, q], g[2, q], g[3, q]
                row = acc[q]
                for r in range(n_features):
                    row[r] = (((row[r] + g0 * g[0, r]) + g1 * g[1, r]) + g2 * g[2, r]
                              ) + g3 * g[3, r]
        p = 0
        for q in range(n_features):
            for r in range(q, n_features):
                comoment[s, p] = acc[q, r]
                p += 1


def block_moments(Y: np.ndarray, D: int, second_order: bool):
    """Statistics of one block for S output series.

    Y: float64 (S, points * k), each series in Saltelli row order. Returns
    (mean (S, F), comoment (S, F(F+1)/2) packed upper triangle, rows (S, 5) with the
    non-NaN row count, their mean, M2, min and max); F = Features(D, second_order).size.
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    k = 2 * D + 2 if second_order else D + 2
    if Y.ndim != 2 or Y.shape[1] % k:
        raise ValueError(f"block_moments: Y must be (series, points * {k}), got {Y.shape}")
    feats = Features(D, second_order)
    S = Y.shape[0]
    mean, comoment = np.empty((S, feats.size)), np.empty((S, feats.packed))
    rows = np.empty((S, 5))
    _block_moments(Y, D, k, second_order, feats.size, mean, comoment, rows)
    return mean, comoment, rows
