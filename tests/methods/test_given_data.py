"""PAWN, Borgonovo's delta and the given-data S1 (methods.counts) against a plain numpy
computation on the kept rows, SALib's pawn and delta, the analytic Ishigami indices and
the pick-freeze S1; invariance to blocks and workers; null levels; bad settings."""
import math

import numpy as np
import pytest
import xarray as xr

from reesens.methods import counts as slice_counts
from reesens.methods import given_data
from reesens.runs import montecarlo as run
from reesens.study.parse import parse
from reesens.study.schema import StudyError
from tests.interface.test_cli import ROOT
from tests.models import ishigami
from tests.runs.test_pipeline import _woods_table

ALL = ["sobol", "pawn", "delta", "given_data"]


def _ishigami(N, block_points=2**10, **analysis):
    table = ishigami.study_table(N=N, block_points=block_points)
    table["analysis"].update(methods=ALL, **analysis)
    return table


def _ab(groups, names):
    """(x (rows, D), outputs {name: (rows,)}) of the kept A and B rows, in row order."""
    samples = groups["samples"]
    k = len(names) + 2
    n = samples.sizes["sample"]
    ab = np.sort(np.r_[np.arange(0, n, k), np.arange(k - 1, n, k)])
    x = np.stack([samples[p].values[..., ab] for p in names], axis=-1)
    return x, {o: samples[o].values[..., ab] for o in samples.data_vars if o not in names}


def _numpy_counts(x, y, slice_edges, bin_edges=None, codes=None):
    """counts (D, slices, bins) by explicit masks, one slice and bin at a time."""
    D = x.shape[1]
    lo = lambda e, i: -np.inf if i == 0 else e[i - 1]  # noqa: E731
    hi = lambda e, i: np.inf if i == len(e) else e[i]  # noqa: E731
    M = slice_edges.shape[1] + 1
    W = len(codes) if codes is not None else len(bin_edges) + 1
    out = np.zeros((D, M, W), dtype=np.int64)
    for j in range(D):
        for m in range(M):
            inside = (x[:, j] >= lo(slice_edges[j], m)) & (x[:, j] < hi(slice_edges[j], m))
            for b in range(W):
                if codes is not None:
                    hit = y == codes[b]
                else:
                    hit = (y >= lo(bin_edges, b)) & (y < hi(bin_edges, b))
                out[j, m, b] = np.count_nonzero(inside & hit)
    return out


def _numpy_measures(counts, code: bool):
    """(PAWN median, mean, max, delta) (D,) from counts (D, M, W), in plain loops."""
    D, M, W = counts.shape
    total = counts[0].sum(0) / counts[0].sum()
    med, mean, mx, delta = (np.zeros(D) for _ in range(4))
    for j in range(D):
        dist, tv = [], []
        for m in range(M):
            cond = counts[j, m] / counts[j, m].sum()
            tv.append(0.5 * np.abs(cond - total).sum())
            dist.append(tv[-1] if code else np.abs(np.cumsum(cond) - np.cumsum(total)).max())
        med[j], mean[j], mx[j] = np.median(dist), np.mean(dist), np.max(dist)
        delta[j] = sum(counts[j, m].sum() / counts[j].sum() * tv[m] for m in range(M))
    return med, mean, mx, delta


def test_streamed_measures_equal_plain_numpy_on_the_same_rows(tmp_path):
    table = _woods_table(sampling={"N": 1024, "block_points": 256, "seed": 7},
                         analysis={"methods": ALL, "slices": 8, "bins": 16},
                         outputs={"names": ["eq", "mu_star", "margin"]})
    study = parse(table)
    groups = run.run(study, out=tmp_path / "s.zarr", progress=False, keep_samples=True)
    edges = slice_counts.pilot_edges(study)
    x, outputs = _ab(groups, study.sampled_names)
    for i, name in enumerate(study.outputs):
        codes = edges.codes[i]
        counts = _numpy_counts(x, outputs[name], edges.slices[0], edges.bins[i], codes)
        med, mean, mx, delta = _numpy_measures(counts, codes is not None)
        pawn = groups["pawn"].sel(output=name)
        np.testing.assert_allclose(pawn["pawn_median"].values, med, rtol=1e-12)
        np.testing.assert_allclose(pawn["pawn_mean"].values, mean, rtol=1e-12)
        np.testing.assert_allclose(pawn["pawn_max"].values, mx, rtol=1e-12)
        np.testing.assert_allclose(groups["delta"]["delta"].sel(output=name).values, delta,
                                   rtol=1e-12)
        assert pawn["output_distance"].item() == (
            "total variation" if codes is not None else "Kolmogorov-Smirnov")
    assert groups["pawn"].attrs["rows"] == 2 * 1024


def test_given_data_aggregate_is_the_ratio_of_summed_between_slice_variances(tmp_path):
    table = _woods_table(sampling={"N": 1024, "block_points": 256, "seed": 7},
                         analysis={"methods": ALL, "slices": 8})
    study = parse(table)
    groups = run.run(study, out=tmp_path / "s.zarr", progress=False, keep_samples=True)
    edges = slice_counts.pilot_edges(study)
    x, outputs = _ab(groups, study.sampled_names)
    eq = outputs["eq"]
    between, total = np.zeros(6), 0.0
    slice_of = np.stack([np.searchsorted(edges.slices[0, j], x[:, j], side="right")
                         for j in range(6)])
    for code in np.unique(eq):
        y = (eq == code).astype(float)
        total += y.var()
        for j in range(6):
            between[j] += sum((slice_of[j] == m).mean() * (y[slice_of[j] == m].mean()
                                                           - y.mean()) ** 2
                              for m in range(8))
    got = groups["given_data"]["given_data_S1"].sel(output="eq").values
    slicing = got - between / total  # the slicing correction: small and >= 0
    assert (slicing >= 0).all() and (slicing < 0.02).all()
    codes = edges.codes[study.outputs.index("eq")]
    by_slice = given_data.given_data_codes(_numpy_counts(x, eq, edges.slices[0], codes=codes),
                                           list(range(len(codes))))
    np.testing.assert_allclose(by_slice.estimate - by_slice.slicing, between / total,
                               rtol=1e-10)


def test_counts_do_not_depend_on_blocks_or_workers(tmp_path):
    found = []
    for block_points, workers in ((2**8, 1), (2**10, 2), (2**11, 1)):
        table = _woods_table(sampling={"N": 2**11, "block_points": block_points, "seed": 4},
                             analysis={"methods": ALL})
        found.append(run.run(parse(table), out=tmp_path / f"{block_points}.zarr",
                             progress=False, workers=workers))
    for other in found[1:]:
        for group in ("pawn", "delta"):
            for name, var in found[0][group].data_vars.items():  # exactly, NaN included
                xr.testing.assert_equal(var, other[group][name])
        np.testing.assert_allclose(found[0]["given_data"]["given_data_S1"].values,
                                   other["given_data"]["given_data_S1"].values,
                                   rtol=1e-9, atol=1e-12)


def test_pawn_and_delta_are_near_salib_on_the_same_rows(tmp_path):
    from SALib.analyze import delta, pawn

    groups = run.run(parse(_ishigami(2**14, 2**12)), out=tmp_path / "i.zarr",
                     progress=False, keep_samples=True)
    x, outputs = _ab(groups, ("x1", "x2", "x3"))
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}
    theirs = pawn.analyze(problem, x, outputs["y"], S=32, seed=1)
    ours = groups["pawn"].sel(output="y")
    # same slices; KS at 31 bin edges, not at every row: a little below, never above
    for q, salib in (("median", "median"), ("mean", "mean"), ("max", "maximum")):
        gap = np.asarray(theirs[salib]) - ours[f"pawn_{q}"].values
        assert (gap > -0.002).all() and (gap < 0.012).all(), (q, gap)
    theirs = delta.analyze(problem, x, outputs["y"], num_resamples=5, seed=1)
    ours = groups["delta"]["delta"].sel(output="y").values
    # histogram against kernel densities: the histogram reads higher, by less than the
    # null level's reach (0.07 here), and the ranking is the same
    gap = ours - np.asarray(theirs["delta_raw"])
    assert (gap > 0).all() and (gap < 0.06).all(), gap
    assert np.argsort(ours).tolist() == np.argsort(theirs["delta_raw"]).tolist()
    # SALib's delta also gives a given-data S1 (its classes, no slicing correction)
    S1, _ = ishigami.analytic_indices()
    ours = groups["given_data"]["given_data_S1"].sel(output="y").values
    assert (np.abs(ours - S1) <= np.abs(np.asarray(theirs["S1"]) - S1) + 1e-3).all()


def test_given_data_s1_holds_the_analytic_and_pick_freeze_values(tmp_path):
    S1, _ = ishigami.analytic_indices()
    groups = run.run(parse(_ishigami(2**13)), out=tmp_path / "i.zarr", progress=False)
    gd = groups["given_data"].sel(output="y")
    est, hw = gd["given_data_S1"].values, gd["given_data_S1_conf"].values
    assert (np.abs(est - S1) <= hw).all(), (est, hw, S1)
    assert (hw < 0.03).all()
    pick = groups["sobol"].sel(output="y")
    assert (np.abs(est - pick["sobol_S1"].values)
            <= hw + pick["sobol_S1_conf"].values).all()
    # with independent scramblings: Student t over the designs, narrower and still holding
    groups = run.run(parse(_ishigami(2**14, intervals="replicates", scramblings=8)),
                     out=tmp_path / "r.zarr", progress=False)
    gd = groups["given_data"].sel(output="y")
    assert (np.abs(gd["given_data_S1"].values - S1) <= gd["given_data_S1_conf"].values).all()
    assert "Student t" in gd.attrs["interval"]


def test_a_parameter_the_output_ignores_reads_at_most_its_null_level(tmp_path):
    # mu_star = (A + gamma) / (gamma + delta) ignores phi_D, kappa and p; the others read
    # well above their null level (the 95% quantile of an ignored one on iid rows)
    table = _woods_table(sampling={"N": 2**12, "block_points": 2**10, "seed": 9},
                         analysis={"methods": ALL})
    groups = run.run(parse(table), out=tmp_path / "w.zarr", progress=False)
    pawn, delta = groups["pawn"].sel(output="mu_star"), groups["delta"].sel(output="mu_star")
    ignored, used = ["phi_D", "kappa", "p"], ["A", "gamma", "delta"]
    for q in ("median", "mean", "max"):
        assert (pawn[f"pawn_{q}"].sel(param=ignored) <= pawn[f"pawn_{q}_null"].sel(
            param=ignored)).all()
        assert (pawn[f"pawn_{q}"].sel(param=used) > 2 * pawn[f"pawn_{q}_null"].sel(
            param=used)).all()
    assert (delta["delta"].sel(param=ignored) <= delta["delta_null"].sel(param=ignored)).all()
    assert (delta["delta"].sel(param=used) > 1.3 * delta["delta_null"].sel(param=used)).all()
    gd = groups["given_data"].sel(output="mu_star", param=ignored)
    assert (np.abs(gd["given_data_S1"]) <= gd["given_data_S1_conf"]).all()


@pytest.mark.parametrize("code", [False, True])
def test_null_levels_are_the_stated_quantile_on_iid_rows(code):
    # iid rows, an output independent of every parameter: each measure exceeds its null
    # level (the 95% quantile) in about 5% of repetitions, and its median stays below it
    rng = np.random.default_rng(3)
    n, M, W, reps = 4096, 16, 8, 200
    values, nulls = {q: [] for q in ("median", "mean", "max", "delta")}, {}
    for _ in range(reps):
        x = rng.uniform(size=(n, 1))
        y = rng.integers(0, 3, n) if code else rng.normal(size=n)
        edges = (np.arange(1, M) / M)[None]
        bins = None if code else np.quantile(rng.normal(size=20000), np.arange(1, W) / W)
        counts = _numpy_counts(x, y, edges, bins, [0, 1, 2] if code else None)[None]
        is_code = np.array([code])
        found = slice_counts.pawn_delta(counts, is_code)
        null = slice_counts.null_levels(counts, is_code, seed=1, conf_level=0.95)
        for q in values:
            values[q].append(found[q][0, 0])
            nulls.setdefault(q, []).append(null[q][0, 0])
    for q in values:
        above = np.mean(np.array(values[q]) > np.array(nulls[q]))
        # binomial(200, 0.05): 3 sd is 4.6%; the null level's own draws add a little
        assert 0.005 <= above <= 0.11, (q, above)


def test_code_outputs_use_total_variation_whatever_the_code_order(tmp_path):
    counts = np.zeros((1, 1, 4, 3), dtype=np.int64)
    counts[0, 0] = [[10, 0, 10], [10, 0, 10], [0, 20, 0], [0, 20, 0]]
    tv = slice_counts.pawn_delta(counts, np.array([True]))
    swapped = slice_counts.pawn_delta(counts[..., [1, 0, 2]], np.array([True]))
    for q in tv:
        assert tv[q][0, 0] == swapped[q][0, 0]
    # slices [1/2, 0, 1/2] and [0, 1, 0] against [1/4, 1/2, 1/4]: TV 1/2 in every slice
    assert tv["median"][0, 0] == tv["delta"][0, 0] == 0.5
    ks = slice_counts.pawn_delta(counts, np.array([False]))
    ks_swapped = slice_counts.pawn_delta(counts[..., [1, 0, 2]], np.array([False]))
    assert ks["max"][0, 0] != ks_swapped["max"][0, 0]  # why KS is not used for codes


@pytest.mark.parametrize("analysis, message", [
    ({"methods": "pawn"}, "analysis.methods: must be a list"),
    ({"methods": ["sobol", "morris2"]}, "unknown method 'morris2'"),
    ({"methods": ["pawn"]}, 'must include "sobol"'),
    ({"methods": []}, "analysis.methods: must be a list"),
    ({"methods": ALL, "slices": 1}, "analysis.slices: must be an integer in [2, 1024]"),
    ({"methods": ALL, "bins": 2.5}, "analysis.bins: must be an integer in [2, 1024]"),
    ({"methods": ALL, "bins": True}, "analysis.bins: must be an integer in [2, 1024]"),
    ({"methods": ALL, "slices": 64}, "leave fewer than 16 rows per slice; use at most 32"),
])
def test_bad_method_settings_are_named(analysis, message):
    table = _woods_table(analysis=analysis)
    with pytest.raises(StudyError) as e:
        parse(table, "bad.toml")
    assert message in str(e.value) and "bad.toml" in str(e.value)


def test_an_ignored_parameter_exceeds_its_null_level_at_most_at_the_stated_rate(tmp_path):
    """On Sobol' rows, over seeds and N, with the intervals the study gets by default (one
    design at N = 1024 and 4096, 8 scramblings of 2048 at N = 16384): outputs of the
    baseline that ignore some parameters (dmu_dA = 1 / (gamma + delta) ignores A, phi_D,
    kappa and p; mu_star and its other derivatives ignore phi_D, kappa and p) read above
    their 95% null level in at most 5% of (design, output, parameter, measure) cells."""
    import tomllib
    ignored = {"dmu_dA": ["A", "phi_D", "kappa", "p"], "mu_star": ["phi_D", "kappa", "p"],
               "dmu_dgamma": ["phi_D", "kappa", "p"], "dmu_ddelta": ["phi_D", "kappa", "p"]}
    above = cells = 0
    runs = [(seed, N) for seed in range(1, 7) for N in (1024, 4096)] + [
        (seed, 16384) for seed in range(1, 4)]
    for seed, N in runs:
        table = tomllib.loads((ROOT / "studies" / "baseline.toml").read_text())
        table["sampling"] = {"N": N, "seed": seed}
        table["analysis"] = {"methods": ["sobol", "pawn", "delta"]}
        study = parse(table)
        assert study.intervals == ("replicates" if N == 16384 else "delta")
        groups = run.run(study, out=tmp_path / f"{seed}-{N}.zarr", progress=False)
        for output, params in ignored.items():
            for group, names in (("pawn", ("pawn_median", "pawn_mean", "pawn_max")),
                                 ("delta", ("delta",))):
                ds = groups[group].sel(output=output, param=params)
                for q in names:
                    hits = (ds[q] > ds[f"{q}_null"]).values
                    above, cells = above + int(hits.sum()), cells + hits.size
    assert cells == 15 * 13 * 4  # designs x ignored (output, parameter) pairs x measures
    assert above / cells <= 0.05, (above, cells)


def test_too_few_rows_per_slice_state_no_null_level(tmp_path):
    """With fewer than 64 A and B rows per slice in a design (N = 512: 32), an ignored
    parameter reads above an iid null level in up to 1 in 3 cells, so the null levels are
    NaN and the group, show and the report say why; with "auto" intervals such an N keeps
    one design rather than splitting it among scramblings."""
    import tomllib
    table = tomllib.loads((ROOT / "studies" / "baseline.toml").read_text())
    table["sampling"] = {"N": 512, "seed": 1}
    table["analysis"] = {"methods": ["sobol", "pawn", "delta"]}
    study = parse(table)
    assert study.intervals == "delta"
    groups = run.run(study, out=tmp_path / "small.zarr", progress=False)
    for group, key in (("pawn", "pawn_median"), ("delta", "delta")):
        ds = groups[group]
        assert np.isnan(ds[f"{key}_null"].values).all()
        assert np.isfinite(ds[key].sel(output="mu_star").values).all()
        assert "fewer than 64 A and B rows per slice" in ds.attrs["null_level_missing"]
        assert "N >= 1024" in ds.attrs["null_level_missing"]
    from reesens.methods import measures, pawn
    sentences = measures.null_sentences(groups["pawn"], "pawn_median", "PAWN")
    assert sentences == ["By PAWN: no null levels (fewer than 64 A and B rows per slice in "
                         "each design (N >= 1024 states it)), so no parameter is told apart "
                         "from no influence."]
    text = pawn.show(groups, {})
    assert "(null)" not in text and text.endswith(
        "no null levels: fewer than 64 A and B rows per slice in each design (N >= 1024 "
        "states it)")
