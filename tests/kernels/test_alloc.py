"""The export allocation (kernels.alloc) against docs/model.md's worked examples, its
optimality conditions, an independent optimiser (scipy's SLSQP), woods and the bargaining
split it reuses, and its invariances."""
import math
import re

import numpy as np
import pytest
from scipy.optimize import minimize

from reesens.kernels import alloc, bargaining, woods

EXAMPLE_1 = dict(gamma=0.5, phi_D=0.6, kappa=0.3, rho_C=0.9, rho_US=0.9, rho_EU=0.9,
                 rho_JP=0.9, rho_R=0.9, A_US=0.5, delta_US=2.0, p_US=0.3, A_EU=0.8,
                 delta_EU=3.5, p_EU=0.5, A_JP=0.3, delta_JP=1.5, p_JP=0.8)
BOX = {"gamma": (0.1, 1), "phi_D": (0.05, 1), "kappa": (0.05, 1), "A_US": (0.1, 1),
       "A_EU": (0.3, 1.2), "A_JP": (0.05, 0.6), "delta_US": (1, 3), "delta_EU": (2, 5),
       "delta_JP": (1.5, 4), "p_US": (0.05, 0.95), "p_EU": (0.05, 0.95), "p_JP": (0.3, 0.95),
       "rho_C": (0.85, 0.95), "rho_US": (0.85, 0.95), "rho_EU": (0.80, 0.92),
       "rho_JP": (0.88, 0.97), "rho_R": (0.85, 0.95), "m_US": (0.30, 0.40),
       "m_EU": (0.50, 0.60), "m_JP": (0.08, 0.12), "m_R": (0.10, 0.40), "m_CN": (0.50, 0.95),
       **{f"u_{j}": (0.5, 1.5) for j in alloc.OUTLETS}}


def _one(**values):
    return {k: v.item() for k, v in alloc.evaluate(**values).items()}


def _box(n, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(lo, hi, n) for k, (lo, hi) in BOX.items()}


def test_example_1_to_six_decimals():
    out = _one(**EXAMPLE_1)
    assert (out["eq_US"], out["eq_EU"], out["eq_JP"]) == (2, 1, 1)
    expected = {"shadow_price": 0.768455, "q_CN": 0.431041, "q_US": 0.090989,
                "q_EU": 0.368482, "q_JP": 0.041997, "q_R": 0.067492, "china_rent": 1.195132,
                "share_US": 0.159921, "share_EU": 0.647642, "share_JP": 0.073813,
                "share_R": 0.118623, "export_share": 0.568959, "export_ratio": 0.568959,
                "slack": 0.0, "signal_consistent": 1.0, "seed_dist": 0.258642,
                "near_seed": 0.0, "export_gap": 0.168959}
    for name, value in expected.items():
        assert out[name] == pytest.approx(value, abs=1e-6), name
    assert out["zero_mask"] == out["full_mask"] == 0


def test_example_2_a_partner_at_a_corner_gets_nothing():
    out = _one(**{**EXAMPLE_1, "p_JP": 0.05})
    assert out["eq_JP"] == 2
    expected = {"shadow_price": 0.739341, "q_CN": 0.441231, "q_US": 0.100669,
                "q_EU": 0.383694, "q_JP": 0.0, "q_R": 0.074406, "china_rent": 1.185238,
                "share_US": 0.180162, "share_EU": 0.686677, "share_JP": 0.0,
                "share_R": 0.133161, "export_share": 0.558769, "seed_dist": 0.297677}
    for name, value in expected.items():
        assert out[name] == pytest.approx(value, abs=1e-6), name
    assert out["zero_mask"] == 8 and out["q_JP"] == 0.0  # exactly, not NaN
    other = _one(**{**EXAMPLE_1, "kappa": 0.6, "phi_D": 0.3, "p_JP": 0.35})
    assert (other["eq_US"], other["eq_EU"], other["eq_JP"]) == (3, 1, 3)
    assert other["signal_consistent"] == 0.0
    assert other["shadow_price"] == pytest.approx(0.664325, abs=1e-6)
    assert other["q_JP"] == pytest.approx(0.003614, abs=1e-6)


def test_example_3_one_full_partner_is_the_one_partner_model():
    values = dict(EXAMPLE_1, A_US=0.5, delta_US=2.0, phi_D=0.3, kappa=0.6, p_US=0.7,
                  m_US=1.0, m_CN=0.0, m_EU=0.0, m_JP=0.0, m_R=0.0)
    out = _one(**values)
    one = {k: v.item() for k, v in woods.evaluate(0.5, 0.5, 2.0, 0.3, 0.6, 0.7).items()}
    assert out["eq_US"] == one["eq"] == 1
    assert (out["shadow_price"], out["q_US"], out["full_mask"], out["zero_mask"]) == (
        0.0, 1.0, 2, 29)
    assert out["china_rent"] == pytest.approx(1.5 / 1.9, abs=1e-12)
    assert out["china_rent"] == pytest.approx(one["china_share"], abs=1e-12)


def test_feasible_and_kkt_on_the_study_box():
    """T1 and T2 on 20,000 vectors of the shipped box."""
    values = _box(20_000)
    out = alloc.evaluate(**values)
    q = np.stack([out[f"q_{j}"] for j in alloc.OUTLETS])
    m = np.stack([values[f"m_{j}"] for j in alloc.OUTLETS])
    lam = out["shadow_price"]
    assert np.isfinite(q).all() and (q >= 0).all() and (q <= m).all()
    assert (q.sum(0) <= 1 + 1e-12).all() and (lam >= 0).all()
    assert np.all(np.abs(q.sum(0) - 1)[lam > 0] <= 1e-12)
    shares = np.stack([out[f"share_{j}"] for j in (*alloc.PARTNERS, "R")])
    assert (shares >= 0).all() and np.allclose(shares.sum(0), 1, atol=1e-12)
    eta, v = _eta_v(values)
    u = np.stack([values[f"u_{j}"] for j in alloc.OUTLETS])
    marginal = v - 2 * eta * u * q / m
    inner = (q > 0) & (q < m)
    assert np.allclose(marginal[inner], np.broadcast_to(lam, q.shape)[inner], atol=1e-9)
    assert (marginal[q == 0] <= np.broadcast_to(lam, q.shape)[q == 0] + 1e-12).all()
    assert (marginal[q == m] >= np.broadcast_to(lam, q.shape)[q == m] - 1e-12).all()
    assert (lam > 0).mean() > 0.99  # output is scarce almost everywhere in the box


def _eta_v(values, concept="verifiable"):
    """(eta, v) (5, n) from woods' payoffs of each partner, computed here independently."""
    n = len(values["gamma"])
    eta, v = np.ones((5, n)), np.empty((5, n))
    for j, name in enumerate(alloc.OUTLETS):
        d_C = d_F = np.zeros(n)
        if name in alloc.PARTNERS:
            w = woods.evaluate(values[f"A_{name}"], values["gamma"], values[f"delta_{name}"],
                               values["phi_D"], values["kappa"], values[f"p_{name}"],
                               concept=concept)
            d_C, d_F = w["china_payoff"], w["foreign_payoff"]
        if j:
            rho = values[f"rho_{name}"]
            eta[j] = (1 - rho) / (1 - values["rho_C"] * rho)
        v[j] = eta[j] * (2 * values[f"u_{name}"] - d_F) + (1 - eta[j]) * d_C
    return eta, v


def _rent(q, d_C, d_F, eta, u, m):
    """China's total bargained rent of volumes q (5,): the bargaining split per outlet."""
    total = 0.0
    for j in range(5):
        pie = u[j] * (2 * q[j] - q[j] ** 2 / m[j]) if m[j] > 0 else 0.0
        total += q[j] * d_C[j] + eta[j] * max(pie - q[j] * (d_C[j] + d_F[j]), 0.0)
    return total


def test_no_optimiser_beats_the_allocation():
    """T3: SLSQP from five random starts on 40 vectors of the box never finds more rent."""
    values = _box(40, seed=1)
    out = alloc.evaluate(**values)
    rng = np.random.default_rng(2)
    for r in range(40):
        one = {k: float(a[r]) for k, a in values.items()}
        d_C, d_F = np.zeros(5), np.zeros(5)
        for j, name in enumerate(alloc.PARTNERS, start=1):
            w = woods.evaluate(one[f"A_{name}"], one["gamma"], one[f"delta_{name}"],
                               one["phi_D"], one["kappa"], one[f"p_{name}"])
            d_C[j], d_F[j] = w["china_payoff"], w["foreign_payoff"]
        eta = np.array([1.0] + [bargaining.proposer_weight(one["rho_C"], one[f"rho_{j}"])
                                for j in (*alloc.PARTNERS, "R")])
        u = np.array([one[f"u_{j}"] for j in alloc.OUTLETS])
        m = np.array([one[f"m_{j}"] for j in alloc.OUTLETS])
        best = -math.inf
        for _ in range(5):
            start = rng.uniform(0, m) / 5
            res = minimize(lambda q: -_rent(q, d_C, d_F, eta, u, m), start, method="SLSQP",
                           bounds=[(0, mj) for mj in m],
                           constraints=[{"type": "ineq", "fun": lambda q: 1 - q.sum()}])
            if res.success and res.x.sum() <= 1 + 1e-9:
                best = max(best, -res.fun)
        assert best > -math.inf
        assert best <= out["china_rent"][r] + 1e-9, (r, best, out["china_rent"][r])
        q = np.array([out[f"q_{j}"][r] for j in alloc.OUTLETS])
        assert _rent(q, d_C, d_F, eta, u, m) == pytest.approx(out["china_rent"][r], abs=1e-12)


def test_each_partner_is_woods_and_each_rent_the_bargaining_split():
    """T4: eq_i bitwise woods' eq; China's rent the sum over outlets of the inside split
    of S_j(q_j) with per-unit disagreement flows (domestic use: rho_F = 0, so eta = 1; the
    rest of the world: no disagreement payoffs), in agreement wherever q_j > 0."""
    values = _box(2000, seed=3)
    out = alloc.evaluate(**values)
    payoffs = {"CN": (0.0, 0.0), "R": (0.0, 0.0)}
    for name in alloc.PARTNERS:
        w = woods.evaluate(values[f"A_{name}"], values["gamma"], values[f"delta_{name}"],
                           values["phi_D"], values["kappa"], values[f"p_{name}"])
        assert np.array_equal(out[f"eq_{name}"], w["eq"])
        payoffs[name] = (w["china_payoff"], w["foreign_payoff"])
    for r in range(0, 2000, 37):
        total = 0.0
        for name in alloc.OUTLETS:
            q, m, u = out[f"q_{name}"][r], values[f"m_{name}"][r], values[f"u_{name}"][r]
            d_C, d_F = (np.broadcast_to(d, (2000,))[r] for d in payoffs[name])
            rho_F = 0.0 if name == "CN" else values[f"rho_{name}"][r]
            x_C, _, agreement = bargaining.split(
                bargaining.INSIDE, q * d_C, q * d_F, values["rho_C"][r], rho_F,
                u * (2 * q - q * q / m))
            total += x_C
            assert agreement == 1.0 or q == 0.0
        assert total == pytest.approx(out["china_rent"][r], abs=1e-12)


def test_doubling_the_payoff_unit_doubles_the_price_and_the_rent_bitwise():
    """T9: gamma, phi_D, kappa, A_*, delta_*, u_* times 2."""
    values = _box(5000, seed=4)
    scaled = {k: v * 2 if k.split("_")[0] in ("gamma", "phi", "kappa", "A", "delta", "u")
              else v for k, v in values.items()}
    a, b = alloc.evaluate(**values), alloc.evaluate(**scaled)
    for name in ("eq_US", "eq_EU", "eq_JP", *(f"q_{j}" for j in alloc.OUTLETS),
                 "share_US", "share_EU", "share_JP", "share_R"):
        assert np.array_equal(a[name], b[name]), name
    assert np.array_equal(2 * a["shadow_price"], b["shadow_price"])
    assert np.allclose(2 * a["china_rent"], b["china_rent"], rtol=1e-14)


def test_symmetric_partners_get_equal_volumes_and_swapping_swaps():
    """T6."""
    values = _box(3000, seed=5)
    for key in ("A", "delta", "p", "rho", "m", "u"):
        values[f"{key}_EU"] = values[f"{key}_US"]
    out = alloc.evaluate(**values)
    assert np.array_equal(out["q_US"], out["q_EU"])
    values = _box(3000, seed=6)
    swapped = dict(values)
    for key in ("A", "delta", "p", "rho", "m", "u"):
        swapped[f"{key}_US"], swapped[f"{key}_JP"] = values[f"{key}_JP"], values[f"{key}_US"]
    a, b = alloc.evaluate(**values), alloc.evaluate(**swapped)
    assert np.allclose(a["q_US"], b["q_JP"], atol=1e-12)
    assert np.allclose(a["q_JP"], b["q_US"], atol=1e-12)
    assert np.array_equal(a["eq_US"], b["eq_JP"])


def test_invalid_and_payoffless_vectors():
    """T10: a value outside its domain gives codes -1, masks 0 and NaN floats; a partner
    without payoffs (paper concept's code 0) NaN floats and masks 0 with codes kept."""
    floats = [v.name for v in alloc.OUTPUTS if v.dtype == "float64"]
    for name, bad in (("gamma", 0.0), ("p_EU", 1.5), ("rho_JP", 1.0), ("m_R", -0.1),
                      ("u_CN", np.nan), ("kappa", np.inf)):
        out = _one(**{**EXAMPLE_1, name: bad})
        assert (out["eq_US"], out["eq_EU"], out["eq_JP"]) == (-1, -1, -1), name
        assert out["zero_mask"] == out["full_mask"] == 0
        assert all(math.isnan(out[f]) for f in floats), name
    values = _box(4000, seed=7)
    out = alloc.evaluate(concept="paper", **values)
    none = (out["eq_US"] == 0) | (out["eq_EU"] == 0) | (out["eq_JP"] == 0)
    assert none.any() and (~none).any()
    assert all(np.isnan(out[f][none]).all() for f in floats)
    assert (out["zero_mask"][none] == 0).all()
    assert np.isfinite(out["china_rent"][~none]).all()


@pytest.mark.parametrize("change, message", [
    (lambda t: t["model"].update(bargaining="outside"),
     "model.bargaining: 'outside' is not allowed; allowed: inside"),
    (lambda t: t["parameters"].update(m_R={"dist": "unif", "lower": -0.1, "upper": 0.4}),
     "parameters.m_R: dist = 'unif' can produce values in [-0.1, 0.4], outside the domain; "
     "allowed: m_R in [0, inf)"),
    (lambda t: t["parameters"].update(rho_JP={"dist": "unif", "lower": 0.9, "upper": 1.0}),
     "allowed: rho_JP in [0, 1)"),
    (lambda t: t["parameters"].pop("gamma"), "parameters.gamma: missing"),
    (lambda t: t["parameters"].update(m_CN={"dist": "unif", "lower": 0.5, "upper": 1.2},
                                      m_R={"value": 0.0}),
     "parameters: m_CN reaches 1.2 while m_R can be 0: China could export nothing"),
])
def test_a_bad_allocation_study_is_refused_naming_field_and_bound(change, message):
    """The shipped study, changed one way at a time, is refused at load."""
    import tomllib

    from reesens.study.parse import parse
    from reesens.study.schema import StudyError
    from tests.interface.test_cli import ROOT
    table = tomllib.loads((ROOT / "studies" / "allocation.toml").read_text())
    del table["scenario"]
    parse(table, "allocation.toml")  # as shipped, without its scenarios: fine
    change(table)
    with pytest.raises(StudyError) as error:
        parse(table, "allocation.toml")
    assert message in str(error.value) and "allocation.toml" in str(error.value)


def _oracle(values, concept="verifiable"):
    """The allocation in plain numpy by another algorithm: woods' payoffs per partner
    (woods.evaluate), then lambda* by 200 bisection steps on T(lambda) = 1 (T
    nonincreasing), no breakpoints. Returns (lambda*, q (5, n))."""
    n = len(values["gamma"])
    eta, v = _eta_v(values, concept)
    m = np.stack([values[f"m_{j}"] for j in alloc.OUTLETS])
    u = np.stack([values[f"u_{j}"] for j in alloc.OUTLETS])
    k = m / (2 * eta * u)

    def total(lam):
        return np.minimum(m, k * np.maximum(v - lam, 0)).sum(0)

    lo, hi = np.zeros(n), np.max(v, axis=0).clip(0)
    for _ in range(200):
        mid = (lo + hi) / 2
        above = total(mid) > 1
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    lam = np.where(total(np.zeros(n)) <= 1, 0.0, (lo + hi) / 2)
    return lam, np.minimum(m, k * np.maximum(v - lam, 0))


def test_the_allocation_equals_a_numpy_bisection():
    """The kernel's exact breakpoint formula against 200 bisection steps in numpy, on
    50,000 vectors of the box and on 20,000 where output is not scarce."""
    for values in (_box(50_000, seed=8),
                   {**_box(20_000, seed=9), **{f"m_{j}": np.full(20_000, 0.1)
                                               for j in alloc.OUTLETS}}):
        out = alloc.evaluate(**values)
        lam, q = _oracle(values)
        np.testing.assert_allclose(out["shadow_price"], lam, rtol=1e-12, atol=1e-12)
        for j, name in enumerate(alloc.OUTLETS):
            np.testing.assert_allclose(out[f"q_{name}"], q[j], rtol=1e-10, atol=1e-12)
    placed = sum(out[f"q_{j}"] for j in alloc.OUTLETS)  # at most the demands, 0.5
    assert (out["shadow_price"] == 0).all() and (placed <= 0.5 + 1e-15).all()
    np.testing.assert_allclose(out["slack"], 1 - placed, atol=1e-15)


def test_without_scarcity_the_set_shares_come_back_exactly():
    """T7: output not scarce and no partner rationing itself ((1 - eta) d_C >= eta d_F:
    here every partner hedges, d_C = 0 >= -eta A): every outlet gets its demand, so
    demands 4:5:1 give shares exactly 4:5:1 among the partners."""
    values = {**EXAMPLE_1, "p_US": 0.6, "m_CN": 0.2, "m_US": 0.16, "m_EU": 0.2, "m_JP": 0.04,
              "m_R": 0.1}
    out = _one(**values)
    assert (out["eq_US"], out["eq_EU"], out["eq_JP"]) == (1, 1, 1)
    assert out["shadow_price"] == 0.0 and out["full_mask"] == 31 and out["zero_mask"] == 0
    assert [out[f"q_{j}"] for j in alloc.OUTLETS] == [0.2, 0.16, 0.2, 0.04, 0.1]
    partners = out["q_US"] + out["q_EU"] + out["q_JP"]
    assert out["q_US"] / partners == pytest.approx(0.4, abs=1e-15)
    assert out["q_EU"] / partners == pytest.approx(0.5, abs=1e-15)
    assert out["slack"] == pytest.approx(0.3, abs=1e-15)


def test_one_partner_withholds_when_its_disagreement_favours_it():
    """T5, second case: the US alone with m_US = 1 but (1 - eta) d_C < eta d_F (the
    partner gains in disagreement: pool_nd_press with a positive foreign payoff): China
    withholds volume, q_US = v / (2 eta u) < 1."""
    values = dict(EXAMPLE_1, p_US=0.05, m_US=1.0, m_CN=0.0, m_EU=0.0, m_JP=0.0, m_R=0.0)
    out = _one(**values)
    w = {k: a.item() for k, a in woods.evaluate(0.5, 0.5, 2.0, 0.6, 0.3, 0.05).items()}
    eta = 1 / 1.9
    assert (1 - eta) * w["china_payoff"] < eta * w["foreign_payoff"]
    v = eta * (2 - w["foreign_payoff"]) + (1 - eta) * w["china_payoff"]
    assert out["q_US"] == pytest.approx(v / (2 * eta), abs=1e-15) and out["q_US"] < 1
    assert out["shadow_price"] == 0.0 and out["full_mask"] == 0


@pytest.mark.parametrize("name, up", [("m_EU", True), ("u_EU", True), ("A_EU", True),
                                      ("p_EU", True), ("rho_EU", False)])
def test_more_of_a_partner_raises_its_volume_and_lowers_the_others(name, up):
    """T8: q_EU nondecreasing, every other q nonincreasing, in m_EU, u_EU and China's
    weight eta_EU (so the other way in rho_EU), and within a fixed eq_EU in A_EU and
    p_EU."""
    values = _box(3000, seed=10)
    lo, hi = BOX[name]
    low, high = lo + 0.3 * (hi - lo), lo + 0.6 * (hi - lo)
    low, high = (low, high) if up else (high, low)
    a = alloc.evaluate(**{**values, name: np.full(3000, low)})
    b = alloc.evaluate(**{**values, name: np.full(3000, high)})
    same = a["eq_EU"] == b["eq_EU"]
    assert same.mean() > 0.5
    assert (b["q_EU"][same] >= a["q_EU"][same] - 1e-12).all()
    for j in ("CN", "US", "JP", "R"):
        assert (b[f"q_{j}"][same] <= a[f"q_{j}"][same] + 1e-12).all(), j


def test_the_allocation_study_states_the_share_near_the_published_split(tmp_path):
    """The shipped study end to end at a small N: the summary group holds each output's
    mean with its Student-t half-width over the 8 scramblings, and show states the share
    of the box within 2 points of the published split, with that interval, per case."""
    from reesens.methods.sobol import text
    from reesens.runs import montecarlo as run
    from reesens.study.parse import load
    from tests.interface.test_cli import ROOT
    study = load(ROOT / "studies" / "allocation.toml", N=1024)
    assert study.intervals == "replicates" and study.scramblings == 8
    groups = run.run(study, out=tmp_path / "a.zarr", progress=False)
    summary = groups["summary"]
    conf = summary["summary_mean_conf"].sel(output="share_EU").values
    assert np.isfinite(conf).all() and (conf > 0).all()
    shown = text.show(groups, {})
    lines = [line for line in shown.splitlines() if "within 2 points" in line]
    assert [line.split(":")[0] for line in lines] == [
        "scenario=box", "scenario=set_451", "scenario=set_361"]
    assert all("% of the rows" in line for line in lines)
    mean = float(summary["summary_mean"].sel(scenario="box", output="near_seed"))
    assert f"{mean:.2%} of the rows" in lines[0]
    gap = [line for line in shown.splitlines() if "largest gap" in line]  # how far the box is
    one = summary.sel(scenario="box", output="seed_dist")
    mean, conf = float(one["summary_mean"]), float(one["summary_mean_conf"])
    assert len(gap) == 3 and 0.1 < mean < 0.5, gap
    low, high = (float(x) for x in re.search(r"interval (\S+) to (\S+)\)", gap[0]).groups())
    # printed to the half-width's second significant digit
    assert abs(low - (mean - conf)) <= 0.05 * conf and abs(high - (mean + conf)) <= 0.05 * conf
    from reesens.present import report  # without kept rows, the report says how to draw
    report.write_report(tmp_path / "a.zarr", tmp_path / "r")  # the marked distributions
    hint = (tmp_path / "r" / "summary.md").read_text().split("## The outputs' distributions")
    assert len(hint) == 2 and "share_US, share_EU, share_JP, share_R" in hint[1] \
        and "--keep-samples" in hint[1].split("##")[0]
    from reesens import cli  # the indices as a table: every case, share and group
    assert cli.main(["export", str(tmp_path / "a.zarr"), "--out",
                     str(tmp_path / "a.csv")]) == 0
    import csv
    with open(tmp_path / "a.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    st = {(r["scenario"], r["param"]): float(r["value"]) for r in rows
          if r["output"] == "share_EU" and r["index"] == "ST"}
    sobol = groups["sobol"]
    for (scenario, param), value in st.items():
        assert value == float(sobol["sobol_ST"].sel(scenario=scenario, output="share_EU",
                                                     param=param))
    assert {s for s, _ in st} == {"box", "set_451", "set_361"}
    assert cli.main(["export", str(tmp_path / "a.zarr"), "--group", "summary", "--out",
                     str(tmp_path / "s.csv")]) == 0  # the share near the split, as a table
    with open(tmp_path / "s.csv", newline="") as f:
        near = {r["scenario"]: r for r in csv.DictReader(f)
                if r["output"] == "near_seed" and r["index"] == "mean"}
    assert set(near) == {"box", "set_451", "set_361"}
    for scenario, r in near.items():
        one = summary.sel(scenario=scenario, output="near_seed")
        assert float(r["value"]) == float(one["summary_mean"])
        assert float(r["half_width"]) == float(one["summary_mean_conf"])


def test_a_grid_of_the_allocation_maps_each_share_over_the_plane(tmp_path):
    """A grid over (p_EU, delta_EU) with the other parameters fixed: the report draws the
    EU's equilibrium code as a phase diagram and each share as a colour map whose cells
    hold the cube's values; the EU's share is higher where it hedges (code 1) than where
    it presses (code 2) at the same delta_EU."""
    from reesens.present import phase, report
    from reesens.runs import grid
    from reesens.study.parse import parse
    fixed = {k: {"value": v} for k, v in EXAMPLE_1.items()
             if k not in ("p_EU", "delta_EU")}
    table = {"name": "alloc-grid", "model": {"name": "woods_alloc"}, "parameters": fixed,
             "grid": {"p_EU": {"linspace": [0.05, 0.95, 19]},
                      "delta_EU": {"linspace": [2.0, 5.0, 13]},
                      "outputs": ["share_EU", "eq_EU"]}}
    path = tmp_path / "g.zarr"
    cube = grid.run_grid(parse(table), out=path, progress=False).load()
    drawn = []
    original = phase.value_maps

    def keep(panels, overlays, title):
        drawn.extend(panels)
        return original(panels, overlays, title)

    phase.value_maps = keep
    try:
        files = report.write_report(path, tmp_path / "out")
    finally:
        phase.value_maps = original
    assert {"phase_delta_EU_p_EU.png", "values_delta_EU_p_EU.png"} <= {f.name for f in files}
    (name, a), = drawn
    assert name.startswith("share_EU")
    np.testing.assert_array_equal(a.transpose("p_EU", "delta_EU").values,
                                  cube["share_EU"].transpose("p_EU", "delta_EU").values)
    eq = cube["eq_EU"].transpose("p_EU", "delta_EU").values
    share = cube["share_EU"].transpose("p_EU", "delta_EU").values
    hedge, press = eq == 1, eq == 2
    compared = 0
    for column in range(eq.shape[1]):  # one delta_EU
        h, p = share[hedge[:, column], column], share[press[:, column], column]
        if h.size and p.size:
            assert h.min() > p.max()
            compared += 1
    assert compared == eq.shape[1]


def test_a_rare_indicator_constant_in_a_scrambling_says_so(tmp_path):
    """near_seed is 1 on ~0.05% of the box: at N = 1024 split among 8 scramblings some
    scrambling never sees it, and the indices say so rather than "not finite"."""
    from reesens.runs import montecarlo as run
    from reesens.study.parse import load
    from tests.interface.test_cli import ROOT
    study = load(ROOT / "studies" / "allocation.toml", N=1024)
    groups = run.run(study, out=tmp_path / "a.zarr", progress=False)
    reason = str(groups["sobol"]["sobol_skip_reason"].sel(scenario="box", output="near_seed")
                 .values)
    assert reason == ("constant in one of the independent scramblings (a rare value: a "
                      "larger N)"), reason
    assert 0 < float(groups["summary"]["summary_mean"].sel(scenario="box",
                                                            output="near_seed")) < 0.01
