"""The aggregated indices of a code output (methods.categorical) against a numpy
ratio of SALib's per-indicator numerators on the same rows, and their special cases."""
import numpy as np
import pytest

from reesens.runs import montecarlo as run
from reesens.study.parse import parse
from tests.runs.test_pipeline import _woods_table


def _salib_ratio(codes: np.ndarray, D: int):
    """(S1, ST) (D,) of the one-hot vector of `codes` (rows in SALib's Saltelli order,
    no second order): sum over codes of SALib's numerators (first_order, total_order on
    the raw indicator, centred by its mean over all rows) over the sum of var(A, B)."""
    k = D + 2
    num1, numT, den = np.zeros(D), np.zeros(D), 0.0
    for code in np.unique(codes):
        y = (codes == code).astype(float)
        y = y - y.mean()
        points = y.reshape(-1, k)
        A, B, AB = points[:, 0], points[:, -1], points[:, 1:1 + D]
        num1 += np.mean(B[:, None] * (AB - A[:, None]), axis=0)
        numT += 0.5 * np.mean((A[:, None] - AB) ** 2, axis=0)
        den += np.var(np.r_[A, B])
    return num1 / den, numT / den


@pytest.mark.parametrize("estimator", ["streaming", "salib"])
def test_aggregated_indices_are_the_ratio_of_summed_numerators(tmp_path, estimator):
    table = _woods_table(sampling={"N": 512, "block_points": 128, "seed": 11},
                         analysis={"estimator": estimator, "resamples": 20})
    groups = run.run(parse(table), out=tmp_path / "s.zarr", progress=False,
                     keep_samples=True)
    codes = groups["samples"]["eq"].values
    S1, ST = _salib_ratio(codes, 6)
    got = groups["sobol"].sel(output="eq")
    np.testing.assert_allclose(got["sobol_S1"].values, S1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["sobol_ST"].values, ST, rtol=1e-9, atol=1e-12)
    assert (got["sobol_S1_conf"].values > 0).all() and (got["sobol_ST_conf"].values > 0).all()
    labels = groups["sobol"]["output"].values.tolist()
    assert labels.index("eq") == labels.index("eq==pool_nd_hedge") - 1  # before its codes
    assert "all codes of eq" in str(got["output_long_name"].values)


@pytest.mark.parametrize("intervals", ["delta", "bootstrap", "replicates"])
def test_two_codes_aggregate_to_either_indicator(tmp_path, intervals):
    # sets_differ takes two codes only (no invalid rows in this box): the one-hot vector's
    # two indicators sum to 1, and the aggregate is each one's index, interval included
    table = {"name": "audit", "model": {"name": "woods_audit"},
             "parameters": {n: {"dist": "unif", "lower": 0.1, "upper": 0.9}
                            for n in ("A", "gamma", "delta", "phi_D", "kappa", "p")},
             "sampling": {"N": 256, "block_points": 128, "seed": 5},
             "analysis": {"intervals": intervals, "resamples": 30, "scramblings": 4}}
    sobol_ds = run.run(parse(table), out=tmp_path / "a.zarr", progress=False)["sobol"]
    whole, one = sobol_ds.sel(output="sets_differ"), sobol_ds.sel(output="sets_differ==differ")
    for q in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_allclose(whole[f"sobol_{q}"].values, one[f"sobol_{q}"].values,
                                   rtol=1e-9, atol=1e-12)


def test_aggregated_indices_are_bounded_and_drive_the_summary(tmp_path):
    table = _woods_table(sampling={"N": 2048, "block_points": 512, "seed": 2})
    groups = run.run(parse(table), out=tmp_path / "b.zarr", progress=False)
    eq = groups["sobol"].sel(output="eq")
    S1, ST = eq["sobol_S1"].values, eq["sobol_ST"].values
    h1, hT = eq["sobol_S1_conf"].values, eq["sobol_ST_conf"].values
    assert (S1 + h1 >= 0).all() and (ST - hT <= 1).all() and (S1 - h1 <= ST + hT).all()
    # the delta-method bound is a weighted sum of at least each indicator's half-width
    indicators = [o for o in groups["sobol"]["output"].values.tolist() if o.startswith("eq==")]
    each = np.stack([groups["sobol"].sel(output=o)["sobol_ST_conf"].values for o in indicators])
    assert (hT >= each.min(axis=0)).all() and (hT <= 3 * each.max(axis=0)).all()
    from reesens.methods.sobol import text
    from reesens.present import report
    line = text.drivers(groups["sobol"])
    top = groups["sobol"]["param"].values[int(np.argmax(ST))]
    assert line.startswith(f"the equilibrium choice is driven by {top} (ST {ST.max():.2f} ± ")
    summary = report.write_report(tmp_path / "b.zarr", tmp_path / "out")[-2].read_text()
    assert f"- In short: {line}." in summary
    assert "- eq (all its codes at once) is driven most by" in summary


def test_the_delta_bound_on_made_up_indicators():
    """Three indicators with known indices, variances and half-widths: the aggregate and
    its bound sum_k w_k (h_k + |S_k - S| h_Vk / V_k), worked by hand."""
    from reesens.evaluate.series import Series
    from reesens.methods import categorical
    study = parse(_woods_table())
    spec = [Series(f"eq=={m}", "eq", c, {}) for c, m in ((1, "a"), (2, "b"), (3, "c"))]
    V, hV = np.array([0.1, 0.2, 0.1]), np.array([0.01, 0.04, 0.02])
    S = np.array([[0.2], [0.5], [0.8]])  # one parameter
    h = np.array([[0.05], [0.1], [0.02]])
    arrays = {"S1": S, "ST": S + 0.1, "S1_conf": h, "ST_conf": h, "V": V, "V_conf": hV}
    order, out, reasons = categorical.categorical(study, spec, arrays, np.array(["", "", ""],
                                                                          dtype=object))
    assert [s.label for s in order] == ["eq", "eq==a", "eq==b", "eq==c"]
    assert list(reasons) == ["", "", "", ""]
    aggregate = (0.1 * 0.2 + 0.2 * 0.5 + 0.1 * 0.8) / 0.4  # 0.5
    bound = (0.25 * (0.05 + 0.3 * 0.1) + 0.5 * (0.1 + 0.0) + 0.25 * (0.02 + 0.3 * 0.2))
    np.testing.assert_allclose(out["S1"][0], [aggregate])
    np.testing.assert_allclose(out["S1_conf"][0], [bound])
    np.testing.assert_allclose(out["S1"][1:], S)  # the indicators themselves, unchanged


def test_a_code_absent_from_one_case_adds_nothing_to_its_aggregate(tmp_path):
    # eq==none occurs under the paper concept only: under the verifiable one the
    # aggregate is the ratio over the codes that occur there, not NaN
    table = _woods_table(model={"concept": ["verifiable", "paper"]},
                         sampling={"N": 512, "block_points": 128, "seed": 11})
    groups = run.run(parse(table), out=tmp_path / "s.zarr", progress=False,
                     keep_samples=True)
    sobol_ds = groups["sobol"]
    reasons = sobol_ds["sobol_skip_reason"].sel(concept="verifiable")
    assert reasons.sel(output="eq==none").item() == "constant output"
    for concept in ("verifiable", "paper"):
        S1, ST = _salib_ratio(groups["samples"]["eq"].sel(concept=concept).values, 6)
        got = sobol_ds.sel(output="eq", concept=concept)
        assert got["sobol_skip_reason"].item() == ""
        np.testing.assert_allclose(got["sobol_S1"].values, S1, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got["sobol_ST"].values, ST, rtol=1e-9, atol=1e-12)
        assert np.isfinite(got["sobol_ST_conf"].values).all()
