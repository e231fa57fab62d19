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

from reesens.kernels import bargaining, signalling
from reesens.kernels.accelerate import jit
from reesens.kernels.registry import Model, Variable, Words, register
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
    Variable("gamma", "float64", PAYOFF, "foreign gain from pressing a weak China", **_POSITIVE),
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
    """T(lambda) = sum_j q_j(lambda): the volume China would place at shadow price lam."""
    t = 0.0
    for j in range(5):
        t += _volume(lam, m[j], k[j], v[j])
    return t


@jit
def shadow_price(m, k, v, eta, u):
    """lambda* >= 0 of the water-filling: 0 where T(0) <= 1, else exact from the ten
    breakpoints (T is affine between consecutive ones; docs/model.md)."""
    if _total(0.0, m, k, v) <= 1.0:
        return 0.0
    b_lo, t_lo, b_hi, t_hi = 0.0, _total(0.0, m, k, v), math.inf, 0.0
    for j in range(5):
        for c in (v[j], v[j] - 2.0 * eta[j] * u[j]):
            t = _total(c, m, k, v)
            if c > 0.0 and t > 1.0 and c > b_lo:
                b_lo, t_lo = c, t
            if t <= 1.0 and c < b_hi:
                b_hi, t_hi = c, t
    return b_lo + (t_lo - 1.0) * (b_hi - b_lo) / (t_lo - t_hi)


@jit
def evaluate_row(x, concept, selection):
    """Every output of one parameter vector x (27,) in PARAM_NAMES order, as a tuple in
    OUTPUT_NAMES order. An invalid vector gives eq_* = -1, masks 0 and NaN floats; a
    partner without payoffs (eq 0 or 6) NaN floats and masks 0; no exports NaN shares."""
    gamma, phi_D, kappa = x[0], x[1], x[2]
    rho_C = x[12]
    eqs = np.empty(3, np.int64)
    d_C, d_F = np.zeros(5), np.zeros(5)
    pr_strong, pr_weak = np.empty(3), np.empty(3)
    for i in range(3):
        eqs[i], d_C[1 + i], d_F[1 + i], pr_strong[i], pr_weak[i] = _partner(
            concept, selection, x[3 + 3 * i], gamma, x[4 + 3 * i], phi_D, kappa, x[5 + 3 * i])
    m, u = x[17:22], x[22:27]
    eta, v, k = np.empty(5), np.empty(5), np.empty(5)
    for j in range(5):
        eta[j] = 1.0 if j == 0 else bargaining.proposer_weight(rho_C, x[12 + j])
        v[j] = eta[j] * (2.0 * u[j] - d_F[j]) + (1.0 - eta[j]) * d_C[j]
        k[j] = m[j] / (2.0 * eta[j] * u[j])
    lam = shadow_price(m, k, v, eta, u)
    q = np.empty(5)
    rent, placed, zero, full = 0.0, 0.0, 0, 0
    for j in range(5):
        q[j] = _volume(lam, m[j], k[j], v[j])
        pie = u[j] * (2.0 * q[j] - q[j] * q[j] / m[j]) if m[j] > 0.0 else 0.0
        rent += q[j] * d_C[j] + eta[j] * max(pie - q[j] * (d_C[j] + d_F[j]), 0.0)
        placed += q[j]
        zero |= (1 << j) if q[j] == 0.0 else 0
        full |= (1 << j) if (m[j] > 0.0) & (q[j] == m[j]) else 0
    exports = q[1] + q[2] + q[3] + q[4]
    shares = q[1:] / exports
    dist = 0.0
    for i in range(4):
        dist = max(dist, abs(shares[i] - SEED_SHARES[i]))
    consistent = 1.0
    for i in range(1, 3):
        same = (pr_strong[i] == pr_strong[0]) & (pr_weak[i] == pr_weak[0])
        consistent = consistent if same else 0.0
    valid = _valid(x)
    paid = True  # every partner's equilibrium has payoffs
    for i in range(3):
        paid = paid & (eqs[i] != signalling.NONE) & (eqs[i] != signalling.BOUNDARY)
    ok = valid & paid
    sold = ok & (exports > 0.0)
    nan = _NAN
    ratio = exports / (exports + q[0])
    return (eqs[0] if valid else signalling.INVALID, eqs[1] if valid else signalling.INVALID,
            eqs[2] if valid else signalling.INVALID,
            q[0] if ok else nan, q[1] if ok else nan, q[2] if ok else nan,
            q[3] if ok else nan, q[4] if ok else nan,
            shares[0] if sold else nan, shares[1] if sold else nan,
            shares[2] if sold else nan, shares[3] if sold else nan,
            exports if ok else nan, ratio if ok else nan,
            (1.0 - placed if lam == 0.0 else 0.0) if ok else nan, lam if ok else nan,
            rent if ok else nan, zero if ok else 0, full if ok else 0,
            consistent if ok else nan, dist if sold else nan,
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


def option_code(function: str, name: str, value: str) -> int:
    """Position of `value` among the allowed values of option `name`; ValueError otherwise."""
    allowed = OPTIONS[name]
    if value not in allowed:
        raise ValueError(f"{function}: {name}={value!r} is not allowed; "
                         f"allowed values: {', '.join(allowed)}")
    return allowed.index(value)


def allocate_outputs(n: int) -> dict[str, np.ndarray]:
    """Uninitialised output arrays for n rows, one per output, with the declared dtypes."""
    return {v.name: np.empty(n, dtype=v.dtype) for v in OUTPUTS}


def evaluate_block(params, *, concept="verifiable", selection="china", bargaining="inside",
                   out=None):
    """Evaluate a block of parameter rows: params float64 (n, 27), columns PARAM_NAMES;
    rows outside the domain come back invalid (eq_* = -1). out: optional dict from
    allocate_outputs(n) to fill. Returns {output name: array (n,)}."""
    codes = [option_code("evaluate_block", name, value) for name, value in
             (("concept", concept), ("selection", selection), ("bargaining", bargaining))]
    if not isinstance(params, np.ndarray) or params.dtype != np.float64 or params.ndim != 2 \
            or params.shape[1] != len(PARAMS):
        raise ValueError(
            "evaluate_block: params must be a float64 numpy array of shape (n, "
            f"{len(PARAMS)}) with columns {', '.join(PARAM_NAMES)}; got "
            f"{type(params).__name__} {getattr(params, 'dtype', '')} "
            f"{getattr(params, 'shape', '')}")
    n = params.shape[0]
    out = allocate_outputs(n) if out is None else out
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
