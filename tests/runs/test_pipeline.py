"""The whole engine on the Ishigami model and the woods model."""
import json

import numpy as np
import pytest
import xarray as xr
from SALib.analyze import sobol as salib_analyze
from SALib.sample import sobol as salib_sample

from reesens.design import sampling
from reesens.runs import montecarlo as run
from reesens.store import integrity
from reesens.study.parse import parse
from tests.models import ishigami


@pytest.fixture(scope="module")
def ishigami_run(tmp_path_factory):
    study = parse(ishigami.study_table(N=2**13, second_order=True), estimator="salib")
    store = tmp_path_factory.mktemp("runs") / "ishigami.zarr"
    groups = run.run(study, out=store, workers=2, keep_samples=True, progress=False,
                     command="test")
    return study, store, groups


def test_ishigami_indices_contain_analytic_values(ishigami_run):
    _, _, groups = ishigami_run
    s1, st = ishigami.analytic_indices()
    got = groups["sobol"].sel(output="y")
    for name, analytic in (("S1", s1), ("ST", st)):
        error = np.abs(got[f"sobol_{name}"].values - analytic)
        assert np.all(error <= got[f"sobol_{name}_conf"].values), (name, error)
    assert np.all(groups["sobol"]["sobol_S2_conf"].sel(output="y").values[0, 1] > 0)


def test_ishigami_indices_equal_a_direct_salib_call(ishigami_run):
    study, _, groups = ishigami_run
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    X = salib_sample.sample(problem, study.N, calc_second_order=True, seed=study.seed)
    Y = ishigami.evaluate_block(X)["y"]
    expected = salib_analyze.analyze(problem, Y, calc_second_order=True,
                                     num_resamples=study.resamples,
                                     conf_level=study.conf_level, seed=study.analysis_seed)
    got = groups["sobol"].sel(output="y")
    for q in ("S1", "S1_conf", "ST", "ST_conf", "S2", "S2_conf"):
        np.testing.assert_allclose(got[f"sobol_{q}"].values, expected[q], rtol=1e-12,
                                   atol=1e-15, equal_nan=True, err_msg=q)
    np.testing.assert_array_equal(groups["samples"]["y"].values, Y)
    np.testing.assert_array_equal(groups["samples"]["x2"].values, X[:, 1])


def test_store_round_trip_and_attributes(ishigami_run):
    _, store, groups = ishigami_run
    for group, written in groups.items():
        read = xr.open_zarr(store, group=group).load()
        seal = read.attrs.pop(integrity.SEAL)
        assert set(seal["meta"]) == set(read.variables) | {"."}
        if group != "samples":  # filled block by block: its coordinates only
            assert set(seal["data"]) == set(read.variables)
        written.attrs.pop(integrity.SEAL, None)
        xr.testing.assert_identical(read.drop_encoding(), written)
        for key, value in read.attrs.items():
            json.dumps(value)
        for name, var in read.variables.items():
            if name not in read.dims:
                assert {"long_name", "units"} <= set(var.attrs), (group, name)
        study = json.loads(read.attrs["study_json"])
        assert study["name"] == "ishigami"
        assert read.attrs["seed"] == 11 and read.attrs["git_dirty"] in ("true", "false")
        assert set(json.loads(read.attrs["package_versions"])) >= {"SALib", "numba", "zarr"}


def _woods_table(**changes):
    table = {
        "name": "tiny",
        "model": {"concept": "verifiable"},
        "parameters": {
            "A": {"dist": "unif", "lower": 0.1, "upper": 1.0},
            "gamma": {"dist": "unif", "lower": 0.1, "upper": 1.0},
            "delta": {"dist": "unif", "lower": 1.0, "upper": 5.0},
            "phi_D": {"dist": "unif", "lower": 0.05, "upper": 1.0},
            "kappa": {"dist": "unif", "lower": 0.05, "upper": 1.0},
            "p": {"dist": "unif", "lower": 0.05, "upper": 0.95}},
        "sampling": {"N": 256, "block_points": 64, "seed": 3},
        "analysis": {"resamples": 20},
    }
    table.update(changes)
    # one design of N points, as SALib's sample: the default splits N among scramblings
    table["analysis"] = {"intervals": "delta", **table["analysis"]}
    return table


def _run(table, tmp_path, name, **options):
    return run.run(parse(table), out=tmp_path / f"{name}.zarr", progress=False, **options)


def _data_bytes(store):
    """{relative path: bytes} of every chunk file of a store (no metadata)."""
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*"))
            if p.is_file() and p.name != "zarr.json"}


@pytest.mark.parametrize("estimator", ["salib", "streaming"])
def test_bytes_do_not_depend_on_workers_tasks_or_scheduler(tmp_path, estimator):
    table = _woods_table(analysis={"resamples": 20, "estimator": estimator})
    _run(table, tmp_path, "a", workers=1)
    reference = _data_bytes(tmp_path / "a.zarr")
    assert any(p.startswith("sobol/") for p in reference)
    for name, options in (("b", dict(workers=2, blocks_per_task=3)),
                          ("c", dict(workers=2, scheduler="processes"))):
        _run(table, tmp_path, name, **options)
        assert _data_bytes(tmp_path / f"{name}.zarr") == reference, options


def test_block_size_changes_only_round_off(tmp_path):
    reference = _run(_woods_table(), tmp_path, "a", workers=1)
    table = _woods_table(sampling={"N": 256, "block_points": 16, "seed": 3})
    other = _run(table, tmp_path, "b", workers=2)
    for group in ("sobol", "summary"):
        xr.testing.assert_allclose(reference[group], other[group], rtol=1e-13, atol=1e-15)


def test_nan_and_constant_outputs_get_reasons_not_indices(tmp_path):
    groups = _run(_woods_table(model={"concept": "paper"}), tmp_path, "paper")
    ds, summary = groups["sobol"], groups["summary"]
    nan_rows = int(summary["summary_nan_count"].sel(output="hedge_prob"))
    assert nan_rows > 0
    assert str(ds["sobol_skip_reason"].sel(output="hedge_prob").values) == f"{nan_rows} NaN rows"
    assert np.isnan(ds["sobol_ST"].sel(output="hedge_prob")).all()
    verifiable = _run(_woods_table(), tmp_path, "verifiable")["sobol"]
    assert str(verifiable["sobol_skip_reason"].sel(output="agreement").values) == \
        "constant output"
    assert np.isnan(verifiable["sobol_ST"].sel(output="agreement")).all()
    assert str(ds["sobol_skip_reason"].sel(output="mu_star").values) == ""
    assert not np.isnan(ds["sobol_ST"].sel(output="mu_star")).any()


def test_swept_options_and_scenarios_become_dimensions(tmp_path):
    table = _woods_table(model={"concepts": ["paper", "verifiable"],
                                "selection": ["china", "foreign"]})
    table["scenario"] = [{"name": "cheap_hedge", "parameters": {"A": {"value": 0.2}}},
                         {"name": "costly_hedge",
                          "parameters": {"A": {"dist": "unif", "lower": 0.5, "upper": 0.9}}}]
    # A scenario may not fix a parameter that the study samples.
    with pytest.raises(ValueError, match=r"scenario\[0\].parameters"):
        parse(table)
    table["scenario"][0]["parameters"]["A"] = {"dist": "unif", "lower": 0.1, "upper": 0.3}
    groups = _run(table, tmp_path, "swept")
    st = groups["sobol"]["sobol_ST"]
    assert st.dims == ("scenario", "concept", "selection", "output", "param")
    assert st["scenario"].values.tolist() == ["cheap_hedge", "costly_hedge"]
    lower = groups["sobol"]["param_support_lower"].sel(param="A")
    assert lower.values.tolist() == [0.1, 0.5]
    frequency = groups["summary"]["summary_eq_frequency"]
    np.testing.assert_allclose(frequency.sum("eq_code"), 1.0)
    # The same rows under each concept: the paper concept never selects the hybrid (4).
    assert float(frequency.sel(concept="paper", eq_code=4).max()) == 0.0
    assert float(frequency.sel(concept="verifiable", eq_code=1).min()) > 0.0


def test_indicator_outputs_follow_the_codes_that_occur(tmp_path):
    groups = _run(_woods_table(outputs={"names": ["eq", "mu_star"]}), tmp_path, "codes",
                  keep_samples=True)
    labels = groups["sobol"]["output"].values.tolist()
    codes = np.unique(groups["samples"]["eq"].values)
    meanings = groups["samples"]["eq"].attrs["flag_meanings"].split()
    values = groups["samples"]["eq"].attrs["flag_values"]
    # the aggregate of all codes (methods.categorical), then each code that occurs
    assert labels == ["eq"] + [f"eq=={meanings[values.index(c)]}" for c in codes] + ["mu_star"]
    mean = groups["summary"]["summary_mean"]
    for c in codes:
        label = f"eq=={meanings[values.index(c)]}"
        np.testing.assert_allclose(float(mean.sel(output=label)),
                                   np.mean(groups["samples"]["eq"].values == c), rtol=1e-14)


def test_kept_samples_of_blocks_larger_than_a_chunk_equal_salib(tmp_path):
    """A block of more base points than evaluate.EVAL_POINTS is evaluated in chunks; its
    kept rows are the chunks' rows in order, as SALib samples them."""
    from reesens.evaluate import cases as evaluate
    N = 4 * evaluate.EVAL_POINTS
    study = parse(ishigami.study_table(N=N, block_points=N // 2))
    groups = run.run(study, out=tmp_path / "big.zarr", progress=False, keep_samples=True)
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    X = salib_sample.sample(problem, N, calc_second_order=False, seed=study.seed)
    for j, name in enumerate(study.sampled_names):
        np.testing.assert_array_equal(groups["samples"][name].values, X[:, j])
    np.testing.assert_array_equal(groups["samples"]["y"].values,
                                  ishigami.evaluate_block(X)["y"])


@pytest.mark.parametrize("estimator", ["streaming", "salib"])
def test_blocks_larger_than_the_evaluation_chunk_equal_salib(tmp_path, monkeypatch, estimator):
    """Real studies use blocks of 2^14-2^16 points evaluated 2048 at a time: with chunks of
    16 points in blocks of 128, every chunk must be evaluated at its own first point."""
    from reesens.evaluate import cases as evaluate
    monkeypatch.setattr(evaluate, "EVAL_POINTS", 16)
    study = parse(ishigami.study_table(N=512, block_points=128), estimator=estimator)
    groups = run.run(study, out=tmp_path / "s.zarr", workers=2, keep_samples=True,
                     progress=False)
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    X = salib_sample.sample(problem, study.N, calc_second_order=False, seed=study.seed)
    Y = ishigami.evaluate_block(X)["y"]
    np.testing.assert_array_equal(groups["samples"]["x1"].values, X[:, 0])
    np.testing.assert_array_equal(groups["samples"]["y"].values, Y)
    expected = salib_analyze.analyze(problem, Y, calc_second_order=False,
                                     num_resamples=study.resamples,
                                     conf_level=study.conf_level, seed=study.analysis_seed)
    got = groups["sobol"].sel(output="y")
    for q in ("S1", "ST") + (("S1_conf", "ST_conf") if estimator == "salib" else ()):
        np.testing.assert_allclose(got[f"sobol_{q}"].values, expected[q], rtol=1e-10,
                                   atol=1e-12, err_msg=q)


def test_conf_level_is_the_studys(tmp_path):
    """Half-widths at 0.90 and 0.99: SALib's own at that level (salib estimator), and the
    0.95 half-widths scaled by the ratio of normal quantiles (streaming, delta method)."""
    from statistics import NormalDist
    table = ishigami.study_table(N=256, block_points=64)
    problem = sampling.salib_problem(["x1", "x2", "x3"], parse(table).sampled)
    X = salib_sample.sample(problem, 256, calc_second_order=False, seed=table["sampling"][
        "seed"])
    Y = ishigami.evaluate_block(X)["y"]
    streaming = {}
    for level in (0.90, 0.95, 0.99):
        at = {**table, "analysis": {**table["analysis"], "conf_level": level}}
        salib_ds = run.run(parse(at, estimator="salib"), out=tmp_path / f"s{level}.zarr",
                           progress=False)["sobol"].sel(output="y")
        expected = salib_analyze.analyze(problem, Y, calc_second_order=False,
                                         num_resamples=table["analysis"]["resamples"],
                                         conf_level=level, seed=table["analysis"]["seed"])
        for q in ("S1_conf", "ST_conf"):
            np.testing.assert_allclose(salib_ds[f"sobol_{q}"].values, expected[q],
                                       rtol=1e-10, err_msg=(level, q))
        streaming[level] = run.run(parse(at, estimator="streaming"),
                                   out=tmp_path / f"d{level}.zarr",
                                   progress=False)["sobol"].sel(output="y")
    z = {level: NormalDist().inv_cdf(0.5 + level / 2) for level in streaming}
    for level in (0.90, 0.99):
        for q in ("S1_conf", "ST_conf"):
            np.testing.assert_allclose(
                streaming[level][f"sobol_{q}"].values,
                streaming[0.95][f"sobol_{q}"].values * z[level] / z[0.95], rtol=1e-12)
        assert streaming[level].attrs["conf_level"] == level
