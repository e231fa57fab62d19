"""Per-slice counts and power sums of the A and B rows (methods.counts), for all the
outputs of one scenario in one pass: each row's slice of every parameter once, then each
output's count in its (slice, bin) and its power sums added as one contiguous vector."""
import numpy as np

from reesens.kernels.accelerate import jit

TILE = 256  # rows whose bins and powers are found before they are added


@jit
def ab_slices(x, k, slice_edges):
    """int64 (D, 2 * points): the slice of each parameter on the A and B rows (the first
    and last of each base point's k rows) of parameter rows x (rows, D), A and B
    interleaved per point; slice_edges (D, M - 1) inner edges, increasing (a value on an
    edge goes to the slice above). Each slice is guessed from the edges' span and moved
    to the edges' own verdict, so the result is np.searchsorted(edges, x, "right")."""
    points, D = x.shape[0] // k, x.shape[1]
    M = slice_edges.shape[1] + 1
    out = np.empty((D, 2 * points), dtype=np.int64)
    for j in range(D):
        edges = slice_edges[j]
        low, high = edges[0], edges[M - 2]
        span = (high - low) / (M - 2) if M > 2 else 1.0
        for point in range(points):
            for half in range(2):
                v = x[point * k + half * (k - 1), j]
                guess = (v - low) / span + 1.0 if M > 2 else 0.0
                m = 0 if not guess > 0 else (M - 1 if guess >= M - 1 else int(guess))
                while m > 0 and v < edges[m - 1]:
                    m -= 1
                while m < M - 1 and v >= edges[m]:
                    m += 1
                out[j, 2 * point + half] = m
    return out


@jit
def _bin(edges, v, half):
    """The bin of v: np.searchsorted(edges, v, "right") for inner edges (2 half - 1,),
    half a power of two <= 512, by a binary search unrolled to selects (a loop of
    data-dependent branches costs ten times as much)."""
    b = 0
    if half >= 512:
        b += 512 if v >= edges[b + 511] else 0
    if half >= 256:
        b += 256 if v >= edges[b + 255] else 0
    if half >= 128:
        b += 128 if v >= edges[b + 127] else 0
    if half >= 64:
        b += 64 if v >= edges[b + 63] else 0
    if half >= 32:
        b += 32 if v >= edges[b + 31] else 0
    if half >= 16:
        b += 16 if v >= edges[b + 15] else 0
    if half >= 8:
        b += 8 if v >= edges[b + 7] else 0
    if half >= 4:
        b += 4 if v >= edges[b + 3] else 0
    if half >= 2:
        b += 2 if v >= edges[b + 1] else 0
    return b + (1 if v >= edges[b] else 0)


@jit
def add_slice_counts(cut, Y, bin_edges, codes, n_codes, centre, scale, counts, sums):
    """Add the A and B rows of n outputs to counts and sums, in row order.

    cut (D, rows) the rows' slices (ab_slices); Y (n, rows) the outputs on them; per
    output: bin_edges (n, 2^L - 1) inner bin edges, increasing, +inf-padded (a value on
    an edge goes to the bin above); n_codes (n,) its number of codes, 0 for a continuous
    output; codes (n, K) a code output's categories in order; centre, scale (n,) the
    standardisation z = (y - centre) / scale of the power sums. A continuous output's
    non-finite values, and a code output's values not among its codes, are not counted.

    counts (n, D, M, W) int64: rows per (parameter, slice, bin or code); sums (D, M, n *
    4) float64: per slice, each continuous output's sums of z, z^2, z^3, z^4 (0 for
    code outputs).

    Rows go TILE at a time: their bins and powers first, then each (output, parameter)'s
    counts (one table, in L1, at a time), then each parameter's power sums as one
    contiguous vector per row.
    """
    n, rows = Y.shape
    D, F = cut.shape[0], n * 4
    half = (bin_edges.shape[1] + 1) >> 1
    bins = np.empty((n, TILE), dtype=np.int64)  # -1: not counted
    powers = np.empty((TILE, F))
    for start in range(0, rows, TILE):
        size = min(rows, start + TILE) - start
        for o in range(n):
            for t in range(size):
                v = Y[o, start + t]
                b = -1
                z = 0.0
                if n_codes[o]:
                    for c in range(n_codes[o]):
                        b = c if codes[o, c] == v else b
                elif np.isfinite(v):
                    b = _bin(bin_edges[o], v, half)
                    z = (v - centre[o]) / scale[o]
                bins[o, t] = b
                powers[t, 4 * o] = z
                powers[t, 4 * o + 1] = z * z
                powers[t, 4 * o + 2] = z * z * z
                powers[t, 4 * o + 3] = z * z * z * z
        for o in range(n):
            for j in range(D):
                table = counts[o, j]
                for t in range(size):
                    b = bins[o, t]
                    if b >= 0:
                        table[cut[j, start + t], b] += 1
        for j in range(D):
            for t in range(size):
                acc = sums[j, cut[j, start + t]]
                p = powers[t]
                for f in range(F):  # contiguous: vectorised
                    acc[f] += p[f]


@jit
def add_region_counts(cut, inside, counts):
    """Add the A and B rows of R regions to counts, in row order.

    cut (D, rows) the rows' slices (ab_slices); inside (R, rows) float64 1 where a row is
    in the region, 0 where it is not, NaN where that is undefined (not counted); counts
    (R, D, M, 2) int64: rows per (region, parameter, slice, outside 0 / inside 1)."""
    R, rows = inside.shape
    D = cut.shape[0]
    for r in range(R):
        for i in range(rows):
            v = inside[r, i]
            if v == 1.0:
                side = 1
            elif v == 0.0:
                side = 0
            else:
                continue
            for j in range(D):
                counts[r, j, cut[j, i], side] += 1


@jit
def add_code_region_counts(cut, y, codes, counts):
    """Add the A and B rows of one code output's regions (one per code) to counts in one
    pass: a row is inside the region of its code and outside every other's; a row whose
    value is none of the codes is in none (not counted).

    cut (D, rows) the rows' slices (ab_slices); y (rows,) the output; codes (K,) float64
    its codes; counts (K, D, M, 2) int64 as add_region_counts'."""
    K = codes.shape[0]
    D, rows = cut.shape
    M = counts.shape[2]
    inside = np.zeros((K, D, M), dtype=np.int64)
    total = np.zeros((D, M), dtype=np.int64)
    for i in range(rows):
        v = y[i]
        k = 0
        while k < K and codes[k] != v:
            k += 1
        if k == K:
            continue
        for j in range(D):
            inside[k, j, cut[j, i]] += 1
            total[j, cut[j, i]] += 1
    for k in range(K):
        for j in range(D):
            for m in range(M):
                counts[k, j, m, 1] += inside[k, j, m]
                counts[k, j, m, 0] += total[j, m] - inside[k, j, m]
