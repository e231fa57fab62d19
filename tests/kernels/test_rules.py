"""Every region and every tie of docs/model.md section 2, written out by hand per concept.

Base point A = 0.5, gamma = 0.5, delta = 2, so mu_star = 1/2.5, which is the double 0.4
(the division is correctly rounded): p = 0.4 is an exact tie. phi_D = 0.6 and kappa in
{0.3, 0.6, 0.9} gives kappa <, ==, > phi_D. A == delta and A > delta use A = 2 and 3.
"""
import numpy as np
import pytest

from reesens.kernels import woods

PHI_D = 0.6
KAPPA = {"<": 0.3, "=": 0.6, ">": 0.9}
P = {"below": (0.0, 0.2), "tie": (0.4,), "above": (0.7, 1.0)}

# (concept, p region, kappa vs phi_D) -> (equilibrium set, eq under the china selection)
A_BELOW_DELTA = {
    ("paper", "above", "<"): ({1}, 1), ("paper", "above", "="): ({1}, 1),
    ("paper", "above", ">"): ({1}, 1),
    ("paper", "tie", "<"): ({6}, 6), ("paper", "tie", "="): ({6}, 6),
    ("paper", "tie", ">"): ({6}, 6),
    ("paper", "below", "<"): ({2}, 2), ("paper", "below", "="): ({2, 3}, 2),
    ("paper", "below", ">"): ({0}, 0),
    ("verifiable", "above", "<"): ({1}, 1), ("verifiable", "above", "="): ({1, 3}, 1),
    ("verifiable", "above", ">"): ({1, 3, 4}, 1),
    ("verifiable", "tie", "<"): ({1, 2}, 1), ("verifiable", "tie", "="): ({1, 2, 3}, 1),
    ("verifiable", "tie", ">"): ({1, 3}, 1),
    ("verifiable", "below", "<"): ({2}, 2), ("verifiable", "below", "="): ({2, 3}, 2),
    ("verifiable", "below", ">"): ({3}, 3),
    ("mimicable", "above", "<"): ({1}, 1), ("mimicable", "above", "="): ({1, 3, 5}, 1),
    ("mimicable", "above", ">"): ({1, 5}, 1),
    ("mimicable", "tie", "<"): ({1, 2}, 1), ("mimicable", "tie", "="): ({1, 2, 3, 5}, 1),
    ("mimicable", "tie", ">"): ({1, 2, 5}, 1),
    ("mimicable", "below", "<"): ({2}, 2), ("mimicable", "below", "="): ({2, 3}, 2),
    ("mimicable", "below", ">"): ({2}, 2),
}
CASES = [(concept, p, kappa_rel, expected)
         for (concept, region, kappa_rel), expected in A_BELOW_DELTA.items()
         for p in P[region]]


def codes(bits):
    return {k for k in range(7) if int(bits) >> k & 1}


def test_base_point_threshold_is_exactly_the_tie():
    assert woods.evaluate(0.5, 0.5, 2.0, PHI_D, 0.3, 0.4)["mu_star"] == 0.4


@pytest.mark.parametrize("concept, p, kappa_rel, expected", CASES)
def test_regions_and_ties_below_delta(concept, p, kappa_rel, expected):
    members, eq = expected
    out = woods.evaluate(0.5, 0.5, 2.0, PHI_D, KAPPA[kappa_rel], p, concept=concept)
    assert codes(out["eq_set"]) == members
    assert out["n_eq"] == len(members - {0, 6})
    assert out["eq"] == eq


@pytest.mark.parametrize("concept", ["paper", "verifiable", "mimicable"])
@pytest.mark.parametrize("A", [2.0, 3.0], ids=["A==delta", "A>delta"])
@pytest.mark.parametrize("kappa", KAPPA.values())
@pytest.mark.parametrize("p", [0.0, 0.4, 0.7, 1.0])
def test_foreigner_always_presses_when_A_reaches_delta(concept, A, kappa, p):
    out = woods.evaluate(A, 0.5, 2.0, PHI_D, kappa, p, concept=concept)
    assert codes(out["eq_set"]) == {2}
    assert (out["n_eq"], out["eq"]) == (1, 2)
    assert out["china_payoff"] == -kappa
    assert out["leverage"] == pytest.approx(PHI_D)  # full disclosure: -phi_D - kappa


# Selection ties: equal criteria go to the lowest code, also where the payoffs only tie
# in exact arithmetic (kappa == phi_D, p in {0, 1}).
@pytest.mark.parametrize("concept, kappa, p, selection, eq", [
    ("paper", 0.6, 0.2, "china", 2),          # -kappa vs -p*phi_D - (1-p)*kappa
    ("verifiable", 0.6, 0.2, "china", 2),
    ("verifiable", 0.6, 0.0, "foreign", 2),   # gamma vs gamma at p = 0
    ("verifiable", 0.6, 0.0, "hedge", 2),     # 0 vs 0
    ("verifiable", 0.6, 0.0, "transparent", 2),
    ("verifiable", 0.9, 1.0, "foreign", 1),   # -A three times at p = 1
    ("verifiable", 0.9, 1.0, "hedge", 1),     # 1 three times
    ("verifiable", 0.9, 1.0, "transparent", 3),  # 0, 1, 1: separating before hybrid
    ("mimicable", 0.6, 0.7, "china", 1),
    ("mimicable", 0.6, 0.7, "transparent", 5),   # separating 0.7 < pool_d_hedge 1
    ("mimicable", 0.6, 1.0, "transparent", 3),   # 1 vs 1 at p = 1
    ("mimicable", 0.9, 0.4, "hedge", 1),      # pool_nd_hedge vs pool_d_hedge
])
def test_selection_ties_go_to_the_lowest_code(concept, kappa, p, selection, eq):
    out = woods.evaluate(0.5, 0.5, 2.0, PHI_D, kappa, p, concept=concept, selection=selection)
    assert out["eq"] == eq


def test_exact_kappa_phi_ties_survive_rounding():
    # -p*phi_D - (1-p)*kappa rounds away from -kappa for some p even when kappa == phi_D;
    # the selection must still see a tie there and keep pool_nd_press.
    rng = np.random.default_rng(3)
    kappa = rng.uniform(0.05, 1, 2000)
    p = rng.uniform(0.05, 0.35, 2000)  # below mu_star = 0.4
    out = woods.evaluate(0.5, 0.5, 2.0, kappa, kappa, p, concept="verifiable")
    assert (out["eq_set"] == 12).all()
    assert (out["eq"] == 2).all()


@pytest.mark.parametrize("concept", ["paper", "verifiable", "mimicable"])
def test_foreign_selection_ties_exactly_at_p_equal_mu_star(concept):
    """At p == mu_star the foreigner is indifferent: pool_nd_press pays it exactly -A, so
    the foreign selection picks pool_nd_hedge (the lowest code) on every such row, though
    (1-p)*gamma - p*delta rounds above -A on many of them."""
    rng = np.random.default_rng(14)
    n = 4000
    A, gamma = rng.uniform(0.1, 1.0, n), rng.uniform(0.1, 1.0, n)
    delta = rng.uniform(1.0, 5.0, n)
    p = (A + gamma) / (gamma + delta)  # the kernel's mu_star, to the last bit
    kappa = rng.uniform(0.05, 1.0, n)
    phi_D = np.where(rng.uniform(size=n) < 0.5, kappa, rng.uniform(0.05, 1.0, n))
    rounding = (1 - p) * gamma - p * delta
    assert (rounding > -A).sum() > n // 10 and (rounding < -A).sum() > n // 10
    out = woods.evaluate(A, gamma, delta, phi_D, kappa, p, concept=concept,
                         selection="foreign")
    assert np.array_equal(out["mu_star"], p) and np.all(out["margin"] == 0)
    both = (out["eq_set"] & 0b110) == 0b110  # pool_nd_hedge (code 1) and pool_nd_press (2)
    if concept == "paper":
        assert not both.any() and np.all(out["eq"] == 6)  # the boundary, as printed
    else:
        assert both.sum() > n // 10
        assert not np.any(out["eq"][both] == 2)  # pressing never wins a tie it has not
        only = out["eq_set"] == 0b110  # exactly {pool_nd_hedge, pool_nd_press}
        assert only.sum() > n // 20
        assert np.all(out["eq"][only] == 1)
        assert np.array_equal(out["foreign_payoff"][only], -A[only])
