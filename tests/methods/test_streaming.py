"""The streaming estimator against SALib and numpy, its intervals' coverage, and the
crash-safe store: resume after kill -9, refusals, lock, clusters, convergence."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
import xarray as xr
import zarr
from SALib.analyze import sobol as salib_analyze
from SALib.sample import sobol as salib_sample

from reesens.kernels.qmc import sobol_points, sobol_state
from reesens.kernels.saltelli import Features, block_moments
from reesens.methods.sobol.streaming import Moments, Subsample, indices, merge_all, moments_of
from reesens.runs import montecarlo as run
from reesens.store import integrity, ownership
from reesens.study.parse import parse
from tests.models import ishigami
from tests.runs.test_pipeline import _data_bytes, _woods_table

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}


def _moments(Y, D, second_order, block_points):
    """Merged block statistics of Y (series, rows), blocks of `block_points` points."""
    k = 2 * D + 2 if second_order else D + 2
    size = block_points * k
    ft = Features(D, second_order)
    return merge_all(moments_of(ft, Y[:, i:i + size], i // k)
                     for i in range(0, Y.shape[1], size))


def _numpy_features(y, D, second_order):
    """The feature vectors (points, F) of one series y (points, k), in Features' order."""
    a, b, ab = y[:, 0], y[:, -1], y[:, 1:D + 1]
    d = ab - a[:, None]
    columns = [a, b, a * a, b * b, *d.T, *(b[:, None] * d).T]
    if second_order:
        ba = y[:, D + 1:2 * D + 1]
        columns += [*ba.T] + [ba[:, j] * ab[:, kk] - a * b
                              for j, kk in Features(D, second_order).param_pairs]
    return np.stack(columns + [*(d * d).T], axis=1)


@pytest.mark.parametrize("start, n", [(0, 1), (1, 7), (5, 64), (1000, 24), (2**20 - 3, 3)])
def test_sobol_points_equal_scipy_at_any_offset(start, n):
    from scipy.stats import qmc
    for scramble in (True, False):
        engine = qmc.Sobol(d=5, scramble=scramble, seed=9)
        if start:
            engine.fast_forward(start)
        expected = engine.random(n)
        got = sobol_points(sobol_state(5, seed=9, scramble=scramble), start, n)
        assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("d, seed", [(1, 0), (6, 7), (12, 2**40), (40, None)])
def test_sobol_state_is_scipys_engine(d, seed):
    from scipy.stats import qmc
    for scramble in (True, False):
        seed_ = 99 if seed is None and scramble else seed
        engine = qmc.Sobol(d=d, scramble=scramble, seed=seed_)
        sv, shift, scale = sobol_state(d, seed=seed_, scramble=scramble)
        assert sv.tolist() == engine._sv.tolist() and shift.tolist() == engine._quasi.tolist()
        assert scale == engine._scale


def test_sobol_state_loads_without_scipy_stats():
    """In a fresh process: no scipy.stats import, and still scipy's engine exactly."""
    code = """if True:
        import sys
        from reesens.kernels.qmc import sobol_state
        states = [sobol_state(d, seed=3, scramble=s) for d in (1, 9) for s in (True, False)]
        print(sorted(m for m in sys.modules if m.startswith("scipy.stats")))
        from scipy.stats import qmc
        engines = [qmc.Sobol(d, seed=3, scramble=s) for d in (1, 9) for s in (True, False)]
        print(all(sv.tolist() == e._sv.tolist() and shift.tolist() == e._quasi.tolist()
                  for (sv, shift, _), e in zip(states, engines)))
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split("\n")[:2] == ["['scipy.stats._sobol']", "True"]
    assert done.stderr == ""


@pytest.mark.parametrize("second_order", [False, True])
def test_block_moments_equal_a_numpy_reimplementation(second_order):
    rng = np.random.default_rng(4)
    D, points = 3, 50
    k = 2 * D + 2 if second_order else D + 2
    Y = rng.normal(3.0, 2.0, size=(3, points * k))
    Y[1, 5] = np.nan
    Y[2] = 0.25  # constant: the kernel's shortcut must give the same statistics
    mean, comoment, rows = block_moments(Y, D, second_order)
    ft = Features(D, second_order)
    for s in range(3):
        f = _numpy_features(Y[s].reshape(points, k), D, second_order)
        np.testing.assert_allclose(mean[s], f.mean(axis=0), rtol=1e-13, atol=1e-13)
        centred = f - f.mean(axis=0)
        full = centred.T @ centred
        np.testing.assert_allclose(comoment[s], full[ft.pairs[0], ft.pairs[1]], rtol=1e-12,
                                   atol=1e-12)
        valid = Y[s][~np.isnan(Y[s])]
        expected = [valid.size, valid.mean(), ((valid - valid.mean()) ** 2).sum(), valid.min(),
                    valid.max()]
        np.testing.assert_allclose(rows[s], expected, rtol=1e-13)


@pytest.mark.parametrize("D, second_order", [(3, False), (3, True), (6, True)])
def test_the_accumulated_pairs_are_all_the_intervals_need(D, second_order):
    """Indices and intervals from the kernel's pairs equal those from the full feature
    covariance (every pair, numpy): no estimator's gradient meets a pair left out. (64
    points: the delta method's subsample holds them all.)"""
    rng = np.random.default_rng(7)
    k, points = 2 * D + 2 if second_order else D + 2, 64
    Y = rng.normal(size=(2, points * k)) ** 3
    Y[1] = Y[1] > 0.5
    sparse = _moments(Y, D, second_order, points)
    everything = Features(D, second_order)
    everything.pairs = np.array(np.triu_indices(everything.size))
    f = [_numpy_features(y.reshape(points, k), D, second_order) for y in Y]
    centred = [x - x.mean(axis=0) for x in f]
    full = Moments(everything, points, sparse.mean, sparse.comoment, sparse.rows, Subsample(
        everything, np.full((2, 1), float(points)), np.array([x.mean(axis=0) for x in f]),
        np.array([(c.T @ c)[everything.pairs[0], everything.pairs[1]] for c in centred])))
    assert sparse.features.n_pairs < everything.n_pairs
    got, expected = indices(sparse, 0.95), indices(full, 0.95)
    assert set(got) == set(expected)
    for q in expected:
        np.testing.assert_allclose(got[q], expected[q], rtol=1e-10, atol=1e-13, err_msg=q)


def test_block_sums_equal_a_numpy_reimplementation():
    """The base features' means and co-moments and the row statistics of a block, added
    in uneven pieces, against numpy's two-pass values on the whole block."""
    rng = np.random.default_rng(5)
    for D, second_order in ((3, False), (4, True)):
        k, points = 2 * D + 2 if second_order else D + 2, 300
        Y = rng.normal(size=(4, points * k)) * np.array([[1], [1e3], [1e-3], [0]]) + \
            np.array([[0], [1e5], [-7], [0.25]])
        Y[0, 7] = np.nan
        m = moments_of(Features(D, second_order), Y, 0, delta=False)
        ft = Features(D, second_order)
        for s in range(4):
            f = _numpy_features(Y[s].reshape(points, k), D, second_order)[:, ft.base]
            centred = f - f.mean(axis=0)
            q, r = ft.base_pairs
            if s == 0:
                assert np.isnan(m.mean[s]).any()
            else:
                np.testing.assert_allclose(m.mean[s], f.mean(axis=0), rtol=1e-12,
                                           atol=1e-12)
                scale = (centred ** 2).sum(axis=0).max()
                np.testing.assert_allclose(m.comoment[s], (centred[:, q] * centred[:, r]).sum(
                    axis=0), rtol=1e-9, atol=1e-12 * scale)
            valid = Y[s][~np.isnan(Y[s])]
            expected = [valid.size, valid.mean(), ((valid - valid.mean()) ** 2).sum()]
            np.testing.assert_allclose(m.rows[s], expected, rtol=1e-10, atol=1e-12)
        assert np.all(m.comoment[3] == 0) and np.all(m.mean[3, :2] == 0.25)  # constant
        assert m.rows[3, 2] == 0 and np.all(m.rows[:3, 2] > 0)  # M2: 0 only if constant


@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_point_estimates_equal_salib_to_1e_10(second_order, offset):
    X = salib_sample.sample(PROBLEM, 2**11, calc_second_order=second_order, seed=3)
    y = ishigami.evaluate_block(X)["y"] + offset  # SALib standardises: no change expected
    expected = salib_analyze.analyze(PROBLEM, y, calc_second_order=second_order, seed=2)
    for block_points in (2**11, 2**7, 2**4):
        got = indices(_moments(y[None], 3, second_order, block_points), 0.95)
        for q in ("S1", "ST") + (("S2",) if second_order else ()):
            mask = ~np.isnan(expected[q])
            np.testing.assert_allclose(got[q][0][mask], expected[q][mask], rtol=1e-10,
                                       atol=1e-12, err_msg=(q, block_points))


def test_merge_order_changes_only_round_off():
    X = salib_sample.sample(PROBLEM, 2**10, calc_second_order=True, seed=5)
    y = ishigami.evaluate_block(X)["y"][None]
    size = 2**6 * 8
    parts = [moments_of(Features(3, True), y[:, i:i + size], i // 8)
             for i in range(0, y.shape[1], size)]
    forward, backward = merge_all(parts), merge_all(parts[::-1])
    for name in ("mean", "comoment", "rows"):
        np.testing.assert_allclose(getattr(forward, name), getattr(backward, name),
                                   rtol=1e-12, atol=1e-12)


def test_delta_method_intervals_cover_at_the_nominal_rate():
    """200 independent Monte Carlo designs (iid rows, for which the delta method is
    derived): each 95% interval must hold the analytic index in 95% of them, within
    binomial noise (3 standard deviations)."""
    s1, st = ishigami.analytic_indices()
    seeds, n, D = 200, 2**11, 3
    hits = {"S1": np.zeros(D), "ST": np.zeros(D)}
    estimates, half_widths = {"S1": [], "ST": []}, {"S1": [], "ST": []}
    for seed in range(seeds):
        y = ishigami.iid_design_outputs(seed, n)
        got = indices(_moments(y, D, False, n), 0.95)
        for q, analytic in (("S1", s1), ("ST", st)):
            hits[q] += np.abs(got[q][0] - analytic) <= got[f"{q}_conf"][0]
            estimates[q].append(got[q][0])
            half_widths[q].append(got[f"{q}_conf"][0])
    sd = math.sqrt(seeds * 0.95 * 0.05)
    for q, count in hits.items():
        assert np.all(np.abs(count - 0.95 * seeds) <= 3 * sd), (q, count)
    # the half-width is z times the estimate's standard error: against the spread of the
    # estimates over the designs (a ~5% estimate itself), each within about 10%
    z = NormalDist().inv_cdf(0.975)
    for q in estimates:
        ratio = np.mean(half_widths[q], axis=0) / z / np.std(estimates[q], axis=0, ddof=1)
        assert np.all((0.88 <= ratio) & (ratio <= 1.06)), (q, ratio)


def test_streaming_and_salib_runs_agree(tmp_path):
    table = _woods_table(sampling={"N": 512, "block_points": 64, "seed": 3,
                                   "second_order": True})
    # one design for both: SALib's estimator reads the rows of the design itself
    runs = {e: run.run(parse({**table, "analysis": {"estimator": e, "resamples": 20,
                                                    "intervals": "delta"}}),
                       out=tmp_path / f"{e}.zarr", progress=False)
            for e in ("salib", "streaming")}
    salib_ds, streaming_ds = runs["salib"]["sobol"], runs["streaming"]["sobol"]
    assert salib_ds["output"].values.tolist() == streaming_ds["output"].values.tolist()
    for q in ("S1", "ST", "S2"):
        np.testing.assert_allclose(streaming_ds[f"sobol_{q}"], salib_ds[f"sobol_{q}"],
                                   rtol=1e-10, atol=1e-12, err_msg=q)
    conf, st = streaming_ds["sobol_ST_conf"].values, streaming_ds["sobol_ST"].values
    assert np.isfinite(conf).any() and np.all((conf > 0) == (st > 0))  # ST = 0: no spread
    xr.testing.assert_identical(runs["salib"]["summary"].drop_attrs(),
                                runs["streaming"]["summary"].drop_attrs())
    assert streaming_ds.attrs["estimator"] == "streaming"
    assert "delta method" in streaming_ds["sobol_ST_conf"].attrs["long_name"]


def test_auto_estimator_is_streaming():
    assert run.choose_estimator(parse(_woods_table())) == "streaming"
    assert run.choose_estimator(parse(_woods_table(analysis={"estimator": "salib"}))) == \
        "salib"


# --- the store: resume, refusals, lock ---------------------------------------------------

def _study_file(tmp_path, N=2**13, block_points=2**5):
    text = (ROOT / "studies" / "baseline.toml").read_text()
    text = text.replace("N = 65536", f"N = {N}\nblock_points = {block_points}")
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def _cli(*args):
    return [sys.executable, "-m", "reesens", "run", *map(str, args)]


VOLATILE = ("command", "wall_time_s", "resumed", "history", "reesens_command")  # name --out


def _metadata(store):
    """{path: parsed zarr.json}, root without the invocation record."""
    out = {}
    for p in sorted(store.rglob("zarr.json")):
        meta = json.loads(p.read_text())
        for attrs in [meta.get("attributes", {})] + [
                m.get("attributes", {}) for m in
                (meta.get("consolidated_metadata") or {}).get("metadata", {}).values()]:
            for key in VOLATILE:
                attrs.pop(key, None)
        if p.parent == store:  # the root's seal covers its invocation record too
            meta["attributes"].pop("reesens_seal", None)
        out[str(p.relative_to(store))] = meta
    return out


@pytest.mark.parametrize("intervals", ["delta", "bootstrap"])
def test_killed_run_resumes_to_identical_bytes(tmp_path, intervals):
    study = _study_file(tmp_path)
    args = ["--estimator", "streaming", "--workers", "1", "--quiet", "--keep-samples",
            "--intervals", intervals]
    reference = tmp_path / "whole.zarr"
    subprocess.run(_cli(study, "--out", reference, *args), check=True, cwd=ROOT)

    store = tmp_path / "killed.zarr"
    process = subprocess.Popen(_cli(study, "--out", store, *args), cwd=ROOT)
    done = 0
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        try:
            done = int(integrity.verified_units(store, "blocks", check=False)[0].sum())
        except Exception:  # the template is still being written
            done = 0
        if done >= 20:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    flags = integrity.verified_units(store, "blocks", check=False)[0]
    assert 20 <= flags.sum() < flags.size, "the run was not killed mid-way"
    assert not (store / "sobol").exists()
    # what a kill during a chunk write leaves (whether this kill did is down to timing)
    torn = store / "blocks" / "block_row_stats" / "c" / f"0.{'1f2e3d' * 5}ab.partial"
    torn.write_bytes(b"torn")

    resumed = subprocess.run(_cli(study, "--out", store, *args, "--resume"), cwd=ROOT,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert _data_bytes(store) == _data_bytes(reference)
    assert _metadata(store) == _metadata(reference)
    assert zarr.open_group(store, mode="r").attrs["resumed"] == 1


def test_store_of_another_run_is_refused_and_kept(tmp_path):
    store = tmp_path / "s.zarr"
    run.run(parse(_woods_table()), out=store, progress=False)
    before = _data_bytes(store)
    other_seed = _woods_table(sampling={"N": 256, "block_points": 64, "seed": 4})
    with pytest.raises(run.StoreError, match=r"differing in sampling.seed: store 3, now 4; "
                                             "refusing"):
        run.run(parse(other_seed), out=store, progress=False)
    with pytest.raises(run.StoreError, match='differing in name: store "tiny", now "other"'):
        run.run(parse(_woods_table(name="other")), out=store, progress=False)
    assert _data_bytes(store) == before
    run.run(parse(other_seed), out=store, progress=False, overwrite=True)
    assert xr.open_zarr(store, group="sobol").attrs["seed"] == 4
    with pytest.raises(run.StoreError, match="no store to resume"):
        run.run(parse(_woods_table()), out=tmp_path / "none.zarr", progress=False,
                resume=True)


def test_a_second_writer_is_locked_out(tmp_path):
    store = tmp_path / "s.zarr"
    with ownership.StoreLock(store):
        with pytest.raises(run.StoreError, match="another reesens run is writing"):
            run.run(parse(_woods_table()), out=store, progress=False)
    run.run(parse(_woods_table()), out=store, progress=False)  # the lock is gone
    assert not store.with_name(".s.zarr.reesens-lock").exists()


def test_local_cluster_with_worker_processes_matches_threads(tmp_path):
    import dask
    from distributed import Client, LocalCluster
    table = _woods_table(analysis={"estimator": "streaming"})
    run.run(parse(table), out=tmp_path / "threads.zarr", progress=False, workers=2)
    env = {"NUMBA_NUM_THREADS": "1"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            threads = client.run(lambda: os.environ.get("NUMBA_NUM_THREADS"))
            run.run(parse(table), out=tmp_path / "cluster.zarr", progress=False,
                    client=client)
    assert set(threads.values()) == {"1"}
    assert _data_bytes(tmp_path / "cluster.zarr") == _data_bytes(tmp_path / "threads.zarr")


def test_target_ci_doubles_n_and_records_convergence(tmp_path):
    study = parse(ishigami.study_table(N=2**8, block_points=2**6))
    groups = run.run(study, out=tmp_path / "c.zarr", progress=False, target_ci=0.03,
                     max_N=2**14)
    conv = groups["convergence"]
    Ns = conv["N"].values.tolist()
    assert Ns[0] == 2**8 and all(b == 2 * a for a, b in zip(Ns, Ns[1:]))
    widest = conv["sobol_ST_conf"].max(("output", "param")).values
    assert widest[-1] <= 0.03 < widest[-2]
    assert groups["sobol"].attrs["N"] == Ns[-1]
    np.testing.assert_array_equal(groups["sobol"]["sobol_ST"].values,
                                  conv["sobol_ST"].isel(N=-1).values)
    # the estimates at a smaller N are those of a run stopped there (earlier blocks reused)
    small = run.run(parse(ishigami.study_table(N=2**10, block_points=2**6)),
                    out=tmp_path / "small.zarr", progress=False,
                    target_ci=1.0)  # streaming, one level
    np.testing.assert_array_equal(small["sobol"]["sobol_ST"].values,
                                  conv["sobol_ST"].sel(N=2**10).values)


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_jobqueue_job_scripts_make_workers_single_threaded(kind):
    import dask
    import dask_jobqueue  # noqa: F401  (loads its default configuration first)

    from reesens.execute import tasks as parallel
    config = {f"jobqueue.{kind}.cores": 4, f"jobqueue.{kind}.memory": "8GB"}
    with dask.config.set(config):
        cluster = parallel.jobqueue_cluster(kind)
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
    assert "export NUMBA_NUM_THREADS=1" in script and "dask" in script


def test_rows_whose_squares_underflow_are_not_called_constant():
    """A series whose rows differ by 1e-170 (squares below the smallest float) gets M2 =
    the smallest positive float, so its reason is variance underflow; a constant series
    M2 = 0, so its reason is constant output."""
    from reesens.kernels.saltelli import TINIEST, Accumulator
    from reesens.methods.sobol import indices
    D, k, points = 2, 4, 64
    y = np.zeros((2, points * k))
    y[0, 1::2] = 1e-170  # differing rows
    acc = Accumulator(2, D, False, 0, points, False)
    acc.add_series(y, 0)
    rows = acc.finish()[2]
    assert rows[0, 2] == TINIEST and rows[1, 2] == 0.0
    reasons = indices.skip_reasons(rows, points * k)
    assert reasons[0].startswith("variance underflow") and reasons[1] == "constant output"
