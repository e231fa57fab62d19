"""pygambit as an external oracle for the `verifiable` and `mimicable` equilibrium sets.

For sampled rational parameter points (off the ties, which test_rules.py covers) we build
the extensive-form game, enumerate the extreme Nash equilibria of its strategic form
exactly (`enummixed`), keep the perfect Bayesian ones, classify them, and compare with the
kernel's eq_set. The outcome table (hedge/disclose probabilities, payoffs) of every
equilibrium found is checked against the kernel's too.
"""
from fractions import Fraction

import numpy as np
import pygambit as gbt
import pytest

from reesens.kernels import signalling, woods

N_POINTS = 40


def sample_points(seed, n):
    """n rational vectors (A, gamma, delta, phi_D, kappa, p) off every tie."""
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        A, gamma, delta = (Fraction(int(k), 8) for k in rng.integers(1, 25, 3))
        phi_D, kappa = (Fraction(int(k), 10) for k in rng.integers(1, 11, 2))
        p = Fraction(int(rng.integers(1, 20)), 20)
        mu_star = (A + gamma) / (gamma + delta)
        if p != mu_star and kappa != phi_D and A != delta:
            points.append((A, gamma, delta, phi_D, kappa, p))
    return points


def build_game(A, gamma, delta, phi_D, kappa, p, revealing):
    """The signalling game; with `revealing`, the foreigner sees the type after D."""
    g = gbt.Game.new_tree(players=["China", "Foreign"])
    g.append_move(g.root, g.players.chance, ["H", "L"])
    g.set_chance_probs(g.root.infoset, [p, 1 - p])
    types = {t: g.root.children[t] for t in "HL"}
    for node in types.values():
        g.append_move(node, "China", ["D", "ND"])
    g.append_move([types[t].children["ND"] for t in "HL"], "Foreign", ["Hedge", "Press"])
    if revealing:
        for t in "HL":
            g.append_move(types[t].children["D"], "Foreign", ["Hedge", "Press"])
    else:
        g.append_move([types[t].children["D"] for t in "HL"], "Foreign", ["Hedge", "Press"])
    for t, node in types.items():
        for s in ("D", "ND"):
            for a in ("Hedge", "Press"):
                china = -phi_D * (s == "D") - kappa * (a == "Press")
                foreign = -A if a == "Hedge" else (-delta if t == "H" else gamma)
                g.set_outcome(node.children[s].children[a],
                              g.add_outcome(label=f"{t}-{s}-{a}", payoffs=[china, foreign]))
    return g, types


def classify(profile, types, params, revealing):
    """(code or None, is_pure, outcome) of one Nash equilibrium, or None if not a PBE.

    outcome = (hedge_prob, disclose_prob, china_payoff, foreign_payoff) from gambit.
    """
    A, gamma, delta, phi_D, kappa, p = params
    mu_star = (A + gamma) / (gamma + delta)
    beh = profile.as_behavior()
    disclose = {t: Fraction(beh[types[t].infoset.actions["D"]]) for t in "HL"}
    hedge_after = {  # Pr(Hedge) at the node reached by (type, message)
        (t, s): Fraction(beh[types[t].children[s].infoset.actions["Hedge"]])
        for t in "HL" for s in ("D", "ND")}
    prior = {"H": p, "L": 1 - p}

    # Sequential rationality where Nash says nothing: unreached information sets.
    for s in ("D", "ND"):
        reach = {t: prior[t] * (disclose[t] if s == "D" else 1 - disclose[t]) for t in "HL"}
        if revealing and s == "D":
            # The type is known: hedge iff -A > -delta (strictly; A == delta is excluded).
            for t in "HL":
                best = 1 if (t == "H" and A < delta) else 0
                if hedge_after[(t, s)] != best:
                    return None
        elif reach["H"] + reach["L"] == 0:
            # Off path, beliefs are free: some mu in [0, 1] must make the action optimal.
            # Pressing is optimal at mu = 0; hedging with any weight needs mu_star <= 1.
            if hedge_after[("H", s)] > 0 and mu_star > 1:
                return None

    hedge_prob = sum(prior[t] * ((disclose[t] * hedge_after[(t, "D")])
                                 + (1 - disclose[t]) * hedge_after[(t, "ND")]) for t in "HL")
    disclose_prob = prior["H"] * disclose["H"] + prior["L"] * disclose["L"]
    outcome = (hedge_prob, disclose_prob,
               Fraction(profile.payoff("China")), Fraction(profile.payoff("Foreign")))
    y_nd, y_d = hedge_after[("H", "ND")], hedge_after[("H", "D")]
    pure = all(x in (0, 1) for x in (disclose["H"], disclose["L"])) and all(
        hedge_after[(t, s)] in (0, 1) for t in "HL" for s in ("D", "ND")
        if prior[t] * (disclose[t] if s == "D" else 1 - disclose[t]) > 0)
    code = None
    if disclose["H"] == 0 and disclose["L"] == 0:
        code = {1: signalling.POOL_ND_HEDGE, 0: signalling.POOL_ND_PRESS}.get(y_nd)
    elif disclose["H"] == 1 and disclose["L"] == 0 and y_nd == 0 and y_d == 1:
        code = signalling.SEPARATING
    elif 0 < disclose["H"] < 1 and disclose["L"] == 0 and 0 < y_nd < 1 and y_d == 1:
        code = signalling.HYBRID
    elif disclose["H"] == 1 and disclose["L"] == 1 and y_d == 1:
        code = signalling.POOL_D_HEDGE
    return code, pure, outcome


def kernel_outcome(code, params):
    A, gamma, delta, phi_D, kappa, p = map(float, params)
    mu_star = woods.evaluate(A, gamma, delta, phi_D, kappa, p)["mu_star"].item()
    return signalling.outcome(code, A, gamma, delta, phi_D, kappa, p, mu_star)


@pytest.mark.parametrize("concept, seed", [("verifiable", 11), ("mimicable", 12)])
def test_equilibrium_sets_match_gambit(concept, seed):
    revealing = concept == "verifiable"
    points = sample_points(seed, N_POINTS)
    regions = set()
    for params in points:
        game, types = build_game(*params, revealing=revealing)
        found = set()
        for profile in gbt.nash.enummixed_solve(game, rational=True).equilibria:
            result = classify(profile, types, params, revealing)
            if result is None:
                continue  # Nash but not perfect Bayesian
            code, pure, outcome = result
            if not (pure or revealing):
                continue  # mimicable: mixed equilibria form continua the engine does not list
            # Every remaining PBE off the ties must be one the engine can list.
            assert code is not None, f"unlisted equilibrium at {params}: {outcome}"
            found.add(code)
            np.testing.assert_allclose(kernel_outcome(code, params),
                                       [float(x) for x in outcome], rtol=1e-12, atol=1e-15,
                                       err_msg=f"code {code} at {params}")
        bits = int(woods.evaluate(*map(float, params), concept=concept)["eq_set"])
        listed = {c for c in signalling.EQUILIBRIUM_CODES if bits >> c & 1}
        assert found == listed, f"{concept} at {params}: gambit {found}, kernel {listed}"
        regions.add(frozenset(listed))
    # The sample must visit several regions, or the comparison proves little.
    assert len(regions) >= 3, regions
