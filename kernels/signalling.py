"""The disclosure signalling game of Woods (2025): docs/model.md sections 1-3.

Scalar numba cores for one parameter vector: validity, the belief threshold and its
comparative statics, the equilibrium set of each concept, the outcome of each equilibrium,
and the selection rule. They neither allocate nor raise; the combined model
(:mod:`kernels.woods`) loops them over rows. Payoffs are net of the type constant V_Q, in
the same payoff units as A, gamma, delta, phi_D and kappa.
"""
import math

from reesens.kernels.accelerate import jit, literal_unroll

# Equilibrium codes (int8) and their CF flag meanings, docs/model.md section 3.
CODE_VALUES = (-1, 0, 1, 2, 3, 4, 5, 6)
CODE_MEANINGS = ("invalid", "none", "pool_nd_hedge", "pool_nd_press", "separating",
                 "hybrid", "pool_d_hedge", "boundary")
INVALID, NONE, POOL_ND_HEDGE, POOL_ND_PRESS, SEPARATING, HYBRID, POOL_D_HEDGE, BOUNDARY = CODE_VALUES
EQUILIBRIUM_CODES = (POOL_ND_HEDGE, POOL_ND_PRESS, SEPARATING, HYBRID, POOL_D_HEDGE)

# Option names; the integer passed to the kernels is the position in the tuple, the first
# entry is the default.
CONCEPTS = ("verifiable", "paper", "mimicable")
VERIFIABLE, PAPER, MIMICABLE = range(3)
SELECTIONS = ("china", "foreign", "hedge", "transparent")
BY_CHINA, BY_FOREIGN, BY_HEDGE, BY_TRANSPARENT = range(4)


@jit
def _positive_finite(x):
    return (0.0 < x) & (x < math.inf)


@jit
def is_valid(A, gamma, delta, phi_D, kappa, p):
    """Is the vector inside the domain of docs/model.md section 1 (NaN never is)?"""
    return (_positive_finite(A) & _positive_finite(gamma) & _positive_finite(delta)
            & _positive_finite(phi_D) & _positive_finite(kappa) & (0.0 <= p) & (p <= 1.0))


@jit
def threshold(A, gamma, delta):
    """(mu_star, dmu_dA, dmu_dgamma, dmu_ddelta): the hedging threshold and its statics."""
    s = gamma + delta
    s2 = s * s
    return (A + gamma) / s, 1.0 / s, (delta - A) / s2, -(A + gamma) / s2


@jit
def _bit(code, condition):
    """1 << code where condition holds, else 0."""
    return (1 << code) if condition else 0


@jit
def equilibrium_set(concept, A, delta, phi_D, kappa, p, mu_star):
    """Bitmask of the concept's equilibrium set: bit k set iff code k is in it.

    The rules of docs/model.md section 2 with their exact >= / <=, comparing p with the float
    mu_star (so the region always agrees with the sign of p - mu_star). A == delta
    resolves toward Press: A >= delta gives {pool_nd_press} under every concept. Written
    as selects, not branches, so that loops over rows vectorise (concept is the same for
    every row).
    """
    above, below, tie = p > mu_star, p < mu_star, p == mu_star
    cheap, costly, even = kappa < phi_D, kappa > phi_D, kappa == phi_D
    if concept == PAPER:
        bits = (_bit(POOL_ND_HEDGE, above) | _bit(BOUNDARY, tie)
                | _bit(POOL_ND_PRESS, below & (cheap | even)) | _bit(SEPARATING, below & even)
                | _bit(NONE, below & costly))
    elif concept == VERIFIABLE:
        bits = (_bit(POOL_ND_HEDGE, above | tie) | _bit(POOL_ND_PRESS, (below | tie) & (not costly))
                | _bit(SEPARATING, (not cheap)) | _bit(HYBRID, above & costly))
    else:  # MIMICABLE
        bits = (_bit(POOL_ND_HEDGE, above | tie) | _bit(POOL_D_HEDGE, (above | tie) & (not cheap))
                | _bit(POOL_ND_PRESS, below | tie) | _bit(SEPARATING, even))
    return (1 << POOL_ND_PRESS) if A >= delta else bits


@jit
def _separating_china_payoff(phi_D, kappa, p):
    """-p*phi_D - (1-p)*kappa, exact where it ties with another equilibrium's payoff.

    The ties (with -kappa when kappa == phi_D or p == 0, with -phi_D when p == 1) must
    survive rounding, or selection would break them by float noise, not by lowest code.
    """
    return -kappa if kappa == phi_D else -p * phi_D - (1.0 - p) * kappa


@jit
def outcome(code, A, gamma, delta, phi_D, kappa, p, mu_star):
    """(hedge_prob, disclose_prob, china_payoff, foreign_payoff) of equilibrium `code`.

    Ex ante over China's type; NaN for codes outside 1..5 (docs/model.md section 3 table).
    """
    if code == POOL_ND_HEDGE:
        return 1.0, 0.0, 0.0, -A
    if code == POOL_ND_PRESS:
        # at p == mu_star pressing pays the foreigner exactly -A (it is indifferent), so the
        # foreign selection ties with pool_nd_hedge there and the lowest code wins
        return 0.0, 0.0, -kappa, -A if p == mu_star else (1.0 - p) * gamma - p * delta
    if code == SEPARATING:
        return p, p, _separating_china_payoff(phi_D, kappa, p), -p * A + (1.0 - p) * gamma
    if code == HYBRID:
        sigma = 1.0 - mu_star * (1.0 - p) / (p * (1.0 - mu_star))  # Pr(H discloses)
        x = phi_D / kappa  # Pr(press | ND)
        disclose = p * sigma
        return disclose + (1.0 - disclose) * (1.0 - x), disclose, -phi_D, -A
    if code == POOL_D_HEDGE:
        return 1.0, 1.0, -phi_D, -A
    return math.nan, math.nan, math.nan, math.nan


@jit
def _criterion(selection, hedge, disclose, china, foreign):
    """The value the selection rule maximises."""
    if selection == BY_CHINA:
        return china
    if selection == BY_FOREIGN:
        return foreign
    return hedge if selection == BY_HEDGE else disclose


@jit
def select(selection, bits, A, gamma, delta, phi_D, kappa, p, mu_star):
    """(eq, n_eq, hedge_prob, disclose_prob, china_payoff, foreign_payoff) of the selection.

    Among codes 1..5 in `bits` the one maximising the selection's criterion, ties to the
    lowest code; with none of them, eq is BOUNDARY or NONE as `bits` says, outcomes NaN.
    Every code's outcome is computed and the best kept by selects, not branches (the
    unused ones cost less than a mispredicted branch, and loops over rows vectorise).
    """
    eq, n_eq = NONE, 0
    best = -math.inf
    hedge = disclose = china = foreign = math.nan
    for code in literal_unroll(EQUILIBRIUM_CODES):
        h, d, c, f = outcome(code, A, gamma, delta, phi_D, kappa, p, mu_star)
        value = _criterion(selection, h, d, c, f)
        present = (bits >> code) & 1 == 1
        take = present & ((eq == NONE) | (value > best))
        n_eq += 1 if present else 0
        eq = code if take else eq
        best = value if take else best
        hedge = h if take else hedge
        disclose = d if take else disclose
        china = c if take else china
        foreign = f if take else foreign
    boundary = (eq == NONE) & ((bits >> BOUNDARY) & 1 == 1)
    return BOUNDARY if boundary else eq, n_eq, hedge, disclose, china, foreign


@jit
def full_disclosure(A, gamma, delta, phi_D, kappa, p):
    """(china_full, foreign_full): payoffs when types are always revealed."""
    pressed_if_strong = 1.0 if A >= delta else 0.0
    china = -phi_D - kappa * ((1.0 - p) + p * pressed_if_strong)
    foreign = p * max(-A, -delta) + (1.0 - p) * gamma
    return china, foreign
