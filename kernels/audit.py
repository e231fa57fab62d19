"""The paper audit: Woods (2025)'s Theorem 4 (`paper`) beside the exact `verifiable` set,
row by row.

Registered as model `woods_audit` with the parameters of :mod:`kernels.woods`. Per
parameter vector it gives both concepts' equilibrium sets and selected codes, whether the
sets differ, and the region of the rules the vector falls in (p against mu_star, kappa
against phi_D, or A >= delta), so a Monte Carlo study can estimate Sobol' indices of the
disagreement indicator and a grid can map it. Same three layers as kernels.woods.
"""
import math
from dataclasses import replace

import numpy as np

from reesens.kernels import signalling, woods
from reesens.kernels.accelerate import jit
from reesens.kernels.registry import Audit, Model, Variable, register

# Regions of docs/model.md section 2's rules: 0 when A >= delta (everyone presses), else
# 1 + 3*(p vs mu_star) + (kappa vs phi_D), each comparison 0 (<), 1 (==), 2 (>).
_CMP = ("lt", "eq", "gt")
REGION_MEANINGS = ("invalid", "A_ge_delta") + tuple(
    f"p_{a}_mustar_kappa_{b}_phiD" for a in _CMP for b in _CMP)
REGION_VALUES = tuple(range(-1, 10))
AGREE = 10  # disagreement_region where both sets are equal

_CODES = dict(flag_values=signalling.CODE_VALUES, flag_meanings=signalling.CODE_MEANINGS)
_MASKS = dict(flag_masks=tuple(1 << c for c in signalling.CODE_VALUES[1:]),
              flag_meanings=signalling.CODE_MEANINGS[1:])
OUTPUTS = (
    Variable("mu_star", "float64", "1", "belief threshold above which the foreigner hedges"),
    Variable("eq_paper", "int8", "1", "selected equilibrium of Woods (2025)'s Theorem 4",
             **_CODES),
    Variable("eq_verifiable", "int8", "1", "selected equilibrium of the verifiable PBE set",
             **_CODES),
    Variable("eq_set_paper", "uint8", "1", "Theorem 4's set as a bitmask over codes",
             **_MASKS),
    Variable("eq_set_verifiable", "uint8", "1", "verifiable PBE set as a bitmask over codes",
             **_MASKS),
    Variable("sets_differ", "int8", "1", "1 where the two equilibrium sets differ",
             flag_values=(-1, 0, 1), flag_meanings=("invalid", "same", "differ")),
    Variable("region", "int8", "1", "region of the rules: p vs mu_star, kappa vs phi_D",
             flag_values=REGION_VALUES, flag_meanings=REGION_MEANINGS),
    Variable("disagreement_region", "int8", "1",
             "the region where the sets differ, or agree where they are equal",
             flag_values=REGION_VALUES + (AGREE,),
             flag_meanings=REGION_MEANINGS + ("agree",)),
)
OUTPUT_NAMES = tuple(v.name for v in OUTPUTS)
OPTIONS = {"selection": signalling.SELECTIONS}


@jit
def _compare(x, y):
    return 0 if x < y else (1 if x == y else 2)


@jit
def audit_row(A, gamma, delta, phi_D, kappa, p, selection):
    """(mu_star, eq_paper, eq_verifiable, set_paper, set_verifiable, sets_differ, region,
    disagreement_region) of one vector; invalid vectors give NaN, -1 codes and 0 sets."""
    if not signalling.is_valid(A, gamma, delta, phi_D, kappa, p):
        return math.nan, -1, -1, 0, 0, -1, -1, -1
    mu_star = signalling.threshold(A, gamma, delta)[0]
    sets = (signalling.equilibrium_set(signalling.PAPER, A, delta, phi_D, kappa, p, mu_star),
            signalling.equilibrium_set(signalling.VERIFIABLE, A, delta, phi_D, kappa, p,
                                       mu_star))
    eq_paper = signalling.select(selection, sets[0], A, gamma, delta, phi_D, kappa, p,
                                 mu_star)[0]
    eq_verifiable = signalling.select(selection, sets[1], A, gamma, delta, phi_D, kappa, p,
                                      mu_star)[0]
    region = 0 if A >= delta else 1 + 3 * _compare(p, mu_star) + _compare(kappa, phi_D)
    differ = 1 if sets[0] != sets[1] else 0
    return (mu_star, eq_paper, eq_verifiable, sets[0], sets[1], differ, region,
            region if differ else AGREE)


@jit
def row(params, i, options):
    """audit_row on row i of params (n, 9) (woods' columns), options (selection,) as a
    position: the fused path's entry (registry.Model.row)."""
    return audit_row(params[i, 0], params[i, 1], params[i, 2], params[i, 3], params[i, 4],
                     params[i, 5], options[0])


@jit
def _audit_rows(params, selection, mu_star, eq_paper, eq_verifiable, set_paper,
                set_verifiable, sets_differ, region, disagreement_region):
    """Serial loop of audit_row over params (n, 9) (woods' columns), into the outputs."""
    for i in range(params.shape[0]):
        (mu_star[i], eq_paper[i], eq_verifiable[i], set_paper[i], set_verifiable[i],
         sets_differ[i], region[i], disagreement_region[i]) = audit_row(
            params[i, 0], params[i, 1], params[i, 2], params[i, 3], params[i, 4],
            params[i, 5], selection)


def evaluate_block(params, *, selection="china"):
    """Audit a block of parameter rows: params float64 (n, 9) in woods.PARAM_NAMES order
    (rho_C, rho_F, S are ignored). Returns {output name: array (n,)}."""
    if selection not in OPTIONS["selection"]:
        raise ValueError(f"evaluate_block: selection={selection!r} is not allowed; allowed "
                         f"values: {', '.join(OPTIONS['selection'])}")
    if not isinstance(params, np.ndarray) or params.dtype != np.float64 or params.ndim != 2 \
            or params.shape[1] != len(woods.PARAMS):
        raise ValueError(f"evaluate_block: params must be a float64 array (n, "
                         f"{len(woods.PARAMS)}) with columns {', '.join(woods.PARAM_NAMES)}")
    out = {v.name: np.empty(params.shape[0], dtype=v.dtype) for v in OUTPUTS}
    _audit_rows(params, OPTIONS["selection"].index(selection),
                *(out[name] for name in OUTPUT_NAMES))
    return out


_COMPARE = {"lt": "<", "eq": "=", "gt": ">"}
WORDS = replace(
    woods.WORDS,
    codes={**woods.WORDS.codes, "same": "same set", "differ": "sets differ",
           "agree": "sets agree", "A_ge_delta": "A ≥ δ (pressing never pays off)",
           **{f"p_{a}_mustar_kappa_{b}_phiD": f"p {_COMPARE[a]} μ*, κ {_COMPARE[b]} φ_D"
              for a in _CMP for b in _CMP}},
    choice="", compare="",
    audit=Audit(flag="sets_differ", region="region", where="disagreement_region",
                compared="Woods (2025)'s Theorem 4 (`paper`) and the exact "
                         "verifiable-disclosure set",
                short="Theorem 4's set vs the verifiable set",
                misstates="Theorem 4 misstates the equilibrium set", title="Paper audit"))

MODEL = register(Model(
    name="woods_audit",
    title="Woods (2025): Theorem 4 against the verifiable-disclosure PBE",
    params=woods.PARAMS,
    outputs=OUTPUTS,
    evaluate_block=evaluate_block,
    options=OPTIONS,
    row_seconds=60e-9,  # 2-core AMD EPYC VM, 2026-12-03, under load: 15-40 ns
    words=WORDS,
    row=row,
))
