"""Properties of the model that hold for every valid vector (hypothesis)."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reesens.kernels import signalling, woods

positive = st.floats(0.01, 10)
probability = st.floats(0.0, 1.0)
vectors = st.tuples(positive, positive, positive, positive, positive, probability)
concepts = st.sampled_from(signalling.CONCEPTS)
selections = st.sampled_from(signalling.SELECTIONS)
modes = st.sampled_from(("inside", "outside"))
PAYOFFS = ("china_payoff", "foreign_payoff", "leverage", "adjustment_cost")
UNCHANGED = ("eq_set", "n_eq", "eq", "hedge_prob", "disclose_prob", "china_share",
             "foreign_share", "agreement")


def run(v, concept="verifiable", selection="china", bargaining="inside", S=1.0):
    return {k: a.item() for k, a in woods.evaluate(*v, concept=concept, selection=selection,
                                                   bargaining=bargaining, S=S).items()}


def off_ties(v, tol=1e-9):
    A, gamma, delta, phi_D, kappa, p = v
    mu = (A + gamma) / (gamma + delta)
    return (abs(p - mu) > tol and abs(kappa - phi_D) > tol * kappa
            and abs(A - delta) > tol * delta)


def check_scaled(base, scaled, c):
    """Units scaled by c: mu_star, codes, probabilities and shares equal, payoffs times c."""
    assert scaled["mu_star"] == pytest.approx(base["mu_star"], rel=1e-12)
    for name in UNCHANGED:
        assert scaled[name] == pytest.approx(base[name], rel=1e-9, abs=1e-12, nan_ok=True), name
    for name in PAYOFFS:
        assert scaled[name] == pytest.approx(c * base[name], rel=1e-9, abs=1e-12,
                                             nan_ok=True), name


@settings(deadline=None, max_examples=300)
@given(vectors, st.floats(0.01, 100), concepts, selections, modes)
def test_scaling_all_payoff_units_by_c(v, c, concept, selection, mode):
    assume(off_ties(v))  # a generic c moves rounding; exact ties are covered below
    scaled_v = tuple(c * x for x in v[:5]) + (v[5],)
    check_scaled(run(v, concept, selection, mode),
                 run(scaled_v, concept, selection, mode, S=c), c)


@settings(deadline=None, max_examples=200)
@given(vectors, st.integers(-8, 8), concepts, selections, modes)
def test_scaling_by_powers_of_two_keeps_even_the_ties(v, k, concept, selection, mode):
    c = 2.0 ** k  # exact in binary, so every tie survives
    scaled_v = tuple(c * x for x in v[:5]) + (v[5],)
    check_scaled(run(v, concept, selection, mode),
                 run(scaled_v, concept, selection, mode, S=c), c)


@settings(deadline=None, max_examples=300)
@given(vectors, concepts, selections, modes,
       st.floats(0.0, 0.99), st.floats(0.0, 0.99), st.floats(0.1, 10))
def test_shares_sum_to_one_under_agreement(v, concept, selection, mode, rho_C, rho_F, S):
    out = woods.evaluate(*v, concept=concept, selection=selection, bargaining=mode,
                         rho_C=rho_C, rho_F=rho_F, S=S)
    if out["agreement"] == 1:
        assert out["china_share"] + out["foreign_share"] == pytest.approx(1.0, rel=1e-12)


@settings(deadline=None, max_examples=300)
@given(vectors, concepts)
def test_leverage_under_the_china_selection(v, concept):
    out = run(v, concept, "china")
    A, gamma, delta, phi_D, kappa, p = v
    if concept == "mimicable" and out["eq"] == 2 and A < delta:
        # Withholding can cost China here: pooled and pressed (-kappa) against full
        # disclosure (-phi_D - (1-p)*kappa), so leverage = phi_D - p*kappa, of either sign.
        assert out["leverage"] == pytest.approx(phi_D - p * kappa, rel=1e-9, abs=1e-12)
    elif out["eq"] in signalling.EQUILIBRIUM_CODES:
        assert out["leverage"] >= 0
    else:
        assert np.isnan(out["leverage"])


def test_mimicable_leverage_is_negative_somewhere():
    # The exception above is real, not a vacuous branch.
    out = run((0.5, 0.5, 2.0, 0.1, 1.0, 0.3), "mimicable", "china")
    assert out["eq"] == 2 and out["leverage"] == pytest.approx(0.1 - 0.3)


@settings(deadline=None, max_examples=300)
@given(positive, positive, positive, positive, positive, st.floats(0.0, 1.0), concepts,
       st.sampled_from(("china", "hedge")))
def test_adjustment_cost_of_pooling_with_hedging(A, gamma, extra, phi_D, kappa, u, concept,
                                                 selection):
    delta = A + extra  # A < delta, and p in [mu_star, 1]: pool_nd_hedge is in every set
    mu_star = (A + gamma) / (gamma + delta)
    p = min(mu_star + u * (1 - mu_star), 1.0)
    out = run((A, gamma, delta, phi_D, kappa, p), concept, selection)
    if concept == "paper" and p == mu_star:
        assert out["eq"] == signalling.BOUNDARY
        return
    assert out["eq"] == signalling.POOL_ND_HEDGE
    assert out["adjustment_cost"] == pytest.approx((1 - p) * (A + gamma), rel=1e-9, abs=1e-12)
