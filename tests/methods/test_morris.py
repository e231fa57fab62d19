"""Morris screening ([sampling] design = "morris"): SALib's trajectories bit for bit, SALib's
mu, mu_star, sigma and mu_star interval on them, the Ishigami function's closed form,
resumes and workers, damage, bad settings and the command line."""
import numpy as np
import pytest
import tomli_w
import zarr
from SALib.analyze import morris as salib_analyze
from SALib.sample import morris as salib_sample

from reesens import cli
from reesens.design import morris as morris_design
from reesens.design import sampling
from reesens.runs import montecarlo as run
from reesens.study.parse import parse
from reesens.study.schema import StudyError
from tests.engine.test_trust import _damage
from tests.models import ishigami
from tests.runs.test_pipeline import _data_bytes, _woods_table


def _ishigami(trajectories=100, **sampling_keys):
    table = ishigami.study_table()
    table["sampling"] = {"design": "morris", "trajectories": trajectories, "seed": 3,
                         **sampling_keys}
    return table


@pytest.mark.parametrize("keys", [{}, {"levels": 6}, {"optimal_trajectories": 8}])
def test_rows_are_salibs_trajectories(keys):
    table = _woods_table(sampling={"design": "morris", "trajectories": 40, "seed": 9, **keys},
                         parameters={**_woods_table()["parameters"],
                                     "p": {"dist": "triang", "lower": 0.05, "upper": 0.95,
                                           "peak": 0.3}})
    study = parse(table)
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    expected = salib_sample.sample(problem, 40, num_levels=keys.get("levels", 4),
                                   optimal_trajectories=keys.get("optimal_trajectories"),
                                   seed=9)
    rows = morris_design.design_rows(study, morris_design.unit_design(study))
    np.testing.assert_array_equal(rows[0], expected)


def test_measures_equal_salib_on_the_same_trajectories(tmp_path):
    study = parse(_woods_table(sampling={"design": "morris", "trajectories": 150, "seed": 2},
                               outputs={"names": ["mu_star", "china_share", "eq"]}))
    ds = run.run(study, out=tmp_path / "m.zarr", progress=False)["morris"]
    x = ds["morris_rows"].values
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    from reesens.evaluate import cases as evaluate
    outputs = evaluate.evaluate_rows(study, x[None])
    for label in ("mu_star", "china_share", "eq==pool_nd_hedge"):
        name, _, meaning = label.partition("==")
        y = outputs[name][0].astype(float)
        if meaning:
            code = study.model.outputs[[v.name for v in study.model.outputs].index(name)]
            y = (outputs[name][0] == code.flag_values[code.flag_meanings.index(meaning)])
            y = y.astype(float)
        theirs = salib_analyze.analyze(problem, x, y, num_resamples=study.resamples,
                                       conf_level=study.conf_level, seed=study.analysis_seed)
        ours = ds.sel(output=label)
        for q in ("mu", "mu_star", "sigma", "mu_star_conf"):
            np.testing.assert_allclose(ours[f"morris_{q}"].values, theirs[q], rtol=1e-12,
                                       atol=1e-12, err_msg=f"{label} {q}")
        assert (ours["morris_sigma_conf"].values >= 0).all()
        assert (ours["morris_mu_conf"].values[ours["morris_sigma"].values > 0] > 0).all()


def test_ishigami_x2_reads_its_closed_form_and_the_ranking_follows(tmp_path):
    # on 4 levels x2 takes -pi, -pi/3, pi/3, pi and every step spans two levels: each
    # elementary effect of 7 sin^2(x2) is +-7 (3/4) / (2/3) = +-7.875
    ds = run.run(parse(_ishigami(400)), out=tmp_path / "i.zarr", progress=False)["morris"]
    one = ds.sel(output="y")
    mu_star = one["morris_mu_star"]
    assert float(mu_star.sel(param="x2")) == pytest.approx(7.875, rel=1e-12)
    assert float(one["morris_mu_star_conf"].sel(param="x2")) < 1e-9
    assert one["param"].values[np.argsort(-mu_star.values)].tolist() == ["x2", "x1", "x3"]
    # x3 acts only through its interaction with x1: its effects change sign, mu ~ 0
    assert abs(float(one["morris_mu"].sel(param="x3"))) < float(
        one["morris_mu_conf"].sel(param="x3")) + 0.5


def test_a_resume_and_other_workers_give_the_same_bytes(tmp_path):
    study = parse(_ishigami(300))  # 5 blocks of 64 trajectories
    store = tmp_path / "m.zarr"
    run.run(study, out=store, progress=False, workers=1)
    expected = _data_bytes(store)
    flags = zarr.open_group(store, mode="r+", use_consolidated=False)["blocks/block_done"]
    assert flags.shape == (5,)
    flags[1] = flags[4] = 0
    run.run(study, out=store, progress=False, resume=True, workers=2)
    assert _data_bytes(store) == expected
    other = tmp_path / "two.zarr"
    run.run(study, out=other, progress=False, workers=2)
    assert {k: v for k, v in _data_bytes(other).items() if k.startswith(("blocks/block_s",
                                                                          "morris/morris_m"))} \
        == {k: v for k, v in expected.items() if k.startswith(("blocks/block_s",
                                                               "morris/morris_m"))}


@pytest.mark.parametrize("how", ["flip", "delete"])
def test_damaged_values_are_found_and_recomputed(tmp_path, capsys, how):
    study = parse(_ishigami(200))
    store = tmp_path / "m.zarr"
    run.run(study, out=store, progress=False)
    expected = _data_bytes(store)
    _damage(store / "blocks" / "block_series_values" / "c" / "2" / "0" / "0", how)
    assert cli.main(["verify", str(store)]) == 1
    assert "block_series_values" in capsys.readouterr().out
    run.run(study, out=store, progress=False, resume=True)
    assert _data_bytes(store) == expected


def test_n_from_the_command_line_is_refused_for_a_morris_design():
    with pytest.raises(StudyError) as e:
        parse(_woods_table(sampling={"design": "morris"}), "m.toml", N=1024)
    assert "sampling.N: a Morris design draws `trajectories`" in str(e.value)


@pytest.mark.parametrize("keys, analysis, message", [
    ({"design": "latin"}, {}, "sampling.design: must be one of saltelli, morris"),
    ({"design": "morris", "trajectories": 1}, {}, "sampling.trajectories: must be an integer"),
    ({"design": "morris", "trajectories": "many"}, {}, "sampling.trajectories: must be"),
    ({"design": "morris", "levels": 5}, {}, "sampling.levels: must be an even integer"),
    ({"design": "morris", "trajectories": 10, "optimal_trajectories": 10}, {},
     "sampling.optimal_trajectories: must be an integer in [2, trajectories - 1]"),
    ({"design": "morris", "N": 1024}, {}, "sampling.N: a Morris design draws"),
    ({"design": "morris", "second_order": True}, {}, "sampling.second_order: Morris"),
    ({"design": "morris"}, {"methods": ["sobol", "pawn"]}, "a Morris design has none"),
    ({"design": "morris"}, {"groups": {"c": ["phi_D", "kappa"]}}, "analysis.groups: grouped"),
    ({"trajectories": 10}, {}, 'sampling.trajectories: applies to design = "morris" only'),
])
def test_bad_morris_settings_are_named(keys, analysis, message):
    with pytest.raises(StudyError) as e:
        parse(_woods_table(sampling=keys, analysis=analysis), "bad.toml")
    assert message in str(e.value), str(e.value)


def test_morris_runs_through_the_command_line(tmp_path, capsys):
    bargaining = {"rho_C": {"dist": "unif", "lower": 0.5, "upper": 0.99},
                  "rho_F": {"dist": "unif", "lower": 0.5, "upper": 0.99},
                  "S": {"dist": "unif", "lower": 0.5, "upper": 2.0}}
    study = tmp_path / "screen.toml"
    study.write_text(tomli_w.dumps(_woods_table(
        name="screen", parameters={**_woods_table()["parameters"], **bargaining},
        sampling={"design": "morris", "trajectories": 60},
        outputs={"names": ["mu_star", "china_share"]}, analysis={})))
    assert cli.main(["validate", str(study)]) == 0
    assert "Morris 60 trajectories on 4 levels" in capsys.readouterr().out
    store = tmp_path / "s.zarr"
    assert cli.main(["run", str(study), "--out", str(store), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Morris screening: 60 trajectories" in out and "rho_F" in out
    assert cli.main(["show", str(store)]) == 0
    assert "mu_star" in capsys.readouterr().out
    assert cli.main(["run", str(study), "--out", str(tmp_path / "k.zarr"), "--quiet",
                     "--keep-samples"]) == 2
    assert "Morris design keeps its rows" in capsys.readouterr().err
    assert cli.main(["export", str(store), "--group", "morris",
                     "--out", str(tmp_path / "m.csv")]) == 0
    table = (tmp_path / "m.csv").read_text()
    assert "morris_mu_star" in table and "morris_sigma" in table
    assert cli.main(["report", str(store), "--out", str(tmp_path / "r")]) == 0
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "china_share: by mu_star, rho_F" in summary
    assert (tmp_path / "r" / "morris_all.png").stat().st_size > 10_000
