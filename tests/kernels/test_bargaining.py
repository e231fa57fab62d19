"""The bargaining split alone, for disagreement points the woods model never produces.

China's equilibrium payoffs are never positive, so its own outside option never binds in
the combined model; the rule must still be right for other models.
"""
import numpy as np
import pytest

from reesens.kernels import bargaining
from tests import reference_numpy

ETA = 1 / 1.9  # rho_C = rho_F = 0.9


@pytest.mark.parametrize("mode, d_C, d_F, expected", [
    # x_C, x_F, agreement; S = 1, rho_C = rho_F = 0.9, rho*eta*S = 0.9/1.9 = 0.4737
    ("outside", 0.0, -0.5, (ETA, 1 - ETA, 1.0)),          # no option binds
    ("outside", 0.0, 0.5, (0.5, 0.5, 1.0)),               # F's option binds
    ("outside", 0.6, 0.0, (1 - 0.9 * 0.4, 0.9 * 0.4, 1.0)),  # China's binds, F's does not
    ("outside", 0.6, 0.39, (0.61, 0.39, 1.0)),            # China's binds, then F's
    ("outside", 0.6, 0.5, (0.6, 0.5, 0.0)),               # d_C + d_F >= S: no deal
    ("inside", 0.2, 0.3, (0.2 + 0.5 * ETA, 0.3 + 0.5 * (1 - ETA), 1.0)),
    ("inside", 0.6, 0.4, (0.6, 0.4, 0.0)),                # no surplus: no deal
    ("inside", np.nan, 0.4, (np.nan, np.nan, np.nan)),
])
def test_hand_computed_splits(mode, d_C, d_F, expected):
    got = bargaining.split(bargaining.MODES.index(mode), d_C, d_F, 0.9, 0.9, 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", bargaining.MODES)
def test_split_equals_numpy_on_any_disagreement_point(mode):
    rng = np.random.default_rng(9)
    n = 20_000
    d_C, d_F = rng.uniform(-1, 1.5, n), rng.uniform(-1, 1.5, n)
    d_C[::97] = np.nan
    rho_C, rho_F, S = rng.uniform(0, 0.99, n), rng.uniform(0, 0.99, n), rng.uniform(0.2, 2, n)
    code = bargaining.MODES.index(mode)
    got = np.array([bargaining.split(code, *args) for args in zip(d_C, d_F, rho_C, rho_F, S)])
    want = np.stack(reference_numpy.bargain(mode, d_C, d_F, rho_C, rho_F, S), 1)
    np.testing.assert_array_equal(got, want)
