"""Interval arithmetic every method shares: the quantiles that turn a standard error or
the spread of independent estimates into a half-width."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np


def normal_quantile(conf_level: float) -> float:
    """z such that a normal variable lies within +-z standard deviations with probability
    conf_level (1.96 at 0.95)."""
    return NormalDist().inv_cdf(0.5 + conf_level / 2)


def student(stack: np.ndarray, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean, Student-t half-width) over the leading axis of R independent estimates:
    t(R - 1) quantile * standard deviation / sqrt(R)."""
    from scipy.stats import t  # scipy.stats: import only to use

    R = stack.shape[0]
    quantile = t.ppf(0.5 + conf_level / 2, R - 1)
    with np.errstate(invalid="ignore"):  # an infinite estimate: NaN, as its reason says
        return stack.mean(axis=0), quantile * stack.std(axis=0, ddof=1) / math.sqrt(R)
