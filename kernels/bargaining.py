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

    NaN everywhere when either disagreement payoff is NaN.
    """
    if math.isnan(d_C) or math.isnan(d_F):
        return math.nan, math.nan, math.nan
    eta = proposer_weight(rho_C, rho_F)
    if mode == INSIDE:
        surplus = S - d_C - d_F
        gain = max(surplus, 0.0)
        return d_C + eta * gain, d_F + (1.0 - eta) * gain, 1.0 if surplus > 0.0 else 0.0
    # Outside-option principle (Binmore, Shaked & Sutton 1989).
    if d_C + d_F >= S:
        return d_C, d_F, 0.0
    eta_F = (1.0 - rho_C) / (1.0 - rho_C * rho_F)
    if d_F > rho_F * eta_F * S:
        x_C = S - d_F
    elif d_C > rho_C * eta * S:
        x_C = S - rho_F * (S - d_C) if d_F <= rho_F * (S - d_C) else S - d_F
    else:
        x_C = eta * S
    return x_C, S - x_C, 1.0
