"""Sobol' indices from streamed block statistics (kernels.saltelli), with delta-method intervals.

The point estimates are SALib's (Saltelli 2010 S1, Jansen ST, Saltelli 2002 S2, each on
the output standardised by the mean and standard deviation of all rows), written in terms
of feature means and centred co-moments so that no large sums cancel. They equal SALib's
on the same rows to round-off. The intervals are asymptotic normal: each index is a
smooth function of feature means, and its variance is grad^T Cov(f) grad / n (the delta
method, as in Janon et al. 2014), with the global mean held fixed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from kernels.saltelli import Features


@dataclass
class Moments:
    """Merged statistics of a run's first `n` base points for S series.

    features: the feature layout; mean (S, F), comoment (S, pairs) centred co-moment sums
    of features.pairs, rows (S, 5): non-NaN row count, mean, M2, min, max over all rows.
    """

    features: Features
    n: int
    mean: np.ndarray
    comoment: np.ndarray
    rows: np.ndarray

    def merge(self, other: "Moments") -> "Moments":
        """Chan et al.'s pairwise update: the statistics of both sets of points together."""
        n = self.n + other.n
        delta = other.mean - self.mean
        q, r = self.features.pairs
        comoment = self.comoment + other.comoment + delta[:, q] * delta[:, r] * (
            self.n * other.n / n)
        mean = self.mean + delta * (other.n / n)
        rows = np.empty_like(self.rows)
        n1, n2 = self.rows[:, 0], other.rows[:, 0]
        rn = n1 + n2
        with np.errstate(invalid="ignore", divide="ignore"):
            d = other.rows[:, 1] - self.rows[:, 1]
            rows[:, 1] = np.where(n1 == 0, other.rows[:, 1],
                                  np.where(n2 == 0, self.rows[:, 1],
                                           self.rows[:, 1] + d * (n2 / rn)))
            rows[:, 2] = self.rows[:, 2] + other.rows[:, 2] + np.where(
                (n1 > 0) & (n2 > 0), d * d * (n1 * n2 / rn), 0.0)
        rows[:, 0] = rn
        rows[:, 3] = np.fmin(self.rows[:, 3], other.rows[:, 3])
        rows[:, 4] = np.fmax(self.rows[:, 4], other.rows[:, 4])
        return Moments(self.features, n, mean, comoment, rows)


def merge_all(blocks) -> Moments:
    """Merge block statistics in the given (block) order."""
    blocks = iter(blocks)
    total = next(blocks)
    for block in blocks:
        total = total.merge(block)
    return total


def _covariance(m: Moments) -> np.ndarray:
    """(S, F, F) population covariance of the features; 0 for the pairs never accumulated
    (no estimator's gradient has both features, see kernels.saltelli)."""
    S, F = m.mean.shape
    cov = np.zeros((S, F, F))
    q, r = m.features.pairs
    cov[:, q, r] = m.comoment / m.n
    cov[:, r, q] = m.comoment / m.n
    return cov


def indices(m: Moments, conf_level: float) -> dict:
    """SALib's S1, ST (S2) and delta-method half-widths: {name: (S, D) or (S, D, D)}.

    S2 has NaN below the diagonal and on it, as SALib leaves it.
    """
    ft = m.features
    D, second_order = ft.D, ft.second_order
    mu, cov = m.mean, _covariance(m)
    S = mu.shape[0]
    g = m.rows[:, 1]  # global mean of all rows: SALib standardises by it
    a, b = ft.a, ft.b
    with np.errstate(invalid="ignore", divide="ignore"):
        V = (cov[:, a, a] + cov[:, b, b]) / 2 + ((mu[:, a] - mu[:, b]) / 2) ** 2
        grad_V = np.zeros((S, ft.size))
        grad_V[:, ft.a2] = grad_V[:, ft.b2] = 0.5
        grad_V[:, a] = grad_V[:, b] = -(mu[:, a] + mu[:, b]) / 2

        def ratio(num, grad_num):
            """num / V and its gradient with respect to the feature means."""
            value = num / V
            return value, (grad_num - value[:, None] * grad_V) / V[:, None]

        out = {q: np.full((S, D), np.nan) for q in ("S1", "S1_conf", "ST", "ST_conf")}
        grads = {}
        z = norm.ppf(0.5 + conf_level / 2)

        def half_width(grad):
            return z * np.sqrt(np.einsum("sf,sfg,sg->s", grad, cov, grad) / m.n)

        for j in range(D):
            d = ft.d(j)
            grad = np.zeros((S, ft.size))
            grad[:, ft.bd(j)], grad[:, d] = 1.0, -g
            out["S1"][:, j], grads[j] = ratio(cov[:, b, d] + (mu[:, b] - g) * mu[:, d], grad)
            out["S1_conf"][:, j] = half_width(grads[j])
            grad = np.zeros((S, ft.size))
            grad[:, ft.d2(j)] = 0.5
            value, grad = ratio(0.5 * (cov[:, d, d] + mu[:, d] ** 2), grad)
            out["ST"][:, j], out["ST_conf"][:, j] = value, half_width(grad)
        if second_order:
            out["S2"] = np.full((S, D, D), np.nan)
            out["S2_conf"] = np.full((S, D, D), np.nan)
            for j, k in ft.param_pairs:
                y, dk = ft.y(j), ft.d(k)
                vjk = (cov[:, y, dk] + cov[:, y, a] - cov[:, a, b]
                       + (mu[:, y] - g) * (mu[:, dk] + mu[:, a] - g)
                       - (mu[:, a] - g) * (mu[:, b] - g))
                grad = np.zeros((S, ft.size))
                grad[:, ft.w(j, k)] = 1.0
                grad[:, y] -= g
                grad[:, dk] -= g
                grad[:, b] += g
                value, grad = ratio(vjk, grad)
                out["S2"][:, j, k] = value - out["S1"][:, j] - out["S1"][:, k]
                out["S2_conf"][:, j, k] = half_width(grad - grads[j] - grads[k])
    return out
