"""Streaming statistics of Saltelli designs: sums per block, merged exactly.

A block holds base points of a Saltelli design, k = G + 2 (or 2G + 2 with second order)
output rows per point in SALib's order A, AB_1..AB_G, (BA_1..BA_G,) B, for G parameters
(or groups). Per output series, the estimators read the means of the base features

    a = A, b = B, d_j = AB_j - A, (y_j = BA_j)

and the centred co-moments of the base pairs (a, a), (b, b), (a, b), (b, d_j), (d_j, d_j)
(and (a, y_j), (y_j, d_k) for j < k): `Features.base` and `Features.base_pairs`. The
`Accumulator` adds a block's points a batch of BATCH points at a time, one series after
another (`add_batch`: the series' rows of the batch contiguous, the features formed once
in place, every sum a vectorised loop over one or two arrays), shifted by each series'
first value in the block so that the sums do not cancel; `finish` turns the sums into
means and co-moments, and the count, mean and M2 of all non-NaN rows (M2 = 0: a
constant series). Blocks then merge with Chan et al.'s
pairwise update (methods.sobol.streaming).

The delta-method intervals need the covariance of every feature below, not only the
base pairs': they are taken on a fixed subsample of the base points, the first
SUBSAMPLE_FIRST and then those whose index n has n % SUBSAMPLE_EVERY < SUBSAMPLE_RUN (runs
of consecutive Sobol' points, each run a net of its own), by `block_moments`, two passes
over the subsample's rows:
    core: a, b, a^2, b^2;  mid: d_j, b d_j (G each) and with second order y_j (G),
    then w_jk = y_j (d_k + a) - a b (j < k, SALib's pair order);  last: d_j^2 (G).
Those variances only ever pair a core feature with any feature, a mid feature with a mid
feature or a w, and a feature with itself, so only these pairs are accumulated
(Features.pairs): 628 of the 946 pairs for G = 6.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from reesens.kernels.accelerate import jit, jit_sums

# Bump when the features, the accumulated pairs or a summation order change: a store's
# blocks are only resumed by code that computes them the same way.
STATISTICS_VERSION = 4
TINIEST = 5e-324  # the smallest positive (subnormal) float64
# the delta method's co-moment subsample: base points n < SUBSAMPLE_FIRST, then those with
# n % SUBSAMPLE_EVERY < SUBSAMPLE_RUN (a thirty-second of them: at most half the model's
# cost per row)
SUBSAMPLE_FIRST, SUBSAMPLE_EVERY, SUBSAMPLE_RUN = 4096, 2048, 64


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


def base_sizes(G: int, second_order: bool) -> tuple[int, int]:
    """(base features, base pairs) for G parameters or groups."""
    if second_order:
        return 2 + 2 * G, 3 + 3 * G + G * (G - 1) // 2
    return 2 + G, 3 + 2 * G


def subsample_points(start: int, points: int) -> int:
    """How many of base points [start, start + points) the delta method's subsample holds."""
    def runs(n):  # points among [0, n) within SUBSAMPLE_RUN of a multiple of EVERY
        return n // SUBSAMPLE_EVERY * SUBSAMPLE_RUN + min(n % SUBSAMPLE_EVERY, SUBSAMPLE_RUN)

    def below(n):  # subsample points among [0, n): all the first, then the runs past them
        return min(n, SUBSAMPLE_FIRST) + max(0, runs(n) - runs(SUBSAMPLE_FIRST))
    return below(start + points) - below(start)


@jit
def in_subsample(n):
    """Whether base point n is in the delta method's subsample."""
    return n < SUBSAMPLE_FIRST or n % SUBSAMPLE_EVERY < SUBSAMPLE_RUN


class Accumulator:
    """The running sums of one block for CS series (every case's series side by side).

    arrays: K (CS,) each series' shift (its first non-NaN value in the block's first
    point), count (1,) base points added, sums (NB + NP, CS) shifted sums of the base
    features then of the base pairs' products, rstats (3, CS) non-NaN rows' count,
    shifted sum and sum of squares; sub (SP, k, CS) the subsample's rows (delta: SP = its
    points in the block, else 0) and sub_count (1,).
    """

    def __init__(self, CS: int, G: int, second_order: bool, start: int, points: int,
                 delta: bool):
        k = 2 * G + 2 if second_order else G + 2
        nb, npairs = base_sizes(G, second_order)
        self.G, self.second_order, self.delta = G, second_order, delta
        sub = subsample_points(start, points) if delta else 0
        self.arrays = (np.zeros(CS), np.zeros(1, np.int64), np.zeros((nb + npairs, CS)),
                       np.zeros((3, CS)), np.empty((sub, k, CS)),
                       np.zeros(1, np.int64))

    def add_series(self, Y: np.ndarray, first_point: int) -> None:
        """Add rows Y (CS, points * k) of base points [first_point, ...), in order. The
        points start a batch (BATCH points from the block's first), as the fused path's."""
        _add_series(np.ascontiguousarray(Y, dtype=np.float64), np.int64(first_point),
                    self.G, self.second_order, self.delta, *self.arrays)

    @property
    def subsampled(self) -> int:
        """Base points in the delta method's subsample so far."""
        return int(self.arrays[-1][0])

    def finish(self):
        """(base mean (CS, NB), base comoment (CS, NP), rows (CS, 3)) and, with delta,
        (mean (CS, F), comoment (CS, pairs)) of the subsample's features (None without)."""
        K, count, sums, rstats, sub, sub_count = self.arrays
        CS = K.shape[0]
        nb, npairs = base_sizes(self.G, self.second_order)
        mean, comoment, rows = np.empty((CS, nb)), np.empty((CS, npairs)), np.empty((CS, 3))
        _finish(K, count[0], sums, rstats, self.G, self.second_order, mean, comoment, rows)
        delta = None
        if self.delta:
            m = int(sub_count[0])
            Y = sub[:m].transpose(2, 0, 1).reshape(CS, -1)
            ft = layout(self.G, self.second_order)
            # no subsample point in the block: zeros, which merge as nothing (not 0/0)
            delta = block_moments(Y, self.G, self.second_order)[:2] if m else (
                np.zeros((CS, ft.size)), np.zeros((CS, ft.n_pairs)))
        return mean, comoment, rows, delta


BATCH = 64  # base points added together: a series' rows of a batch are contiguous


@jit
def add_batch(w, s, m, n, G, second_order, delta, K, count, sums, rstats, sub, sub_count):
    """Add series s's rows w (k, >= m) of base points [n, n + m) (global indices):
    w[r, i] is row r (Saltelli order) of point n + i. Every series of a batch is added
    in turn, from s = 0; the batches in order."""
    k = w.shape[0]
    if s == 0:
        count[0] += m
    if count[0] == m:  # the block's first batch: the series' shift
        K[s] = 0.0
        for r in range(k - 1, -1, -1):
            K[s] = w[r, 0] if w[r, 0] == w[r, 0] else K[s]
    if delta:
        first = sub_count[0] - (_subsample_in(n, m) if s > 0 else 0)
        for i in range(m):
            if in_subsample(n + i):
                for r in range(k):
                    sub[first, r, s] = w[r, i]
                first += 1
        if s == 0:
            sub_count[0] = first
    _row_sums(w, m, K[s], rstats[:, s])
    _feature_sums(w, m, K[s], G, second_order, sums[:, s])


@jit
def _subsample_in(n, m):
    """How many of base points [n, n + m) the subsample holds."""
    c = 0
    for i in range(m):
        c += 1 if in_subsample(n + i) else 0
    return c


@jit_sums
def _row_sums(w, m, shift, out):
    """out (3,) += non-NaN count, shifted sum and sum of squares of the rows w (k, >= m)
    of m points. The sum of squares is 0 only where every non-NaN row equals the shift
    (a constant series; x * x is 0 only for x = 0 or |x| < 1.5e-162)."""
    k = w.shape[0]
    s1, s2 = 0.0, 0.0
    for r in range(k):
        for i in range(m):
            x = w[r, i] - shift
            s1 += x
            s2 += x * x
    c = float(k * m)
    if s1 != s1 or s2 != s2:  # a NaN row (or +inf and -inf): again, without the NaN rows
        c, s1, s2 = 0.0, 0.0, 0.0
        for r in range(k):
            for i in range(m):
                v = w[r, i]
                ok = v == v
                x = v - shift if ok else 0.0
                c += 1.0 if ok else 0.0
                s1 += x
                s2 += x * x
    out[0] += c
    out[1] += s1
    out[2] += s2


@jit_sums
def _feature_sums(w, m, shift, G, second_order, out):
    """out (NB + NP,) += the shifted sums of the base features and pair products of the
    rows w (k, >= m) of m points (layout: Accumulator.sums). Overwrites w's first m
    columns with the features: a and b (A and B shifted), d_j = AB_j - A, y_j = BA_j
    shifted, so that each sum below reads one or two contiguous arrays."""
    k = w.shape[0]
    nb = 2 + 2 * G if second_order else 2 + G
    A, B = w[0], w[k - 1]
    for j in range(G):
        AB = w[1 + j]
        for i in range(m):
            AB[i] = AB[i] - A[i]
    for r in range(1 + G, k):  # BA_j (second order) and B
        Y = w[r]
        for i in range(m):
            Y[i] = Y[i] - shift
    for i in range(m):
        A[i] = A[i] - shift
    sa, sb, saa, sbb, sab = 0.0, 0.0, 0.0, 0.0, 0.0
    for i in range(m):
        a, b = A[i], B[i]
        sa += a
        sb += b
        saa += a * a
        sbb += b * b
        sab += a * b
    out[0] += sa
    out[1] += sb
    out[nb] += saa
    out[nb + 1] += sbb
    out[nb + 2] += sab
    for j in range(G):
        D = w[1 + j]
        sd, sbd, sdd = 0.0, 0.0, 0.0
        for i in range(m):
            d = D[i]
            sd += d
            sbd += B[i] * d
            sdd += d * d
        out[2 + j] += sd
        out[nb + 3 + j] += sbd
        out[nb + 3 + G + j] += sdd
    if second_order:
        p = nb + 3 + 3 * G
        for j in range(G):
            Y = w[1 + G + j]
            sy, say = 0.0, 0.0
            for i in range(m):
                sy += Y[i]
                say += A[i] * Y[i]
            out[2 + G + j] += sy
            out[nb + 3 + 2 * G + j] += say
            for kk in range(j + 1, G):
                D = w[1 + kk]
                syd = 0.0
                for i in range(m):
                    syd += Y[i] * D[i]
                out[p] += syd
                p += 1


@jit
def _add_series(Y, first_point, G, second_order, delta, K, count, sums, rstats, sub,
                sub_count):
    CS = Y.shape[0]
    k = 2 * G + 2 if second_order else G + 2
    points = Y.shape[1] // k
    w = np.empty((k, BATCH))
    for i0 in range(0, points, BATCH):
        m = min(BATCH, points - i0)
        for s in range(CS):
            for i in range(m):
                for r in range(k):
                    w[r, i] = Y[s, (i0 + i) * k + r]
            add_batch(w, s, m, first_point + i0, G, second_order, delta, K, count, sums,
                      rstats, sub, sub_count)


@jit
def _finish(K, n, sums, rstats, G, second_order, mean, comoment, rows):
    """Means and centred co-moments of the base features, and row statistics, from the
    shifted sums of n base points."""
    CS = K.shape[0]
    nb = mean.shape[1]
    for s in range(CS):
        for q in range(nb):
            # a, b and the y_j are shifted by K; the d_j are differences, unshifted
            shifted = q < 2 or q >= 2 + G
            mean[s, q] = sums[q, s] / n + (K[s] if shifted else 0.0)
        p = 0
        for q, r in ((0, 0), (1, 1), (0, 1)):
            comoment[s, p] = sums[nb + p, s] - sums[q, s] * sums[r, s] / n
            p += 1
        for j in range(G):
            comoment[s, p] = sums[nb + p, s] - sums[1, s] * sums[2 + j, s] / n
            p += 1
        for j in range(G):
            comoment[s, p] = sums[nb + p, s] - sums[2 + j, s] * sums[2 + j, s] / n
            p += 1
        if second_order:
            for j in range(G):
                comoment[s, p] = sums[nb + p, s] - sums[0, s] * sums[2 + G + j, s] / n
                p += 1
            for j in range(G):
                for kk in range(j + 1, G):
                    comoment[s, p] = sums[nb + p, s] - sums[2 + G + j, s] * sums[2 + kk, s] / n
                    p += 1
        for p in (0, 1):  # (a, a), (b, b): no rounding below zero
            comoment[s, p] = max(comoment[s, p], 0.0)
        for j in range(G):  # (d_j, d_j)
            comoment[s, 3 + G + j] = max(comoment[s, 3 + G + j], 0.0)
        c = rstats[0, s]
        rows[s, 0] = c
        rows[s, 1] = K[s] + rstats[1, s] / c if c > 0 else np.nan
        rows[s, 2] = max(rstats[2, s] - rstats[1, s] * rstats[1, s] / c, 0.0) if c > 0 else 0.0
        # rows that differ (a nonzero shifted sum) whose squares underflowed: M2 is the
        # smallest positive float, not 0, so that 0 means a constant series
        rows[s, 2] = TINIEST if (rows[s, 2] == 0.0) & (rstats[1, s] != 0.0) else rows[s, 2]
