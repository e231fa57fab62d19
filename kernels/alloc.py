"""China's export allocation across partners (`woods_alloc`): docs/model.md, allocation.

Per partner i in (US, EU, JP) the woods signalling game (kernels.signalling) gives the
equilibrium and the per-unit disagreement payoffs (d_C_i, d_F_i); each outlet j in (CN,
US, EU, JP, R) then bargains (inside options, China proposing) over the rent of its volume
q_j, pie S_j(q) = u_j (2 q - q^2 / m_j), and China chooses the volumes to maximise its
total bargained rent subject to sum q <= 1. The optimum is water-filling on one shadow
price lambda: q_j(lambda) = min(m_j, k_j max(v_j - lambda, 0)), T(lambda) = sum_j
q_j(lambda) is piecewise linear with kinks at hi_j = v_j and lo_j = v_j - 2 eta_j u_j,
so lambda* is exact from the ten breakpoints (no iteration, no tolerance).

Layers as kernels.woods: the scalar core `evaluate_row`, the serial loop, the checked
`evaluate_block`; the declaration at the bottom is what the engine reads.
"""
import math

import numpy as np

from reesens.kernels import bargaining, signalling, woods
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
from reesens.kernels.woods import PAYOFF

PARTNERS = ("US", "EU", "JP")
OUTLETS = ("CN", *PARTNERS, "R")  # domestic use, the partners, the rest of the world
# The bargaining study's published allocation (US, EU, JP, others) and export ratio: a
# comparison, never a target (docs/model.md)
SEED_SHARES = (0.402, 0.389, 0.060, 0.150)
SEED_EXPORT_RATIO = 0.4
SEED_TOL = 0.02

_POSITIVE = dict(lower=0.0, upper=math.inf)
_PROBABILITY = dict(lower=0.0, upper=1.0, lower_closed=True, upper_closed=True)
_DISCOUNT = dict(lower=0.0, upper=1.0, lower_closed=True, default=0.9)
_DEMAND = {"CN": 0.70, "US": 0.35, "EU": 0.55, "JP": 0.10, "R": 0.25}
_WHERE = {"CN": "domestic use", "US": "the US", "EU": "the EU", "JP": "Japan",
          "R": "the rest of the world"}
PARAMS = (
    Variable("gamma", "float64", PAYOFF, "foreign gain from pressing a weak China",
             **_POSITIVE),
    Variable("phi_D", "float64", PAYOFF, "China's cost of disclosing quotas", **_POSITIVE),
    Variable("kappa", "float64", PAYOFF, "China's cost of being pressed", **_POSITIVE),
    *(v for i in PARTNERS for v in (
        Variable(f"A_{i}", "float64", PAYOFF, f"cost of hedging for {_WHERE[i]}",
                 **_POSITIVE),
        Variable(f"delta_{i}", "float64", PAYOFF,
                 f"loss of {_WHERE[i]} from pressing a strong China", **_POSITIVE),
        Variable(f"p_{i}", "float64", "1", f"prior of {_WHERE[i]} that China is strong",
                 **_PROBABILITY))),
    Variable("rho_C", "float64", "1", "China's per-round discount factor", **_DISCOUNT),
    *(Variable(f"rho_{j}", "float64", "1", f"per-round discount factor of {_WHERE[j]}",
               **_DISCOUNT) for j in (*PARTNERS, "R")),
    *(Variable(f"m_{j}", "float64", "1",
               f"demand of {_WHERE[j]}: the volume (China's output = 1) at which its "
               "marginal value reaches 0", lower=0.0, upper=math.inf, lower_closed=True,
               default=_DEMAND[j]) for j in OUTLETS),
    *(Variable(f"u_{j}", "float64", PAYOFF,
               f"rent per unit of volume when {_WHERE[j]} is fully served", **_POSITIVE,
               default=1.0) for j in OUTLETS),
)
_CODES = dict(flag_values=signalling.CODE_VALUES, flag_meanings=signalling.CODE_MEANINGS)
_BITS = dict(flag_masks=(1, 2, 4, 8, 16), flag_meanings=OUTLETS)
OUTPUTS = (
    *(Variable(f"eq_{i}", "int8", "1", f"selected equilibrium with {_WHERE[i]}", **_CODES)
      for i in PARTNERS),
    *(Variable(f"q_{j}", "float64", "1", f"volume allocated to {_WHERE[j]} (China's output "
               "= 1)") for j in OUTLETS),
    *(Variable(f"share_{j}", "float64", "1", f"share of China's exports going to {_WHERE[j]}")
      for j in (*PARTNERS, "R")),
    Variable("export_share", "float64", "1", "volume exported (China's output = 1)"),
    Variable("export_ratio", "float64", "1", "exports over exports and domestic use"),
    Variable("slack", "float64", "1", "output left unallocated (0 where output is scarce)"),
    Variable("shadow_price", "float64", PAYOFF, "China's marginal rent of output, lambda*"),
    Variable("china_rent", "float64", PAYOFF, "China's bargained rent over every outlet"),
    Variable("zero_mask", "uint8", "1", "outlets allocated nothing", **_BITS),
    Variable("full_mask", "uint8", "1", "outlets served to their whole demand", **_BITS),
    Variable("signal_consistent", "float64", "1",
             "1 if the three equilibria disclose alike by China's type, else 0"),
    Variable("seed_dist", "float64", "1",
             "largest gap between a share and the bargaining study's published share"),
    Variable("near_seed", "float64", "1",
             "1 if every share is within 2 points of the published split, else 0"),
    Variable("export_gap", "float64", "1", "export ratio minus the published 0.4"),
)
PARAM_NAMES = tuple(v.name for v in PARAMS)
OUTPUT_NAMES = tuple(v.name for v in OUTPUTS)
OPTIONS = {
    "concept": signalling.CONCEPTS,
    "selection": signalling.SELECTIONS,
    "bargaining": ("inside",),  # outside options make each rent a minimum of two pieces
}
_NAN = math.nan
_LOWER = np.array([v.lower for v in PARAMS])
_UPPER = np.array([v.upper for v in PARAMS])
_LOWER_CLOSED = np.array([v.lower_closed for v in PARAMS])
_UPPER_CLOSED = np.array([v.upper_closed for v in PARAMS])


@jit
def _valid(x):
    """Is every parameter of the row x (27,) inside its domain (NaN never is)?"""
    ok = True
    for j in range(x.shape[0]):
        low = x[j] >= _LOWER[j] if _LOWER_CLOSED[j] else x[j] > _LOWER[j]
        high = x[j] <= _UPPER[j] if _UPPER_CLOSED[j] else x[j] < _UPPER[j]
        ok = ok & low & high
    return ok


@jit
def _partner(concept, selection, A, gamma, delta, phi_D, kappa, p):
    """(eq, d_C, d_F, Pr(disclose | strong), Pr(disclose | weak)) of one partner's game."""
    mu_star = signalling.threshold(A, gamma, delta)[0]
    bits = signalling.equilibrium_set(concept, A, delta, phi_D, kappa, p, mu_star)
    eq, _, _, disclose, china, foreign = signalling.select(
        selection, bits, A, gamma, delta, phi_D, kappa, p, mu_star)
    strong = 1.0 if (eq == signalling.SEPARATING) | (eq == signalling.POOL_D_HEDGE) else 0.0
    strong = disclose / p if eq == signalling.HYBRID else strong
    weak = 1.0 if eq == signalling.POOL_D_HEDGE else 0.0
    return eq, china, foreign, strong, weak


@jit
def _volume(lam, m, k, v):
    return min(m, k * max(v - lam, 0.0))


@jit
def _total(lam, m, k, v):
    """T(lambda) = sum_j q_j(lambda): the volume China would place at shadow price lam
    (m, k, v: 5-tuples over OUTLETS)."""
    return (_volume(lam, m[0], k[0], v[0]) + _volume(lam, m[1], k[1], v[1])
            + _volume(lam, m[2], k[2], v[2]) + _volume(lam, m[3], k[3], v[3])
            + _volume(lam, m[4], k[4], v[4]))


@jit
def shadow_price(m, k, v, eta, u):
    """lambda* >= 0 of the water-filling: 0 where T(0) <= 1, else exact from the ten
    breakpoints hi_j = v_j, lo_j = v_j - 2 eta_j u_j (T is affine between consecutive
    ones; docs/model.md). m, k, v, eta, u: 5-tuples over OUTLETS."""
    t0 = _total(0.0, m, k, v)
    b_lo, t_lo, b_hi, t_hi = 0.0, t0, math.inf, 0.0
    breaks = (v[0], v[1], v[2], v[3], v[4], v[0] - 2.0 * eta[0] * u[0],
              v[1] - 2.0 * eta[1] * u[1], v[2] - 2.0 * eta[2] * u[2],
              v[3] - 2.0 * eta[3] * u[3], v[4] - 2.0 * eta[4] * u[4])
    for c in breaks:
        t = _total(c, m, k, v)
        up = (c > 0.0) & (t > 1.0) & (c > b_lo)
        b_lo, t_lo = (c, t) if up else (b_lo, t_lo)
        down = (t <= 1.0) & (c < b_hi)
        b_hi, t_hi = (c, t) if down else (b_hi, t_hi)
    scarce = b_lo + (t_lo - 1.0) * (b_hi - b_lo) / (t_lo - t_hi)
    return 0.0 if t0 <= 1.0 else scarce


@jit
def _outlet(lam, m, k, v, eta, u, d_C, d_F):
    """(q, China's bargained rent of q) of one outlet at shadow price lam."""
    q = _volume(lam, m, k, v)
    pie = u * (2.0 * q - q * q / m) if m > 0.0 else 0.0
    return q, q * d_C + eta * max(pie - q * (d_C + d_F), 0.0)


@jit
def evaluate_row(x, concept, selection):
    """Every output of one parameter vector x (27,) in PARAM_NAMES order, as a tuple in
    OUTPUT_NAMES order. An invalid vector gives eq_* = -1, masks 0 and NaN floats; a
    partner without payoffs (eq 0 or 6) NaN floats and masks 0; no exports NaN shares.
    Scalars and tuples only (no arrays), so that a loop over rows allocates nothing."""
    gamma, phi_D, kappa, rho_C = x[0], x[1], x[2], x[12]
    eq1, dC1, dF1, s1, w1 = _partner(concept, selection, x[3], gamma, x[4], phi_D, kappa,
                                     x[5])
    eq2, dC2, dF2, s2, w2 = _partner(concept, selection, x[6], gamma, x[7], phi_D, kappa,
                                     x[8])
    eq3, dC3, dF3, s3, w3 = _partner(concept, selection, x[9], gamma, x[10], phi_D, kappa,
                                     x[11])
    m = (x[17], x[18], x[19], x[20], x[21])
    u = (x[22], x[23], x[24], x[25], x[26])
    eta = (1.0, bargaining.proposer_weight(rho_C, x[13]),
           bargaining.proposer_weight(rho_C, x[14]), bargaining.proposer_weight(rho_C, x[15]),
           bargaining.proposer_weight(rho_C, x[16]))
    d_C = (0.0, dC1, dC2, dC3, 0.0)
    d_F = (0.0, dF1, dF2, dF3, 0.0)
    v = (2.0 * u[0], eta[1] * (2.0 * u[1] - dF1) + (1.0 - eta[1]) * dC1,
         eta[2] * (2.0 * u[2] - dF2) + (1.0 - eta[2]) * dC2,
         eta[3] * (2.0 * u[3] - dF3) + (1.0 - eta[3]) * dC3, 2.0 * eta[4] * u[4])
    k = (m[0] / (2.0 * u[0]), m[1] / (2.0 * eta[1] * u[1]), m[2] / (2.0 * eta[2] * u[2]),
         m[3] / (2.0 * eta[3] * u[3]), m[4] / (2.0 * eta[4] * u[4]))
    lam = shadow_price(m, k, v, eta, u)
    q0, x0 = _outlet(lam, m[0], k[0], v[0], eta[0], u[0], d_C[0], d_F[0])
    q1, x1 = _outlet(lam, m[1], k[1], v[1], eta[1], u[1], d_C[1], d_F[1])
    q2, x2 = _outlet(lam, m[2], k[2], v[2], eta[2], u[2], d_C[2], d_F[2])
    q3, x3 = _outlet(lam, m[3], k[3], v[3], eta[3], u[3], d_C[3], d_F[3])
    q4, x4 = _outlet(lam, m[4], k[4], v[4], eta[4], u[4], d_C[4], d_F[4])
    zero = ((1 if q0 == 0.0 else 0) | (2 if q1 == 0.0 else 0) | (4 if q2 == 0.0 else 0)
            | (8 if q3 == 0.0 else 0) | (16 if q4 == 0.0 else 0))
    full = ((1 if (m[0] > 0.0) & (q0 == m[0]) else 0)
            | (2 if (m[1] > 0.0) & (q1 == m[1]) else 0)
            | (4 if (m[2] > 0.0) & (q2 == m[2]) else 0)
            | (8 if (m[3] > 0.0) & (q3 == m[3]) else 0)
            | (16 if (m[4] > 0.0) & (q4 == m[4]) else 0))
    exports = q1 + q2 + q3 + q4
    sh1, sh2, sh3, sh4 = q1 / exports, q2 / exports, q3 / exports, q4 / exports
    dist = max(max(abs(sh1 - SEED_SHARES[0]), abs(sh2 - SEED_SHARES[1])),
               max(abs(sh3 - SEED_SHARES[2]), abs(sh4 - SEED_SHARES[3])))
    consistent = 1.0 if (s1 == s2) & (s2 == s3) & (w1 == w2) & (w2 == w3) else 0.0
    valid = _valid(x)
    ok = valid & (eq1 != signalling.NONE) & (eq1 != signalling.BOUNDARY) \
        & (eq2 != signalling.NONE) & (eq2 != signalling.BOUNDARY) \
        & (eq3 != signalling.NONE) & (eq3 != signalling.BOUNDARY)
    sold = ok & (exports > 0.0)
    nan = _NAN
    ratio = exports / (exports + q0)
    invalid = signalling.INVALID
    return (eq1 if valid else invalid, eq2 if valid else invalid, eq3 if valid else invalid,
            q0 if ok else nan, q1 if ok else nan, q2 if ok else nan, q3 if ok else nan,
            q4 if ok else nan, sh1 if sold else nan, sh2 if sold else nan,
            sh3 if sold else nan, sh4 if sold else nan, exports if ok else nan,
            ratio if ok else nan,
            (1.0 - (q0 + q1 + q2 + q3 + q4) if lam == 0.0 else 0.0) if ok else nan,
            lam if ok else nan, x0 + x1 + x2 + x3 + x4 if ok else nan, zero if ok else 0,
            full if ok else 0, consistent if ok else nan, dist if sold else nan,
            (1.0 if dist <= SEED_TOL else 0.0) if sold else nan,
            ratio - SEED_EXPORT_RATIO if ok else nan)


@jit
def _evaluate_rows(params, concept, selection,
                   eq_US, eq_EU, eq_JP, q_CN, q_US, q_EU, q_JP, q_R, share_US, share_EU,
                   share_JP, share_R, export_share, export_ratio, slack, shadow_price,
                   china_rent, zero_mask, full_mask, signal_consistent, seed_dist,
                   near_seed, export_gap):
    """Serial loop of evaluate_row over the rows of params (n, 27), into the outputs (n,)."""
    for i in range(params.shape[0]):
        (eq_US[i], eq_EU[i], eq_JP[i], q_CN[i], q_US[i], q_EU[i], q_JP[i], q_R[i],
         share_US[i], share_EU[i], share_JP[i], share_R[i], export_share[i],
         export_ratio[i], slack[i], shadow_price[i], china_rent[i], zero_mask[i],
         full_mask[i], signal_consistent[i], seed_dist[i], near_seed[i],
         export_gap[i]) = evaluate_row(params[i], concept, selection)


@jit
def row(params, i, options):
    """evaluate_row on row i of params (n, 27): the fused path's entry (registry.Model.row)."""
    return evaluate_row(params[i], options[0], options[1])


def allocate_outputs(n: int) -> dict[str, np.ndarray]:
    """Uninitialised output arrays for n rows, one per output, with the declared dtypes."""
    return allocate(OUTPUTS, n)


def evaluate_block(params, *, concept="verifiable", selection="china", bargaining="inside",
                   out=None):
    """Evaluate a block of parameter rows: params float64 (n, 27), columns PARAM_NAMES;
    rows outside the domain come back invalid (eq_* = -1). out: optional dict from
    allocate_outputs(n) to fill. Returns {output name: array (n,)}."""
    codes = [option_position("evaluate_block", OPTIONS, name, value) for name, value in
             (("concept", concept), ("selection", selection), ("bargaining", bargaining))]
    out = checked_block(params, PARAMS, OUTPUTS, out)
    _evaluate_rows(params, codes[0], codes[1], *(out[name] for name in OUTPUT_NAMES))
    return out


def evaluate(*, concept="verifiable", selection="china", **values):
    """Every output for the parameters given by name (scalars or arrays that broadcast;
    unset ones take their defaults). Returns {output name: array}."""
    missing = [v.name for v in PARAMS if v.name not in values and v.default is None]
    unknown = sorted(set(values) - set(PARAM_NAMES))
    if missing or unknown:
        raise ValueError(f"evaluate: missing {missing}, unknown {unknown}")
    arrays = np.broadcast_arrays(*(np.asarray(values.get(v.name, v.default), dtype=np.float64)
                                   for v in PARAMS))
    shape = arrays[0].shape
    block = np.empty((arrays[0].size, len(PARAMS)), dtype=np.float64)
    for j, a in enumerate(arrays):
        block[:, j] = a.ravel()
    out = evaluate_block(block, concept=concept, selection=selection)
    return {name: a.reshape(shape) for name, a in out.items()}


# how the model's names read (kernels.registry.Words); the codes are woods' per partner
WORDS = Words(
    symbols={"gamma": r"$\gamma$", "phi_D": r"$\phi_D$", "kappa": r"$\kappa$",
             "rho_C": r"$\rho_C$", "shadow_price": r"$\lambda^*$",
             **{f"{k}_{i}": f"${s}_{{{i}}}$" for i in PARTNERS
                for k, s in (("A", "A"), ("delta", r"\delta"), ("p", "p"))},
             **{f"rho_{j}": rf"$\rho_{{{j}}}$" for j in (*PARTNERS, "R")},
             **{f"{k}_{j}": f"${k}_{{{j}}}$" for j in OUTLETS for k in ("m", "u", "q")}},
    text={"gamma": "γ", "phi_D": "φ_D", "kappa": "κ", "rho_C": "ρ_C",
          "shadow_price": "λ*",
          **{f"delta_{i}": f"δ_{i}" for i in PARTNERS},
          **{f"rho_{j}": f"ρ_{j}" for j in (*PARTNERS, "R")}},
    codes=woods.WORDS.codes,
    # the bargaining study's published split, and the set shares 4:5:1 and 3:6:1 of the
    # three partners (of the partners' exports, not of all exports)
    marks={**{f"share_{j}": ((share, "published"),)
              for j, share in zip((*PARTNERS, "R"), SEED_SHARES)},
           "share_US": ((0.402, "published"), (0.4, "set 4:5:1"), (0.3, "set 3:6:1")),
           "share_EU": ((0.389, "published"), (0.5, "set 4:5:1"), (0.6, "set 3:6:1")),
           "share_JP": ((0.060, "published"), (0.1, "set shares")),
           "export_ratio": ((SEED_EXPORT_RATIO, "published 4:6"),)},
    rates={"near_seed": "every export share within 2 points of the bargaining study's "
                        "published split (40.2% US, 38.9% EU, 6% Japan, 15% others)"},
    means={"seed_dist": "the largest gap between a share and the published split, on "
                        "average over the rows",
           "export_ratio": "exports' share of China's output (published 0.4), on average "
                           "over the rows"},
    options={key: text for key, text in woods.WORDS.options.items()
             if key[0] in ("concept", "selection")},
)


def check_box(ranges: dict) -> list[str]:
    """A box in which China could export nothing: m_CN reaching 1 while m_R can be 0 (then
    every share is NaN); ranges {parameter: (lowest, highest)}."""
    (_, cn), (r, _) = ranges["m_CN"], ranges["m_R"]
    if cn >= 1.0 and r <= 0.0:
        return [f"m_CN reaches {cn:g} while m_R can be {r:g}: China could export nothing, "
                "and every export share would be undefined; keep m_CN < 1 or m_R > 0"]
    return []


MODEL = register(Model(
    name="woods_alloc",
    title="China's export allocation across the US, the EU and Japan: the woods game per "
          "partner, Rubinstein bargaining per outlet, water-filling on one shadow price",
    params=PARAMS,
    outputs=OUTPUTS,
    evaluate_block=evaluate_block,
    options=OPTIONS,
    # 2-core AMD EPYC VM, 2026-12-04: 192 ns a vector on one core (evaluate_block)
    row_seconds=200e-9,
    words=WORDS,
    row=row,
    check_box=check_box,
))
