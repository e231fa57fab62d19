"""Exact comparisons of the count-based measures and Morris' intervals with independent
references: hand-worked values on unequal slices, values on bin and slice edges, the
correlation ratio on raw rows, Morris' bootstrap on SALib's own draws. Each would let a
plausible one-line bug through were it compared only with an interval."""
from __future__ import annotations

import numpy as np
import pytest

from reesens.kernels.counts import ab_slices, add_slice_counts
from reesens.methods import counts as slice_counts
from reesens.methods import given_data
from reesens.methods import morris as morris_method


def test_delta_weights_each_slice_by_its_rows():
    # three slices of unequal size: 10, 10 and 30 rows of a two-code output
    counts = np.array([[[[10, 0], [5, 5], [0, 30]]]])  # (measured, D, slices, codes)
    p = np.array([15, 35]) / 50
    tv = [0.5 * np.abs(np.array(c) / sum(c) - p).sum() for c in ([10, 0], [5, 5], [0, 30])]
    expected = 10 / 50 * tv[0] + 10 / 50 * tv[1] + 30 / 50 * tv[2]
    found = slice_counts.pawn_delta(counts, np.array([True]))
    assert found["delta"][0, 0] == pytest.approx(expected, abs=1e-15)
    assert found["median"][0, 0] == pytest.approx(np.median(tv), abs=1e-15)
    assert found["max"][0, 0] == pytest.approx(max(tv), abs=1e-15)


def test_values_on_edges_go_to_the_bin_and_slice_above():
    # parameter values and outputs exactly on the edges, and either side of them
    slice_edges = np.array([[0.25, 0.5, 0.75]])
    bins = np.array([[-1.0, 0.0, 1.0] + [np.inf] * 4])  # 2^3 - 1 inner edges, padded
    x = np.array([0.0, 0.25, 0.5, 0.74999, 0.75, 1.0])
    y = np.array([-1.0, 0.0, 1.0, -0.5, 0.99999, 2.0])
    k = 2  # two rows per point: its A and its B row, alike here
    rows = np.repeat(x, 2)[:, None]
    cut = ab_slices(rows, k, slice_edges)
    assert cut.tolist() == [np.repeat(np.searchsorted(slice_edges[0], x, "right"),
                                      2).tolist()]
    Y = np.repeat(y, 2)[None]
    n_counts = np.zeros((1, 1, 4, 8), dtype=np.int64)
    sums = np.zeros((1, 4, 4))
    add_slice_counts(cut, Y, bins, np.zeros((1, 1)), np.zeros(1, dtype=np.int64),
                     np.zeros(1), np.ones(1), n_counts, sums)
    expected = np.zeros((4, 8), dtype=np.int64)
    for xi, yi in zip(np.repeat(x, 2), np.repeat(y, 2)):
        expected[np.searchsorted(slice_edges[0], xi, "right"),
                 np.searchsorted(bins[0][:3], yi, "right")] += 1
    np.testing.assert_array_equal(n_counts[0, 0], expected)
    assert expected[1, 2] == 2 and expected[3, 3] == 2  # 0.25 -> slice 1, 1.0 -> bin 3


def test_the_given_data_s1_is_the_correlation_ratio_of_the_rows():
    rng = np.random.default_rng(7)
    n, M = 5000, 8
    x = rng.uniform(size=n)
    y = np.sin(3 * x) + 0.3 * rng.normal(size=n)
    z = (y - 0.1) / 0.9  # standardised by some pilot's centre and scale
    which = np.minimum((x * M).astype(int), M - 1)
    n_m = np.bincount(which, minlength=M)[None].astype(float)
    sums = np.stack([np.bincount(which, z ** p, minlength=M) for p in range(1, 5)], -1)[None]
    found = given_data.given_data_continuous(n_m, sums)
    # SSB / SST on the rows themselves, both over n (not n - 1)
    means = np.array([z[which == m].mean() for m in range(M)])
    ssb = sum((which == m).sum() * (means[m] - z.mean()) ** 2 for m in range(M))
    sst = ((z - z.mean()) ** 2).sum()
    assert found.estimate[0] - found.slicing[0] == pytest.approx(ssb / sst, rel=1e-10)


def test_null_levels_equal_a_plain_loop_with_the_same_draws():
    """The null level's Monte Carlo, written again as loops over outputs, parameters,
    draws and slices from the same seeded normal draws: finite-population term
    1 / n_m - 1 / n included, unequal slices."""
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 40, size=(2, 2, 3, 4))  # (measured, D, slices, width)
    is_code = np.array([True, False])
    found = slice_counts.null_levels(counts, is_code, seed=5, conf_level=0.9)
    draws = slice_counts.NULL_DRAWS
    g_rng = np.random.default_rng(5)
    for i in range(2):
        n_m = counts[i].sum(-1).astype(float)  # (D, M)
        n = n_m.sum(-1)
        p = counts[i, 0].sum(0) / n[0]
        g = g_rng.standard_normal((draws, 3, 4)) * np.sqrt(p)
        z = g - p * g.sum(-1, keepdims=True)
        tv = 0.5 * np.abs(z).sum(-1)  # (draws, M)
        unit = tv if is_code[i] else np.abs(np.cumsum(z, -1)).max(-1)
        for d in range(2):
            scale = np.sqrt(1 / n_m[d] - 1 / n[d])
            per_draw = unit * scale  # (draws, M)
            delta = (n_m[d] / n[d] * tv * scale).sum(-1)
            for q, values in (("median", np.median(per_draw, -1)),
                              ("mean", per_draw.mean(-1)), ("max", per_draw.max(-1)),
                              ("delta", delta)):
                assert found[q][i, d] == pytest.approx(np.quantile(values, 0.9), rel=1e-12)


def test_morris_intervals_on_salibs_own_draws():
    """mu, mu_star and sigma half-widths: z times the spread over resamples of the
    trajectories drawn as SALib draws them (rng.integers), mu from the signed effects,
    sigma with ddof 1 in each resample."""
    from statistics import NormalDist
    rng = np.random.default_rng(11)
    ee = rng.normal(0.3, 1.0, size=(3, 25))  # (D, trajectories)
    found = morris_method.statistics(ee, resamples=200, conf_level=0.95, seed=4)
    z = NormalDist().inv_cdf(0.975)
    draws = np.random.default_rng(4)
    for j in range(3):
        idx = draws.integers(25, size=(200, 25))
        resampled = ee[j][idx]
        assert found["mu_conf"][j] == pytest.approx(z * resampled.mean(1).std(ddof=1))
        assert found["mu_star_conf"][j] == pytest.approx(
            z * np.abs(resampled).mean(1).std(ddof=1))
        assert found["sigma_conf"][j] == pytest.approx(
            z * resampled.std(1, ddof=1).std(ddof=1))
        assert found["sigma"][j] == pytest.approx(ee[j].std(ddof=1))


def test_groups_come_in_the_order_of_their_first_parameter_as_salib_orders_them(tmp_path):
    """A group named after the alphabet's end holding the first parameters comes first:
    SALib's order (first appearance), in the study's columns and the sobol group's
    `param`, not an alphabetical one."""
    from SALib.util import compute_groups_matrix

    import reesens
    from tests.runs.test_pipeline import _woods_table
    table = _woods_table(sampling={"N": 256, "block_points": 128, "seed": 2})
    table["analysis"] = {"groups": {"zeta": ["A", "gamma"], "alpha": ["delta", "phi_D"]}}
    study = reesens.load_study(table)
    expected = compute_groups_matrix(study.param_groups)[1].tolist()
    assert expected[:2] == ["zeta", "alpha"]
    assert list(study.columns) == expected
    sobol = reesens.run(study, out=tmp_path / "g.zarr")["sobol"]
    assert sobol["param"].values.tolist() == expected
    assert sobol["param_members"].values.tolist()[:2] == ["A gamma", "delta phi_D"]


def test_the_aggregate_over_scramblings_weights_each_design_by_its_own_variances():
    """Three codes, three designs whose indicator variances differ: the aggregate is the
    mean over designs of each design's own sum_k V_rk S_rk / sum_k V_rk, and its interval
    Student t over those designs' ratios (worked by hand)."""
    from scipy.stats import t

    from reesens.evaluate.series import Series
    from reesens.methods import categorical
    from reesens.study.parse import parse
    from tests.runs.test_pipeline import _woods_table
    study = parse(_woods_table())
    spec = [Series(f"eq=={m}", "eq", c, {}) for c, m in ((1, "a"), (2, "b"), (3, "c"))]
    V = np.array([[0.1, 0.2, 0.1], [0.3, 0.1, 0.1], [0.1, 0.1, 0.4]])  # (designs, codes)
    S = np.array([[0.2, 0.5, 0.8], [0.3, 0.4, 0.9], [0.1, 0.6, 0.7]])[..., None]
    designs = {"V": V, "S1": S, "ST": S + 0.1}
    arrays = {"S1": S.mean(0), "ST": S.mean(0) + 0.1, "S1_conf": np.full((3, 1), 0.05),
              "ST_conf": np.full((3, 1), 0.05), "designs": designs}
    order, out, _ = categorical.categorical(study, spec, arrays,
                                            np.array(["", "", ""], dtype=object))
    ratios = (V * S[..., 0]).sum(1) / V.sum(1)  # each design's own weights
    half = t.ppf(0.975, 2) * ratios.std(ddof=1) / np.sqrt(3)
    assert out["S1"][0, 0] == pytest.approx(ratios.mean(), rel=1e-12)
    assert out["S1_conf"][0, 0] == pytest.approx(half, rel=1e-12)
    pooled = (V.mean(0) * S[..., 0]).sum(1) / V.mean(0).sum()  # the designs' mean V
    assert abs(pooled.mean() - ratios.mean()) > 0.01  # the two weightings differ here


def test_the_given_data_s1_over_scramblings_is_their_mean_with_student_t(tmp_path):
    """intervals = "replicates": each design's given-data S1 from its own blocks' counts,
    then the mean over designs and a Student t half-width, as the stored group says."""
    import xarray as xr
    from scipy.stats import t

    import reesens
    from tests.runs.test_pipeline import _woods_table
    R = 4
    table = _woods_table(sampling={"N": 2048, "block_points": 128, "seed": 6},
                         analysis={"methods": ["sobol", "given_data"],
                                   "intervals": "replicates", "scramblings": R})
    study = reesens.load_study(table)
    store = tmp_path / "r.zarr"
    gd = reesens.run(study, out=store)["given_data"]
    blocks = xr.open_zarr(store, group="blocks").load()
    per = study.design_N // study.block_points  # N split among the scramblings
    i = study.outputs.index("mu_star")  # a continuous output, one case
    found = []
    for r in range(R):
        mine = slice(r * per, (r + 1) * per)
        n = blocks["block_slice_counts"].values[mine, i].sum(0).sum(-1)  # (D, M)
        sums = blocks["block_slice_sums"].values[mine, i]
        total = sums[0].copy()
        for b in range(1, per):
            total += sums[b]
        found.append(given_data.given_data_continuous(n, total).estimate)
    found = np.array(found)
    one = gd.sel(output="mu_star")
    np.testing.assert_allclose(one["given_data_S1"].values, found.mean(0), rtol=1e-12)
    half = t.ppf(0.5 + study.conf_level / 2, R - 1) * found.std(0, ddof=1) / np.sqrt(R)
    np.testing.assert_allclose(one["given_data_S1_conf"].values, half, rtol=1e-12)
