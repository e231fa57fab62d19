"""Sobol' indices from streamed block statistics (kernels.saltelli), with delta-method or
streaming-bootstrap intervals.

The point estimates are SALib's (Saltelli 2010 S1, Jansen ST, Saltelli 2002 S2, each on
the output standardised by the mean and standard deviation of all rows), written in terms
of feature means and centred co-moments so that no large sums cancel. They equal SALib's
on the same rows to round-off. The delta-method intervals are asymptotic normal: each
index is a smooth function of feature means, and its variance is grad^T Cov(f) grad / n
(the delta method, as in Janon et al. 2014), with the global mean held fixed and Cov(f)
taken on a fixed subsample of the base points (kernels.saltelli). The
bootstrap intervals are SALib's, z * the standard deviation of the estimates over
replicates, with Poisson(1) weights per base point in place of resampling
(kernels.bootstrap); the global mean is held fixed there too, as in SALib.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reesens.core import intervals
from reesens.kernels.saltelli import Accumulator, Features


@dataclass
class Moments:
    """Merged statistics of a run's first `n` base points for S series.

    features: the feature layout; mean (S, B) means of Features.base, comoment (S, P)
    centred co-moment sums of Features.base_pairs, rows (S, 3): non-NaN row count, mean
    and M2 (sum of squared deviations: 0 only for a constant series) over all rows; delta: the delta method's subsample, or None.
    """

    features: Features
    n: int
    mean: np.ndarray
    comoment: np.ndarray
    rows: np.ndarray
    delta: "Subsample | None" = None

    def merge(self, other: "Moments") -> "Moments":
        """Chan et al.'s pairwise update: the statistics of both sets of points together."""
        mean, comoment = _chan(self.n, self.mean, self.comoment, other.n, other.mean,
                               other.comoment, self.features.base_pairs)
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
        delta = self.delta.merge(other.delta) if self.delta is not None else None
        return Moments(self.features, self.n + other.n, mean, comoment, rows, delta)


@dataclass
class Subsample:
    """The delta method's subsample of base points (kernels.saltelli): n (S, 1) points,
    mean (S, F) of every feature, comoment (S, pairs) centred co-moment sums of
    Features.pairs."""

    features: Features
    n: np.ndarray
    mean: np.ndarray
    comoment: np.ndarray

    def merge(self, other: "Subsample") -> "Subsample":
        if not other.n.any():  # a block with no subsample point adds nothing
            return self
        if not self.n.any():
            return other
        mean, comoment = _chan(self.n, self.mean, self.comoment, other.n, other.mean,
                               other.comoment, self.features.pairs)
        return Subsample(self.features, self.n + other.n, mean, comoment)


@dataclass
class Replicates:
    """Merged bootstrap statistics (kernels.bootstrap) of R replicates for S series.

    weight (R,) total Poisson weight; mean (R, S, B) weighted means of Features.base;
    comoment (R, S, P) weighted centred co-moment sums of Features.base_pairs.
    """

    features: Features
    weight: np.ndarray
    mean: np.ndarray
    comoment: np.ndarray

    def merge(self, other: "Replicates") -> "Replicates":
        """Chan et al.'s update per replicate, with total weights in place of counts."""
        n1, n2 = self.weight[:, None, None], other.weight[:, None, None]
        mean, comoment = _chan(n1, self.mean, self.comoment, n2, other.mean, other.comoment,
                               self.features.base_pairs)
        return Replicates(self.features, self.weight + other.weight, mean, comoment)


def moments_of(features: Features, Y: np.ndarray, first_point: int = 0,
               delta: bool = True) -> Moments:
    """The statistics of rows Y (S, points * k), base points [first_point, ...) of one
    block (kernels.saltelli.Accumulator), with the delta method's subsample when `delta`."""
    k = 2 * features.D + 2 if features.second_order else features.D + 2
    points = Y.shape[1] // k
    acc = Accumulator(Y.shape[0], features.D, features.second_order, first_point, points,
                      delta)
    acc.add_series(Y, first_point)
    mean, comoment, rows, sub = acc.finish()
    subsample = Subsample(features, np.full((Y.shape[0], 1), float(acc.subsampled)),
                          *sub) if delta else None
    return Moments(features, points, mean, comoment, rows, subsample)


def _chan(n1, mean1, comoment1, n2, mean2, comoment2, pairs):
    """(mean, comoment) of two sets of points with counts (or total weights) n1, n2 >= 0,
    means (..., F) and centred co-moment sums (..., P) of the feature pairs `pairs` (2, P).
    Two empty sets merge to the first set's mean and a zero co-moment."""
    n = n1 + n2
    delta = mean2 - mean1
    q, r = pairs
    with np.errstate(invalid="ignore", divide="ignore"):  # n = 0: an empty replicate
        cross, share = np.where(n > 0, n1 * n2 / n, 0.0), np.where(n > 0, n2 / n, 0.0)
    return mean1 + delta * share, comoment1 + comoment2 + delta[..., q] * delta[..., r] * cross


def merge_all(blocks):
    """Merge block statistics (Moments or Replicates) in the given (block) order."""
    blocks = iter(blocks)
    total = next(blocks)
    for block in blocks:
        total = total.merge(block)
    return total


def _covariance(features: Features, pairs, comoment: np.ndarray, n) -> np.ndarray:
    """(..., F, F) population covariance of the features from the centred co-moment sums
    (..., P) of `pairs` (2, P) over n points (or total weight, shaped to broadcast); 0 for
    the pairs not accumulated (no estimator or gradient has both, see kernels.saltelli)."""
    cov = np.zeros((*comoment.shape[:-1], features.size, features.size))
    q, r = pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        cov[..., q, r] = cov[..., r, q] = comoment / n
    return cov


def _estimates(ft: Features, mu: np.ndarray, cov: np.ndarray, g: np.ndarray) -> dict:
    """SALib's V, S1, ST (and S2, NaN on and below the diagonal) from feature means mu
    (..., F), their covariance cov (..., F, F) and the global mean of all rows g (...).

    Only the base features' means and Features.base_pairs' covariances are read."""
    a, b = ft.a, ft.b
    d = [ft.d(j) for j in range(ft.D)]
    with np.errstate(invalid="ignore", divide="ignore"):
        V = (cov[..., a, a] + cov[..., b, b]) / 2 + ((mu[..., a] - mu[..., b]) / 2) ** 2
        out = {"V": V,
               "S1": (cov[..., b, d] + (mu[..., b, None] - g[..., None]) * mu[..., d])
               / V[..., None],
               "ST": 0.5 * (cov[..., d, d] + mu[..., d] ** 2) / V[..., None]}
        if ft.second_order:
            out["S2"] = np.full((*V.shape, ft.D, ft.D), np.nan)
            for j, k in ft.param_pairs:
                y, dk = ft.y(j), ft.d(k)
                vjk = (cov[..., y, dk] + cov[..., y, a] - cov[..., a, b]
                       + (mu[..., y] - g) * (mu[..., dk] + mu[..., a] - g)
                       - (mu[..., a] - g) * (mu[..., b] - g))
                out["S2"][..., j, k] = vjk / V - out["S1"][..., j] - out["S1"][..., k]
    return out


def indices(m: Moments, conf_level: float, replicates: Replicates | None = None) -> dict:
    """SALib's S1, ST (S2) and interval half-widths: {name: (S, D) or (S, D, D)}, and V
    (S,), the variance of the A and B rows the indices divide by.

    The half-widths are the delta method's (with V_conf, V's), or with `replicates` the
    bootstrap's: z * the standard deviation of the replicates' estimates (ddof 1), as
    SALib's; then "boot" holds the replicates' own V, S1 and ST ((R, S[, D])). S2 has
    NaN below the diagonal and on it, as SALib leaves it.
    """
    ft = m.features
    z = intervals.normal_quantile(conf_level)
    mu = np.zeros((m.mean.shape[0], ft.size))
    mu[:, ft.base] = m.mean
    cov = _covariance(ft, ft.base[ft.base_pairs], m.comoment, m.n)
    g = m.rows[:, 1]  # global mean of all rows: SALib standardises by it
    est = _estimates(ft, mu, cov, g)
    out = {q: est[q] for q in ("V", "S1", "ST", "S2") if q in est}
    if replicates is not None:
        mu = np.zeros((*replicates.mean.shape[:2], ft.size))
        mu[..., ft.base] = replicates.mean
        boot = _estimates(ft, mu, _covariance(ft, ft.base[ft.base_pairs], replicates.comoment,
                                              replicates.weight[:, None, None]), g[None])
        with np.errstate(invalid="ignore"):
            for q in ("S1", "ST", "S2"):
                if q in out:
                    out[f"{q}_conf"] = z * np.std(boot[q], axis=0, ddof=1)
        out["boot"] = {q: boot[q] for q in ("V", "S1", "ST")}
        return out
    if m.delta is not None:
        sub = m.delta
        out.update(_delta_half_widths(m.features, m.n, mu, g,
                                      _covariance(ft, ft.pairs, sub.comoment, sub.n),
                                      est, z))
    return out


def _delta_half_widths(ft: Features, n: int, mu: np.ndarray, g: np.ndarray, cov: np.ndarray,
                       est: dict, z: float) -> dict:
    """Delta-method half-widths of est's S1, ST (S2): z sqrt(grad' Cov grad / n), each
    gradient taken with respect to the feature means mu (S, F) (global mean of all rows
    g (S,)), the features' covariance cov (S, F, F) estimated on the subsample."""
    D, V = ft.D, est["V"]
    S = mu.shape[0]
    a, b = ft.a, ft.b
    out = {q: np.full((S, D), np.nan) for q in ("S1_conf", "ST_conf")}
    with np.errstate(invalid="ignore", divide="ignore"):
        grad_V = np.zeros((S, ft.size))
        grad_V[:, ft.a2] = grad_V[:, ft.b2] = 0.5
        grad_V[:, a] = grad_V[:, b] = -(mu[:, a] + mu[:, b]) / 2

        def ratio_gradient(value, grad_num):
            """Gradient of num / V, its value being `value`."""
            return (grad_num - value[:, None] * grad_V) / V[:, None]

        def half_width(grad):
            return z * np.sqrt(np.einsum("sf,sfg,sg->s", grad, cov, grad) / n)

        out["V_conf"] = half_width(grad_V)

        grads = {}
        for j in range(D):
            grad = np.zeros((S, ft.size))
            grad[:, ft.bd(j)], grad[:, ft.d(j)] = 1.0, -g
            grads[j] = ratio_gradient(est["S1"][:, j], grad)
            out["S1_conf"][:, j] = half_width(grads[j])
            grad = np.zeros((S, ft.size))
            grad[:, ft.d2(j)] = 0.5
            out["ST_conf"][:, j] = half_width(ratio_gradient(est["ST"][:, j], grad))
        if ft.second_order:
            out["S2_conf"] = np.full((S, D, D), np.nan)
            for j, k in ft.param_pairs:
                grad = np.zeros((S, ft.size))
                grad[:, ft.w(j, k)] = 1.0
                grad[:, ft.y(j)] -= g
                grad[:, ft.d(k)] -= g
                grad[:, b] += g
                vjk_over_V = est["S2"][:, j, k] + est["S1"][:, j] + est["S1"][:, k]
                out["S2_conf"][:, j, k] = half_width(
                    ratio_gradient(vjk_over_V, grad) - grads[j] - grads[k])
    return out
