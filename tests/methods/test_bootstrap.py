"""The streaming Poisson bootstrap: its weights, its replicate statistics against numpy, its
intervals against SALib's estimators on the resampled rows, their coverage, and runs."""
import math

import numpy as np
import pytest
import xarray as xr
from SALib.analyze import sobol as salib_analyze
from SALib.sample import sobol as salib_sample
from scipy.stats import poisson

from reesens.kernels.bootstrap import poisson_weights, replicate_moments
from reesens.kernels.saltelli import Features
from reesens.methods.sobol.streaming import Replicates, indices, merge_all, moments_of
from reesens.runs import montecarlo as run
from reesens.store.ownership import StoreError
from reesens.study.parse import parse
from reesens.study.schema import StudyError
from tests.methods.test_streaming import PROBLEM
from tests.models import ishigami
from tests.runs.test_pipeline import _data_bytes


def test_weights_are_poisson_1_and_keyed_by_point():
    w = poisson_weights(11, 0, 100_000, 8)
    n = w.size
    for k in range(5):  # each frequency within 5 binomial standard deviations of the pmf
        p = poisson.pmf(k, 1.0)
        assert abs((w == k).sum() - n * p) <= 5 * math.sqrt(n * p * (1 - p)), k
    assert np.all(w == np.round(w)) and w.min() == 0
    np.testing.assert_array_equal(poisson_weights(11, 5_000, 300, 8), w[:, 5_000:5_300])
    assert not np.array_equal(poisson_weights(12, 0, 1000, 8), w[:, :1000])
    # replicates and neighbouring points are uncorrelated
    assert abs(np.corrcoef(w[0], w[1])[0, 1]) < 0.02
    assert abs(np.corrcoef(w[0, :-1], w[0, 1:])[0, 1]) < 0.02


def _series(points, second_order, seed=0):
    """(2, points * k) Saltelli-ordered series (D = 3): Ishigami and a shifted, scaled
    copy."""
    X = salib_sample.sample(PROBLEM, points, calc_second_order=second_order, seed=seed + 1)
    y = ishigami.evaluate_block(X)["y"]
    return np.stack([y, 1e4 + 3 * y])


@pytest.mark.parametrize("second_order", [False, True])
def test_replicate_moments_equal_numpy(second_order):
    D, points, R = 3, 256, 7
    Y = _series(points, second_order)
    weight, mean, comoment = replicate_moments(Y, D, second_order, first_point=40, seed=9,
                                               replicates=R)
    ft = Features(D, second_order)
    w = poisson_weights(9, 40, points, R)
    k = 2 * D + 2 if second_order else D + 2
    for s in range(Y.shape[0]):
        y = Y[s].reshape(points, k)
        a, b = y[:, 0], y[:, -1]
        x = np.column_stack([a, b, *(y[:, 1:D + 1] - a[:, None]).T,
                             *(y[:, D + 1:2 * D + 1].T if second_order else ())])
        assert x.shape[1] == ft.base.size
        for r in range(R):
            m = w[r] @ x / w[r].sum()
            c = [(w[r] * (x[:, q] - m[q]) * (x[:, t] - m[t])).sum()
                 for q, t in ft.base_pairs.T]
            assert weight[r] == w[r].sum()
            np.testing.assert_allclose(mean[r, s], m, rtol=1e-12)
            np.testing.assert_allclose(comoment[r, s], c, rtol=1e-9, atol=1e-9 * np.abs(
                c).max())


def test_replicates_merge_like_one_chunk():
    D, points, R = 3, 512, 5
    Y = _series(points, True)
    ft, k = Features(D, True), 2 * D + 2
    whole = Replicates(ft, *replicate_moments(Y, D, True, first_point=0, seed=3,
                                              replicates=R))
    size = 64
    parts = [Replicates(ft, *replicate_moments(Y[:, i * k:(i + size) * k], D, True,
                                               first_point=i, seed=3, replicates=R))
             for i in range(0, points, size)]
    for merged in (merge_all(parts), merge_all(parts[::-1])):
        np.testing.assert_array_equal(merged.weight, whole.weight)
        np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
        np.testing.assert_allclose(merged.comoment, whole.comoment, rtol=1e-10)


@pytest.mark.parametrize("second_order", [False, True])
def test_bootstrap_intervals_equal_salib_estimators_on_resampled_rows(second_order):
    """Integer weights make replicate r SALib's estimator on the rows of base point i
    repeated w_ri times (with SALib's fixed standardisation); the half-width is z times
    their standard deviation, as SALib computes it."""
    D, N, R = 3, 2**9, 30
    y = _series(N, second_order, seed=4)[0]
    ft, k = Features(D, second_order), 2 * D + 2 if second_order else D + 2
    size = 128 * k
    moments = merge_all(moments_of(ft, y[None, i:i + size], i // k)
                        for i in range(0, y.size, size))
    boot = merge_all(Replicates(ft, *replicate_moments(
        y[None, i:i + size], D, second_order, first_point=i // k, seed=21, replicates=R))
        for i in range(0, y.size, size))
    got = indices(moments, 0.95, boot)
    A, B, AB, BA = salib_analyze.separate_output_values((y - y.mean()) / y.std(), D, N,
                                                        second_order)
    w = poisson_weights(21, 0, N, R).astype(int)
    resamples = [np.repeat(np.arange(N), w[r]) for r in range(R)]
    z = 1.959963984540054
    for j in range(D):
        s1 = [salib_analyze.first_order(A[i], AB[i, j], B[i]) for i in resamples]
        st = [salib_analyze.total_order(A[i], AB[i, j], B[i]) for i in resamples]
        np.testing.assert_allclose(got["S1_conf"][0, j], z * np.std(s1, ddof=1), rtol=1e-9)
        np.testing.assert_allclose(got["ST_conf"][0, j], z * np.std(st, ddof=1), rtol=1e-9)
    for j, kk in ft.param_pairs:
        s2 = [salib_analyze.second_order(A[i], AB[i, j], AB[i, kk], BA[i, j], B[i])
              for i in resamples]
        np.testing.assert_allclose(got["S2_conf"][0, j, kk], z * np.std(s2, ddof=1),
                                   rtol=1e-9)
    delta = indices(moments, 0.95)
    for q in ("S1", "ST") + (("S2",) if second_order else ()):
        np.testing.assert_array_equal(got[q], delta[q])  # the point estimates are shared


def test_bootstrap_intervals_cover_at_the_nominal_rate():
    """200 independent Monte Carlo designs of Ishigami, each with its own bootstrap seed:
    each 95% interval must hold the analytic index in 95% of them, within binomial noise
    (3 standard deviations)."""
    s1, st = ishigami.analytic_indices()
    seeds, n, D, R = 200, 2**11, 3, 100
    ft = Features(D, False)
    hits = {"S1": np.zeros(D), "ST": np.zeros(D)}
    for seed in range(seeds):
        y = ishigami.iid_design_outputs(seed, n)
        got = indices(moments_of(ft, y, delta=False), 0.95,
                      Replicates(ft, *replicate_moments(y, D, False, first_point=0,
                                                        seed=1000 + seed, replicates=R)))
        for q, analytic in (("S1", s1), ("ST", st)):
            hits[q] += np.abs(got[q][0] - analytic) <= got[f"{q}_conf"][0]
    sd = math.sqrt(seeds * 0.95 * 0.05)
    for q, count in hits.items():
        assert np.all(np.abs(count - 0.95 * seeds) <= 3 * sd), (q, count)


def _bootstrap_table(N=2**10, block_points=2**7, **analysis):
    table = ishigami.study_table(N=N, block_points=block_points, second_order=True)
    table["analysis"] = {"estimator": "streaming", "intervals": "bootstrap",
                         "resamples": 40, **analysis}
    return table


def test_bootstrap_runs_do_not_depend_on_blocks_or_workers(tmp_path):
    one = run.run(parse(_bootstrap_table()), out=tmp_path / "one.zarr", progress=False)
    run.run(parse(_bootstrap_table()), out=tmp_path / "two.zarr", workers=2, progress=False)
    assert _data_bytes(tmp_path / "one.zarr") == _data_bytes(tmp_path / "two.zarr")
    other = run.run(parse(_bootstrap_table(block_points=2**5)), out=tmp_path / "b.zarr",
                    progress=False)
    xr.testing.assert_allclose(one["sobol"], other["sobol"], rtol=1e-10, atol=1e-12)
    ds = one["sobol"]
    assert ds.attrs["intervals"] == "bootstrap"
    assert "Poisson bootstrap (40 replicates)" in ds["sobol_S1_conf"].attrs["long_name"]
    assert np.all(ds["sobol_ST_conf"].values > 0)
    delta = run.run(parse(_bootstrap_table(intervals="delta")), out=tmp_path / "d.zarr",
                    progress=False)["sobol"]
    for q in ("S1", "ST", "S2"):  # same estimates; intervals of the same size
        xr.testing.assert_equal(ds[f"sobol_{q}"], delta[f"sobol_{q}"])
        ratio = ds[f"sobol_{q}_conf"] / delta[f"sobol_{q}_conf"]
        assert float(ratio.min()) > 0.5 and float(ratio.max()) < 2, q


def test_a_delta_store_is_not_resumed_with_bootstrap(tmp_path):
    run.run(parse(_bootstrap_table(intervals="delta")), out=tmp_path / "s.zarr",
            progress=False)
    with pytest.raises(StoreError, match=r"bootstrap replicates \(--intervals, resamples\): "
                                         "store 0, now 40"):
        run.run(parse(_bootstrap_table()), out=tmp_path / "s.zarr", progress=False)


@pytest.mark.parametrize("analysis, message", [
    ({"intervals": "jackknife"}, "analysis.intervals: must be one of auto, replicates, delta, bootstrap"),
    ({"intervals": "bootstrap", "resamples": 1}, "bootstrap intervals need >= 2"),
])
def test_bad_interval_settings_are_refused(analysis, message):
    with pytest.raises(StudyError, match=message):
        parse(_bootstrap_table(**analysis))
