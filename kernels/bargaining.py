"""Rubinstein alternating-offers split of the export rent: docs/model.md section 4.

China proposes first; `rho_C`, `rho_F` are per-round discount factors in [0, 1) and `S > 0`
is the pie. The disagreement points d_C, d_F enter as inside options (`inside`, paid per
period of disagreement) or as outside options a responder may take (`outside`).
"""
import math

from reesens.kernels.accelerate import jit

MODES = ("inside", "outside")
INSIDE, OUTSIDE = range(2)


@jit
def is_valid(rho_C, rho_F, S):
    """Are the discount factors in [0, 1) and the pie in (0, inf)?"""
    return 0.0 <= rho_C < 1.0 and 0.0 <= rho_F < 1.0 and 0.0 < S < math.inf


@jit
def proposer_weight(rho_C, rho_F):
    """eta = (1 - rho_F) / (1 - rho_C*rho_F): the proposer's share of the surplus."""
    return (1.0 - rho_F) / (1.0 - rho_C * rho_F)


@jit
def split(mode, d_C, d_F, rho_C, rho_F, S):
    """(x_C, x_F, agreement): each side's payoff and 1.0/0.0 for agreement.

    NaN everywhere when either disagreement payoff is NaN. Written as selects, not
    branches, so that loops over rows vectorise (mode is the same for every row).
    """
    eta = proposer_weight(rho_C, rho_F)
    if mode == INSIDE:
        surplus = S - d_C - d_F
        gain = max(surplus, 0.0)
        x_C, x_F = d_C + eta * gain, d_F + (1.0 - eta) * gain
        agreement = 1.0 if surplus > 0.0 else 0.0
    else:
        # Outside-option principle (Binmore, Shaked & Sutton 1989).
        eta_F = (1.0 - rho_C) / (1.0 - rho_C * rho_F)
        bound_C = S - rho_F * (S - d_C) if d_F <= rho_F * (S - d_C) else S - d_F
        x_C = S - d_F if d_F > rho_F * eta_F * S else (
            bound_C if d_C > rho_C * eta * S else eta * S)
        breakdown = d_C + d_F >= S
        x_F = d_F if breakdown else S - x_C
        x_C = d_C if breakdown else x_C
        agreement = 0.0 if breakdown else 1.0
    missing = math.isnan(d_C) | math.isnan(d_F)
    return (math.nan if missing else x_C, math.nan if missing else x_F,
            math.nan if missing else agreement)
