"""Streaming sufficient statistics of Saltelli designs: one pass per block, merged exactly.

A block holds `points` base points of a Saltelli design, k = D + 2 (or 2D + 2 with
second order) output rows per point in SALib's order A, AB_1..AB_D, (BA_1..BA_D,) B.
Per output series and point, the kernel forms the feature vector f below; per block it
returns the feature means, the centred co-moment sums sum_i (f_i - mean)_q (f_i - mean)_r
for the feature pairs (q, r) the estimators use (two passes over the block, so no
cancellation), and the count, mean, M2, min and max of all non-NaN rows. Blocks then
merge with Chan et al.'s pairwise update, exact in exact arithmetic and numerically
careful in floating point.

Features (in this order), a = A, b = B, d_j = AB_j - A, y_j = BA_j:
    core: a, b, a^2, b^2;  mid: d_j, b d_j (D each) and with second order y_j (D),
    then w_jk = y_j (d_k + a) - a b (j < k, SALib's pair order);  last: d_j^2 (D).
The point estimates need means and co-moments of a, b, d_j, y_j; the products are there
for the delta-method variances (methods.sobol.streaming). Those only ever pair a core feature
with any feature, a mid feature with a mid feature or a w, and a feature with itself, so
only these pairs are accumulated (Features.pairs): 628 of the 946 pairs for D = 6.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from reesens.kernels.accelerate import jit

# Bump when the features, the accumulated pairs or a summation order change: a store's
# blocks are only resumed by code that computes them the same way.
STATISTICS_VERSION = 2


class Features:
    """Index layout of the feature vector for D parameters, and the accumulated pairs."""

    def __init__(self, D: int, second_order: bool):
        self.D, self.second_order = D, second_order
        self.a, self.b, self.a2, self.b2 = range(4)
        self.param_pairs = ([(j, k) for j in range(D) for k in range(j + 1, D)]
                            if second_order else [])
        self.mid_rows = 4 + (3 if second_order else 2) * D  # mid features: [4, mid_rows)
        self.mid_end = self.mid_rows + len(self.param_pairs)  # ... and the w: [.., mid_end)
        self.size = self.mid_end + D
        pairs = [(q, r) for q in range(4) for r in range(q, self.size)]
        pairs += [(q, r) for q in range(4, self.mid_rows) for r in range(q, self.mid_end)]
        pairs += [(q, q) for q in range(self.mid_rows, self.size)]
        self.pairs = np.array(pairs, dtype=np.int64).T  # (2, pairs): q <= r
        # the point estimates alone need the means of a, b, d_j (and y_j) and these of
        # their co-moments; the bootstrap (kernels.bootstrap) accumulates only them
        self.base = np.array([self.a, self.b, *range(4, 4 + D),
                              *(range(4 + 2 * D, 4 + 3 * D) if second_order else ())])
        position = {f: i for i, f in enumerate(self.base)}  # layout index -> in base
        a, b = self.a, self.b
        base_pairs = [(a, a), (b, b), (a, b)]
        base_pairs += [(b, self.d(j)) for j in range(D)] + [(self.d(j),) * 2 for j in range(D)]
        if second_order:
            base_pairs += [(a, self.y(j)) for j in range(D)]
            base_pairs += [(self.y(j), self.d(k)) for j, k in self.param_pairs]
        self.base_pairs = np.array([[position[q] for q, _ in base_pairs],
                                    [position[r] for _, r in base_pairs]], dtype=np.int64)

    def d(self, j):
        return 4 + j

    def bd(self, j):
        return 4 + self.D + j

    def y(self, j):
        return 4 + 2 * self.D + j

    def w(self, j, k):
        return self.mid_rows + self.param_pairs.index((j, k))

    def d2(self, j):
        return self.mid_end + j

    @property
    def n_pairs(self) -> int:
        return self.pairs.shape[1]


layout = lru_cache(maxsize=16)(Features)  # built once per (D, second_order): ~0.2 ms


@jit
def _features(y, D, second_order, f):
    """The feature vector f (F,) of one base point's rows y (k,)."""
    a, b = y[0], y[y.shape[0] - 1]
    f[0], f[1], f[2], f[3] = a, b, a * a, b * b
    last = f.shape[0] - D
    for j in range(D):
        d = y[1 + j] - a
        f[4 + j] = d
        f[4 + D + j] = b * d
        f[last + j] = d * d
    if second_order:
        p = 4 + 3 * D
        for j in range(D):
            yj = y[1 + D + j]
            f[4 + 2 * D + j] = yj
            for kk in range(j + 1, D):
                f[p] = yj * (f[4 + kk] + a) - a * b
                p += 1


@jit
def _row_stats(y, lanes, out):
    """Count, mean, M2, min and max of the non-NaN values of y (points, k) into out (5,).

    Each of the k row positions accumulates in its own lane of `lanes` (4, k): k short
    independent sums instead of one long chain. The lanes are then combined in order, a
    fixed summation order for a fixed block.
    """
    points, k = y.shape
    count, total, lo, hi = lanes[0], lanes[1], lanes[2], lanes[3]
    count[:], total[:], lo[:], hi[:] = 0.0, 0.0, np.inf, -np.inf
    for i in range(points):
        for r in range(k):
            v = y[i, r]
            ok = v == v
            count[r] += 1.0 if ok else 0.0
            total[r] += v if ok else 0.0
            lo[r] = v if ok and v < lo[r] else lo[r]
            hi[r] = v if ok and v > hi[r] else hi[r]
    n, s, mn, mx = 0.0, 0.0, np.inf, -np.inf
    for r in range(k):
        n += count[r]
        s += total[r]
        mn = min(mn, lo[r])
        mx = max(mx, hi[r])
    m = s / n if n else np.nan
    m2 = lanes[0]  # the counts are summed: their lane is free
    m2[:] = 0.0
    for i in range(points):
        for r in range(k):
            v = y[i, r]
            m2[r] += (v - m) * (v - m) if v == v else 0.0
    s2 = 0.0
    for r in range(k):
        s2 += m2[r]
    out[0], out[1], out[2], out[3], out[4] = n, m, s2, mn, mx


@jit
def _block_moments(Y, D, k, second_order, mid_rows, mid_end, pairs, mean, comoment, rows):
    points = Y.shape[1] // k
    F = mean.shape[1]
    P = 8  # centred points added per sweep over the accumulators (written out below)
    feats = np.empty((points, F))
    g = np.empty((P, F))
    acc = np.zeros((F, F))
    diag = np.zeros(F)
    lanes = np.empty((4, k))
    for s in range(Y.shape[0]):
        y = Y[s].reshape(points, k)
        _row_stats(y, lanes, rows[s])
        if rows[s, 0] == points * k and rows[s, 3] == rows[s, 4]:
            # constant (e.g. a code that never occurs): one point's features, no spread
            _features(y[0], D, second_order, mean[s])
            comoment[s] = 0.0
            continue
        mean[s] = 0.0
        for i in range(points):
            _features(y[i], D, second_order, feats[i])
            for q in range(F):
                mean[s, q] += feats[i, q]
        for q in range(F):
            mean[s, q] /= points
        acc[:] = 0.0
        diag[:] = 0.0
        for i0 in range(0, points, P):
            # P points per sweep over the accumulators: each sum still adds its products
            # point after point, in order
            for t in range(P):
                if i0 + t < points:
                    for q in range(F):
                        g[t, q] = feats[i0 + t, q] - mean[s, q]
                else:
                    g[t, :] = 0.0
            for q in range(mid_rows):
                # core rows against every feature, mid rows against mid features and w
                last = F if q < 4 else mid_end
                row = acc[q]
                g0, g1, g2, g3 = g[0, q], g[1, q], g[2, q], g[3, q]
                g4, g5, g6, g7 = g[4, q], g[5, q], g[6, q], g[7, q]
                for r in range(last):
                    row[r] = (((((((row[r] + g0 * g[0, r]) + g1 * g[1, r]) + g2 * g[2, r])
                                 + g3 * g[3, r]) + g4 * g[4, r]) + g5 * g[5, r]) + g6 * g[6, r]
                              ) + g7 * g[7, r]
            for r in range(F):
                diag[r] = (((((((diag[r] + g[0, r] * g[0, r]) + g[1, r] * g[1, r])
                               + g[2, r] * g[2, r]) + g[3, r] * g[3, r]) + g[4, r] * g[4, r])
                            + g[5, r] * g[5, r]) + g[6, r] * g[6, r]) + g[7, r] * g[7, r]
        for p in range(pairs.shape[1]):
            q, r = pairs[0, p], pairs[1, p]
            comoment[s, p] = acc[q, r] if q < mid_rows else diag[q]


def block_moments(Y: np.ndarray, D: int, second_order: bool):
    """Statistics of one block for S output series.

    Y: float64 (S, points * k), each series in Saltelli row order. Returns
    (mean (S, F), comoment (S, pairs) centred co-moment sums of Features.pairs, rows
    (S, 5) with the non-NaN row count, their mean, M2, min and max);
    F = Features(D, second_order).size.
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    k = 2 * D + 2 if second_order else D + 2
    if Y.ndim != 2 or Y.shape[1] % k:
        raise ValueError(f"block_moments: Y must be (series, points * {k}), got {Y.shape}")
    ft = layout(D, second_order)
    S = Y.shape[0]
    mean, comoment, rows = np.empty((S, ft.size)), np.empty((S, ft.n_pairs)), np.empty((S, 5))
    _block_moments(Y, D, k, second_order, ft.mid_rows, ft.mid_end, ft.pairs, mean, comoment,
                   rows)
    return mean, comoment, rows
