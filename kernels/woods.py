"""The combined model the studies evaluate: signalling equilibrium, then bargaining.

Three layers (DESIGN.md): the scalar core :func:`evaluate_row`, the serial batch loop
:func:`_evaluate_rows`, and the checked public functions :func:`evaluate` (numpy
broadcasting, any shapes) and :func:`evaluate_block` (the engine's entry: one 2-D block of
parameter rows, no per-row Python). The declaration at the bottom is what the engine reads.
"""
import math

import numpy as np

from reesens.kernels import bargaining, signalling
from reesens.kernels.accelerate import jit
from reesens.kernels.registry import (
    Model,
    Variable,
    Words,
    allocate,
    checked_block,
    option_position,
    register,
)

PAYOFF = "payoff"  # the common, arbitrary unit of A, gamma, delta, phi_D, kappa, S and payoffs

_POSITIVE = dict(lower=0.0, upper=math.inf)
PARAMS = (
    Variable("A", "float64", PAYOFF, "foreign cost of hedging", **_POSITIVE),
    Variable("gamma", "float64", PAYOFF, "foreign gain from pressing a weak China", **_POSITIVE),
    Variable("delta", "float64", PAYOFF, "foreign loss from pressing a strong China", **_POSITIVE),
    Variable("phi_D", "float64", PAYOFF, "China's cost of disclosing quotas", **_POSITIVE),
    Variable("kappa", "float64", PAYOFF, "China's cost of being pressed", **_POSITIVE),
    Variable("p", "float64", "1", "prior probability that China is strong",
             lower=0.0, upper=1.0, lower_closed=True, upper_closed=True),
    Variable("rho_C", "float64", "1", "China's per-round discount factor",
             lower=0.0, upper=1.0, lower_closed=True, default=0.9),
    Variable("rho_F", "float64", "1", "foreign per-round discount factor",
             lower=0.0, upper=1.0, lower_closed=True, default=0.9),
    Variable("S", "float64", PAYOFF, "export rent bargained over", **_POSITIVE, default=1.0),
)

_CODES = dict(flag_values=signalling.CODE_VALUES, flag_meanings=signalling.CODE_MEANINGS)
OUTPUTS = (
    Variable("mu_star", "float64", "1", "belief threshold above which the foreigner hedges"),
    Variable("margin", "float64", "1", "prior minus belief threshold, p - mu_star"),
    Variable("dmu_dA", "float64", "payoff-1", "derivative of mu_star in A"),
    Variable("dmu_dgamma", "float64", "payoff-1", "derivative of mu_star in gamma"),
    Variable("dmu_ddelta", "float64", "payoff-1", "derivative of mu_star in delta"),
    Variable("eq_set", "uint8", "1", "equilibrium set as a bitmask over equilibrium codes",
             flag_masks=tuple(1 << c for c in signalling.CODE_VALUES[1:]),
             flag_meanings=signalling.CODE_MEANINGS[1:]),
    Variable("n_eq", "int8", "1", "number of equilibria (codes 1 to 5) in the set"),
    Variable("eq", "int8", "1", "selected equilibrium", **_CODES),
    Variable("hedge_prob", "float64", "1", "probability that the foreigner hedges"),
    Variable("disclose_prob", "float64", "1", "probability that China discloses"),
    Variable("china_payoff", "float64", PAYOFF, "China's expected payoff net of V_Q"),
    Variable("foreign_payoff", "float64", PAYOFF, "foreign expected payoff"),
    Variable("leverage", "float64", PAYOFF, "China's payoff minus its full-disclosure payoff"),
    Variable("adjustment_cost", "float64", PAYOFF,
             "foreign full-disclosure payoff minus its equilibrium payoff"),
    Variable("china_share", "float64", "1", "China's bargained share of the export rent"),
    Variable("foreign_share", "float64", "1", "foreign bargained share of the export rent"),
    Variable("agreement", "float64", "1", "1 if bargaining ends in agreement, else 0"),
)
PARAM_NAMES = tuple(v.name for v in PARAMS)
OUTPUT_NAMES = tuple(v.name for v in OUTPUTS)
OPTIONS = {
    "concept": signalling.CONCEPTS,
    "selection": signalling.SELECTIONS,
    "bargaining": bargaining.MODES,
}

_NAN = math.nan


@jit
def evaluate_row(A, gamma, delta, phi_D, kappa, p, rho_C, rho_F, S,
                 concept, selection, mode):
    """Every output of one parameter vector, as a tuple in OUTPUT_NAMES order.

    `concept`, `selection`, `mode` are positions in OPTIONS' tuples. A vector outside the
    domain gives eq = -1, eq_set = n_eq = 0 and NaN floats; nothing raises. Every output
    is computed, then replaced by these where the vector is invalid: selects, not
    branches, so that loops over rows vectorise (IEEE division cannot trap, see
    kernels.accelerate).
    """
    valid = (signalling.is_valid(A, gamma, delta, phi_D, kappa, p)
             & bargaining.is_valid(rho_C, rho_F, S))
    mu_star, dmu_dA, dmu_dgamma, dmu_ddelta = signalling.threshold(A, gamma, delta)
    bits = signalling.equilibrium_set(concept, A, delta, phi_D, kappa, p, mu_star)
    eq, n_eq, hedge, disclose, china, foreign = signalling.select(
        selection, bits, A, gamma, delta, phi_D, kappa, p, mu_star)
    china_full, foreign_full = signalling.full_disclosure(A, gamma, delta, phi_D, kappa, p)
    x_C, x_F, agreement = bargaining.split(mode, china, foreign, rho_C, rho_F, S)
    return (_kept(valid, mu_star), _kept(valid, p - mu_star), _kept(valid, dmu_dA),
            _kept(valid, dmu_dgamma), _kept(valid, dmu_ddelta), bits if valid else 0,
            n_eq if valid else 0, eq if valid else signalling.INVALID, _kept(valid, hedge),
            _kept(valid, disclose), _kept(valid, china), _kept(valid, foreign),
            _kept(valid, china - china_full), _kept(valid, foreign_full - foreign),
            _kept(valid, x_C / S), _kept(valid, x_F / S), _kept(valid, agreement))


@jit
def _kept(valid, x):
    """x for a valid vector, NaN otherwise."""
    return x if valid else _NAN


@jit
def _evaluate_rows(params, concept, selection, mode,
                   mu_star, margin, dmu_dA, dmu_dgamma, dmu_ddelta, eq_set, n_eq, eq,
                   hedge_prob, disclose_prob, china_payoff, foreign_payoff, leverage,
                   adjustment_cost, china_share, foreign_share, agreement):
    """Serial loop of evaluate_row over the rows of params (n, 9), into the outputs (n,)."""
    for i in range(params.shape[0]):
        (mu_star[i], margin[i], dmu_dA[i], dmu_dgamma[i], dmu_ddelta[i], eq_set[i], n_eq[i],
         eq[i], hedge_prob[i], disclose_prob[i], china_payoff[i], foreign_payoff[i],
         leverage[i], adjustment_cost[i], china_share[i], foreign_share[i],
         agreement[i]) = evaluate_row(
            params[i, 0], params[i, 1], params[i, 2], params[i, 3], params[i, 4],
            params[i, 5], params[i, 6], params[i, 7], params[i, 8],
            concept, selection, mode)


@jit
def row(params, i, options):
    """evaluate_row on row i of params (n, 9), options the positions of (concept,
    selection, bargaining): the fused path's entry (registry.Model.row)."""
    return evaluate_row(params[i, 0], params[i, 1], params[i, 2], params[i, 3], params[i, 4],
                        params[i, 5], params[i, 6], params[i, 7], params[i, 8],
                        options[0], options[1], options[2])


def option_code(function: str, name: str, value: str) -> int:
    """Position of `value` among the allowed values of option `name`; ValueError otherwise."""
    return option_position(function, OPTIONS, name, value)


def allocate_outputs(n: int) -> dict[str, np.ndarray]:
    """Uninitialised output arrays for n rows, one per output, with the declared dtypes."""
    return allocate(OUTPUTS, n)


def evaluate_block(params, *, concept="verifiable", selection="china", bargaining="inside",
                   out=None):
    """Evaluate a block of parameter rows.

    params: float64 array (n, 9), columns A, gamma, delta, phi_D, kappa, p, rho_C, rho_F,
    S (PARAM_NAMES). Any memory order works; Fortran order (each parameter contiguous) is
    fastest. Rows outside the domain, rho_C/rho_F/S included, come back invalid (eq = -1).
    out: optional dict from :func:`allocate_outputs` (length n) to fill instead of
    allocating. Returns {output name: array (n,)}.
    """
    codes = [option_code("evaluate_block", name, value) for name, value in
             (("concept", concept), ("selection", selection), ("bargaining", bargaining))]
    out = checked_block(params, PARAMS, OUTPUTS, out)
    _evaluate_rows(params, *codes, *(out[name] for name in OUTPUT_NAMES))
    return out


def evaluate(A, gamma, delta, phi_D, kappa, p, *, concept="verifiable", selection="china",
             bargaining="inside", rho_C=0.9, rho_F=0.9, S=1.0):
    """Every output of docs/model.md for the given parameters.

    The inputs are scalars or arrays that broadcast together like numpy; each output has
    the broadcast shape. Vectors outside the domain of A..p give eq = -1 and NaN floats
    row by row. `rho_C`, `rho_F` in [0, 1) and `S` > 0 are settings: a value outside
    them raises ValueError, as does an unknown concept, selection or bargaining mode.
    Returns {output name: array}.
    """
    for name, value in (("concept", concept), ("selection", selection),
                        ("bargaining", bargaining)):
        option_code("evaluate", name, value)
    values = {"A": A, "gamma": gamma, "delta": delta, "phi_D": phi_D, "kappa": kappa, "p": p,
              "rho_C": rho_C, "rho_F": rho_F, "S": S}
    arrays = []
    for name, value in values.items():
        try:
            arrays.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError(f"evaluate: {name} must be numeric, got {value!r}") from None
    for var, a in zip(PARAMS[6:], arrays[6:]):
        bad = ~var.contains(a)
        if bad.any():
            raise ValueError(f"evaluate: {var.name} must satisfy {var.domain_text()}; "
                             f"got {a[bad].flat[0]!r}")
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in zip(values, arrays))
        raise ValueError(f"evaluate: inputs do not broadcast together: {shapes}") from None
    shape = arrays[0].shape
    block = np.empty((arrays[0].size, len(PARAMS)), dtype=np.float64, order="F")
    for j, a in enumerate(arrays):
        block[:, j] = a.ravel()
    out = evaluate_block(block, concept=concept, selection=selection, bargaining=bargaining)
    return {name: a.reshape(shape) for name, a in out.items()}


def overlay(x: str, y: str, X: np.ndarray, Y: np.ndarray, values: dict) -> dict:
    """What a phase diagram of the plane (x, y) draws over the codes (registry.Words):
    contours of mu_star = (A + gamma) / (gamma + delta), the tie p = mu_star and, where
    kappa and phi_D are known, the tie kappa = phi_D; {} without A, gamma, delta or p."""
    coords = {x: X, y: Y}
    get = lambda n: coords.get(n, values.get(n))  # noqa: E731
    if any(get(n) is None for n in ("A", "gamma", "delta", "p")):
        return {}
    ones = np.ones_like(X, dtype=np.float64)
    mu_star = (get("A") + get("gamma")) / (get("gamma") + get("delta")) * ones
    lines = [("p", r"tie $p = \mu^*$", "--", get("p") * ones - mu_star)]
    if get("kappa") is not None and get("phi_D") is not None:
        lines.append(("kappa", r"tie $\kappa = \phi_D$", ":",
                      (get("kappa") - get("phi_D")) * ones))
    ties = {d: values[other] for d, other in (("kappa", "phi_D"), ("phi_D", "kappa"))
            if d in (x, y) and other in values}  # kappa == phi_D across the plane
    return {"contours": (r"$\mu^*$ contours", mu_star), "lines": lines, "ties": ties}


# docs/model.md's names in words: symbols, the equilibrium codes, the options
WORDS = Words(
    symbols={"A": "$A$", "gamma": r"$\gamma$", "delta": r"$\delta$", "phi_D": r"$\phi_D$",
             "kappa": r"$\kappa$", "p": "$p$", "mu_star": r"$\mu^*$", "rho_C": r"$\rho_C$",
             "rho_F": r"$\rho_F$", "S": "$S$"},
    text={"gamma": "γ", "delta": "δ", "phi_D": "φ_D", "kappa": "κ", "mu_star": "μ*",
          "rho_C": "ρ_C", "rho_F": "ρ_F"},
    codes={"invalid": "invalid vector", "none": "no equilibrium",
           "pool_nd_hedge": "pooling, no disclosure, foreigner hedges",
           "pool_nd_press": "pooling, no disclosure, foreigner presses",
           "separating": "separating", "hybrid": "hybrid",
           "pool_d_hedge": "pooling, disclosure, foreigner hedges",
           "boundary": "boundary (Theorem 4's tie case)"},
    options={("concept", "verifiable"): "verifiable disclosure",
             ("concept", "paper"): "Woods (2025)'s Theorem 4",
             ("concept", "mimicable"): "mimicable disclosure",
             ("selection", "china"): "selected by China's payoff",
             ("selection", "foreign"): "selected by the foreigner's payoff",
             ("selection", "hedge"): "selected for the most hedging",
             ("selection", "transparent"): "selected for the most disclosure"},
    choice="eq", compare="eq_set",
    planes=(("kappa", "p"), ("delta", "p"), ("A", "delta")),
    tie=("kappa", "phi_D"), overlay=overlay)


MODEL = register(Model(
    name="woods",
    title="Woods (2025) disclosure signalling game with Rubinstein bargaining",
    params=PARAMS,
    outputs=OUTPUTS,
    evaluate_block=evaluate_block,
    options=OPTIONS,
    # 2-core AMD EPYC VM, 2026-12-03, the shipped studies' rows under load: 38-240 ns
    # (50-60 unloaded; 49 ns a cell in a grid sweep)
    row_seconds=150e-9,
    words=WORDS,
    row=row,
    derived=("mu_star", "margin"),
))
