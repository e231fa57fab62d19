"""woods_audit against two independent calls of kernels.woods and numpy comparisons."""
import numpy as np
import pytest

from reesens.kernels import audit, woods
from reesens.kernels.registry import get_model


def _rows(seed=7, n=20000):
    """Random rows over a wide box, with ties: values on a coarse lattice make kappa ==
    phi_D, A == delta and p == mu_star frequent."""
    rng = np.random.default_rng(seed)
    lattice = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 2.0])
    A, gamma, delta, phi_D, kappa = (rng.choice(lattice, n) for _ in range(5))
    p = rng.choice(np.linspace(0, 1, 11), n)
    p[::7] = ((A + gamma) / (gamma + delta))[::7].clip(0, 1)  # p == mu_star
    A[5] = -1.0  # one invalid row
    return A, gamma, delta, phi_D, kappa, p


@pytest.mark.parametrize("selection", ["china", "foreign"])
def test_audit_equals_both_concepts_of_woods(selection):
    A, gamma, delta, phi_D, kappa, p = _rows()
    params = np.column_stack([A, gamma, delta, phi_D, kappa, p, np.full((A.size, 3), 0.9)])
    params[:, 8] = 1.0
    got = get_model("woods_audit").evaluate_block(params, selection=selection)
    paper = woods.evaluate(A, gamma, delta, phi_D, kappa, p, concept="paper",
                           selection=selection)
    verifiable = woods.evaluate(A, gamma, delta, phi_D, kappa, p, concept="verifiable",
                                selection=selection)
    np.testing.assert_array_equal(got["eq_paper"], paper["eq"])
    np.testing.assert_array_equal(got["eq_verifiable"], verifiable["eq"])
    np.testing.assert_array_equal(got["eq_set_paper"], paper["eq_set"])
    np.testing.assert_array_equal(got["eq_set_verifiable"], verifiable["eq_set"])
    np.testing.assert_array_equal(got["mu_star"], paper["mu_star"])
    valid = paper["eq"] != -1
    differ = paper["eq_set"] != verifiable["eq_set"]
    np.testing.assert_array_equal(got["sets_differ"], np.where(valid, differ, -1))
    mu = (A + gamma) / (gamma + delta)
    cmp = lambda x, y: np.where(x < y, 0, np.where(x == y, 1, 2))  # noqa: E731
    region = np.where(A >= delta, 0, 1 + 3 * cmp(p, mu) + cmp(kappa, phi_D))
    region = np.where(valid, region, -1)
    np.testing.assert_array_equal(got["region"], region)
    np.testing.assert_array_equal(got["disagreement_region"],
                                  np.where(valid & ~differ, audit.AGREE, region))
    # every tie region is visited, and the sets differ where docs/model.md says they must:
    # p < mu_star with kappa > phi_D (paper: none; verifiable: separating)
    assert set(np.unique(region)) == set(range(-1, 10))
    assert got["sets_differ"][valid & (region == 3)].all()
    assert not got["sets_differ"][valid & (region == 0)].any()


def test_audit_declares_cf_flags_and_rejects_bad_input():
    flags = {v.name: v for v in audit.OUTPUTS}
    meanings = flags["region"].flag_meanings
    assert meanings[flags["region"].flag_values.index(3)] == "p_lt_mustar_kappa_gt_phiD"
    assert flags["disagreement_region"].flag_meanings[-1] == "agree"
    with pytest.raises(ValueError, match="selection='best'"):
        audit.evaluate_block(np.zeros((2, 9)), selection="best")
    with pytest.raises(ValueError, match=r"params must be a float64 array \(n, 9\)"):
        audit.evaluate_block(np.zeros((2, 6)))
