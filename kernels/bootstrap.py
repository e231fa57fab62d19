"""Streaming Poisson bootstrap of Saltelli designs: replicate statistics without stored rows.

Replicate r weighs base point i (its A, AB_j, (BA_j,) B rows together, as SALib resamples
them) by w_ri ~ Poisson(1), the streaming form of resampling with replacement (Hanley &
MacGibbon 2006; Chamandy et al. 2012). w_ri is a pure function of (seed, i, r): SplitMix64
at counter i * R + r, mapped to Poisson(1) by inversion. So any chunk of points draws its
own weights, and a replicate's statistics do not depend on how points are split into
blocks or chunks, or which worker ran them.

Per replicate the kernel returns the total weight and, for each series, the weighted means
of the base features (Features.base: a, b, d_j, with second order y_j) and their weighted
centred co-moment sums for Features.base_pairs: what the point estimates need
(methods.sobol.streaming). Both come from one weighted sum per replicate of each point's
features, shifted by the chunk's plain mean, and of their products. Replicates of chunks
then merge like kernels.saltelli's blocks, by Chan et al.'s update with weights in place
of counts. Integer weights make replicate r exactly the estimator on a resample holding
point i w_ri times.
"""
from __future__ import annotations

import math

import numpy as np

from reesens.kernels.accelerate import jit
from reesens.kernels.saltelli import layout

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment


@jit
def _mix(z):
    """SplitMix64's output function (Steele, Lea & Flood 2014) of a uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def _poisson_weights(seed, first_point, out):
    """out (points, replicates): Poisson(1) weight of point first_point + i in replicate r."""
    state = _mix(np.uint64(seed))
    e = math.exp(-1.0)
    replicates = out.shape[1]
    for i in range(out.shape[0]):
        counter = np.uint64(first_point + i) * np.uint64(replicates)
        for r in range(replicates):
            z = _mix(state + (counter + np.uint64(r + 1)) * _GAMMA)
            u = float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)  # [0, 1), 53 bits
            k, p, cdf = 0, e, e
            while u >= cdf and k < 40:
                k += 1
                p /= k
                cdf += p
            out[i, r] = k


def poisson_weights(seed: int, first_point: int, points: int, replicates: int) -> np.ndarray:
    """float64 (replicates, points): the bootstrap weights of base points
    [first_point, first_point + points), a view of a (points, replicates) array (a point's
    weights side by side, as the kernel reads them)."""
    out = np.empty((points, replicates))
    _poisson_weights(np.uint64(seed), np.int64(first_point), out)
    return out.T


@jit
def _replicate_moments(Y, D, k, second_order, base_pairs, wt, weight, mean, comoment):
    points = Y.shape[1] // k
    R, S, B = mean.shape
    P = base_pairs.shape[1]
    x = np.empty((points, B))
    h = np.empty((points, B + P))  # per point: x - x0, then the pairs' products of it
    x0 = np.empty(B)
    acc = np.empty((B + P, R))
    for r in range(R):
        total = 0.0
        for i in range(points):
            total += wt[i, r]
        weight[r] = total
    for s in range(Y.shape[0]):
        y = Y[s].reshape(points, k)
        for i in range(points):  # a, b, d_j, y_j: the base features, in Features.base order
            a, b = y[i, 0], y[i, k - 1]
            x[i, 0], x[i, 1] = a, b
            for j in range(D):
                x[i, 2 + j] = y[i, 1 + j] - a
                if second_order:
                    x[i, 2 + D + j] = y[i, 1 + D + j]
        # shift by the unweighted chunk mean x0: each replicate's weighted mean lies close to
        # it, so its sums about x0 lose nothing when re-centred on that mean below
        x0[:] = 0.0
        for i in range(points):
            for q in range(B):
                x0[q] += x[i, q]
        for q in range(B):
            x0[q] /= points
        for i in range(points):
            for q in range(B):
                h[i, q] = x[i, q] - x0[q]
            for p in range(P):
                h[i, B + p] = h[i, base_pairs[0, p]] * h[i, base_pairs[1, p]]
        acc[:] = 0.0
        full = points - points % 4
        for i in range(0, full, 4):
            # four points per sweep over the sums, still added one after another in order
            w0, w1, w2, w3 = wt[i], wt[i + 1], wt[i + 2], wt[i + 3]
            for c in range(B + P):
                h0, h1, h2, h3 = h[i, c], h[i + 1, c], h[i + 2, c], h[i + 3, c]
                row = acc[c]
                for r in range(R):
                    row[r] = (((row[r] + w0[r] * h0) + w1[r] * h1) + w2[r] * h2) + w3[r] * h3
        for i in range(full, points):
            wi = wt[i]
            for c in range(B + P):
                hic = h[i, c]
                row = acc[c]
                for r in range(R):
                    row[r] += wi[r] * hic
        for r in range(R):
            W = weight[r]
            for q in range(B):
                delta = acc[q, r] / W if W > 0.0 else 0.0
                mean[r, s, q] = x0[q] + delta
                acc[q, r] = delta
            for p in range(P):  # sum w (x - x0)(x - x0)' - W delta delta'
                comoment[r, s, p] = acc[B + p, r] - W * acc[base_pairs[0, p], r] * acc[
                    base_pairs[1, p], r]


def replicate_moments(Y: np.ndarray, D: int, second_order: bool, *, first_point: int,
                      seed: int, replicates: int):
    """Bootstrap statistics of one chunk of base points for S output series.

    Y: float64 (S, points * k) in Saltelli row order, its first point being base point
    `first_point` of the design. Returns (weight (R,) total weight per replicate,
    mean (R, S, B) weighted means of Features.base, comoment (R, S, P) weighted centred
    co-moment sums of Features.base_pairs).
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    k = 2 * D + 2 if second_order else D + 2
    if Y.ndim != 2 or Y.shape[1] % k:
        raise ValueError(f"replicate_moments: Y must be (series, points * {k}), "
                         f"got {Y.shape}")
    ft = layout(D, second_order)
    wt = poisson_weights(seed, first_point, Y.shape[1] // k, replicates).T  # (points, R)
    S = Y.shape[0]
    weight = np.empty(replicates)
    mean = np.empty((replicates, S, ft.base.size))
    comoment = np.empty((replicates, S, ft.base_pairs.shape[1]))
    _replicate_moments(Y, D, k, second_order, ft.base_pairs, wt, weight, mean, comoment)
    return weight, mean, comoment
