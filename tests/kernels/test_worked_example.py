"""docs/model.md section 7: the worked example, every output, every selection, both bargaining modes."""
import numpy as np
import pytest

from reesens.kernels import signalling, woods

EXAMPLE = dict(A=0.5, gamma=0.5, delta=2.0, phi_D=0.3, kappa=0.6, p=0.7)
ETA = 1 / 1.9  # (1 - 0.9) / (1 - 0.81)

COMMON = dict(mu_star=0.4, margin=0.3, dmu_dA=0.4, dmu_dgamma=0.24, dmu_ddelta=-0.16,
              eq_set=26, n_eq=3)
# Set {1, 3, 4}. Outcomes by hand from the table of docs/model.md section 3:
#   1 pool_nd_hedge: hedge 1,   disclose 0,   china 0,     foreign -0.5
#   3 separating:    hedge 0.7, disclose 0.7, china -0.39, foreign -0.35 + 0.15 = -0.2
#   4 hybrid: sigma = 1 - 0.4*0.3/(0.7*0.6) = 5/7, x = 0.5: disclose 0.5, hedge 0.75,
#             china -0.3, foreign -0.5
# Full disclosure: china -0.3 - 0.6*0.3 = -0.48, foreign 0.7*(-0.5) + 0.3*0.5 = -0.2.
POOL_ND_HEDGE = dict(eq=1, hedge_prob=1.0, disclose_prob=0.0, china_payoff=0.0,
                     foreign_payoff=-0.5, leverage=0.48, adjustment_cost=0.3,
                     china_share=1.5 * ETA, foreign_share=1 - 1.5 * ETA, agreement=1.0)
SEPARATING = dict(eq=3, hedge_prob=0.7, disclose_prob=0.7, china_payoff=-0.39,
                  foreign_payoff=-0.2, leverage=0.09, adjustment_cost=0.0,
                  china_share=-0.39 + 1.59 * ETA, foreign_share=-0.2 + 1.59 * (1 - ETA),
                  agreement=1.0)
BY_SELECTION = {"china": POOL_ND_HEDGE, "foreign": SEPARATING, "hedge": POOL_ND_HEDGE,
                "transparent": SEPARATING}


@pytest.mark.parametrize("selection", signalling.SELECTIONS)
def test_every_output_under_every_selection(selection):
    out = woods.evaluate(**EXAMPLE, concept="verifiable", selection=selection)
    expected = {**COMMON, **BY_SELECTION[selection]}
    assert set(out) == set(expected) == set(woods.OUTPUT_NAMES)
    for name, value in expected.items():
        np.testing.assert_allclose(out[name], value, rtol=1e-12, atol=1e-15, err_msg=name)


def test_outside_option_bargaining():
    # d_C = 0 and d_F = -0.5 bind nowhere, so China gets its proposer share eta*S.
    out = woods.evaluate(**EXAMPLE, bargaining="outside")
    np.testing.assert_allclose([out["china_share"], out["foreign_share"], out["agreement"]],
                               [ETA, 1 - ETA, 1.0], rtol=1e-12)


def test_hybrid_outcome_of_the_example():
    h, d, c, f = signalling.outcome(signalling.HYBRID, *EXAMPLE.values(), 0.4)
    np.testing.assert_allclose([h, d, c, f], [0.75, 0.5, -0.3, -0.5], rtol=1e-12)
