"""Comparative statics of mu_star (Woods 2025, Table 2) against finite differences."""
import numpy as np

from reesens.kernels import woods


def sample(n=2000, seed=4):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 5, n), rng.uniform(0.1, 5, n), rng.uniform(0.1, 5, n)


def mu_star(A, gamma, delta):
    return woods.evaluate(A, gamma, delta, 0.3, 0.6, 0.5)["mu_star"]


def test_derivatives_equal_central_differences():
    A, gamma, delta = sample()
    out = woods.evaluate(A, gamma, delta, 0.3, 0.6, 0.5)
    h = 1e-6
    for name, bump in [("dmu_dA", (1, 0, 0)), ("dmu_dgamma", (0, 1, 0)),
                       ("dmu_ddelta", (0, 0, 1))]:
        up = mu_star(*(x + h * b for x, b in zip((A, gamma, delta), bump)))
        down = mu_star(*(x - h * b for x, b in zip((A, gamma, delta), bump)))
        np.testing.assert_allclose(out[name], (up - down) / (2 * h), rtol=1e-6, atol=1e-9,
                                   err_msg=name)


def test_sign_claims_of_table_2():
    A, gamma, delta = sample()
    out = woods.evaluate(A, gamma, delta, 0.3, 0.6, 0.5)
    assert (out["dmu_dA"] > 0).all()
    assert (out["dmu_ddelta"] < 0).all()
    # d mu*/d gamma is positive iff delta > A, negative iff A > delta.
    np.testing.assert_array_equal(np.sign(out["dmu_dgamma"]), np.sign(delta - A))
    # ... and exactly zero where A == delta (random samples never hit it: set it).
    at_tie = woods.evaluate(A, gamma, A, 0.3, 0.6, 0.5)
    assert (at_tie["dmu_dgamma"] == 0).all()
    # mu_star < 1 iff A < delta.
    np.testing.assert_array_equal(out["mu_star"] < 1, A < delta)
