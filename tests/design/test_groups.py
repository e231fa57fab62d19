"""Grouped Sobol' indices ([analysis] groups): SALib's grouped design bit for bit, the
Ishigami function's closed forms for groups, SALib's grouped analyze, and bad groups."""
import math

import numpy as np
import pytest
import tomli_w
from SALib.analyze import sobol as salib_analyze
from SALib.sample import sobol as salib_sample

from reesens import cli
from reesens.design import sampling
from reesens.runs import montecarlo as run
from reesens.study.parse import parse
from reesens.study.schema import StudyError
from tests.design.test_sampling import DISTRIBUTIONS, UNIFORM
from tests.models import ishigami
from tests.runs.test_pipeline import _woods_table


@pytest.mark.parametrize("distributions", [DISTRIBUTIONS, UNIFORM], ids=["mixed", "uniform"])
@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize("groups", [["g", "h", "g", "x3", "h"], ["a", "a", "a", "a", "b"]])
def test_grouped_blocks_concatenate_to_salib(distributions, second_order, groups):
    names = [f"x{i}" for i in range(len(distributions))]
    sampled = dict(zip(names, distributions))
    problem = sampling.salib_problem(names, sampled, groups)
    expected = salib_sample.sample(dict(problem), 64, calc_second_order=second_order, seed=7)
    blocks = [sampling.scaled_block(names, sampled, start, 16, seed=7, scramble=True,
                                    second_order=second_order, groups=groups)
              for start in range(0, 64, 16)]
    np.testing.assert_array_equal(np.concatenate(blocks), expected)


def _ishigami_groups(N, **analysis):
    table = ishigami.study_table(N=N, block_points=2**10)
    table["analysis"].update(groups={"x1_x3": ["x1", "x3"]}, **analysis)
    return table


def test_grouped_ishigami_indices_hold_their_closed_forms(tmp_path):
    # y = f1(x1) + f2(x2) + f13(x1, x3): the group {x1, x3} holds V1 + V13 alone and in
    # total, x2 holds V2
    pi4, pi8 = math.pi ** 4, math.pi ** 8
    v1, v2 = 0.5 * (1 + ishigami.B * pi4 / 5) ** 2, ishigami.A ** 2 / 8
    v13 = ishigami.B ** 2 * pi8 * (1 / 18 - 1 / 50)
    closed = {"x1_x3": (v1 + v13) / (v1 + v2 + v13), "x2": v2 / (v1 + v2 + v13)}
    study = parse(_ishigami_groups(2**13))
    assert study.columns == ("x1_x3", "x2") and study.param_groups == ["x1_x3", "x2", "x1_x3"]
    groups = run.run(study, out=tmp_path / "g.zarr", progress=False)
    sobol_ds = groups["sobol"].sel(output="y")
    assert sobol_ds["param"].values.tolist() == ["x1_x3", "x2"]
    assert sobol_ds["param_members"].values.tolist() == ["x1 x3", "x2"]
    for name, value in closed.items():
        one = sobol_ds.sel(param=name)
        for q in ("S1", "ST"):
            assert abs(float(one[f"sobol_{q}"]) - value) <= float(one[f"sobol_{q}_conf"]), (
                name, q, float(one[f"sobol_{q}"]), value)
    assert groups["summary"].attrs["rows"] == 2**13 * 4


@pytest.mark.parametrize("second_order", [False, True])
def test_grouped_indices_equal_salib_on_the_same_rows(tmp_path, second_order):
    table = _ishigami_groups(2**11, estimator="streaming")
    table["sampling"]["second_order"] = second_order
    study = parse(table)
    groups = run.run(study, out=tmp_path / "g.zarr", progress=False, keep_samples=True)
    y = groups["samples"]["y"].values
    problem = sampling.salib_problem(study.sampled_names, study.sampled, study.param_groups)
    theirs = salib_analyze.analyze(problem, y, calc_second_order=second_order,
                                   print_to_console=False, seed=1)
    ours = groups["sobol"].sel(output="y")
    np.testing.assert_allclose(ours["sobol_S1"].values, theirs["S1"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours["sobol_ST"].values, theirs["ST"], rtol=1e-9, atol=1e-12)
    if second_order:
        assert abs(float(ours["sobol_S2"].values[0, 1]) - theirs["S2"][0, 1]) < 1e-9


def test_groups_run_through_the_command_line(tmp_path, capsys):
    study = tmp_path / "grouped.toml"
    study.write_text(tomli_w.dumps(_woods_table(
        name="grouped", sampling={"N": 512}, outputs={"names": ["eq", "mu_star"]},
        analysis={"groups": {"china_costs": ["phi_D", "kappa"],
                             "foreign_stakes": ["A", "gamma", "delta"]},
                  "methods": ["sobol", "delta"]})))
    store = tmp_path / "g.zarr"
    assert cli.main(["run", str(study), "--out", str(store), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "china_costs" in out and "foreign_stakes" in out
    assert cli.main(["show", str(store)]) == 0
    assert "china_costs" in capsys.readouterr().out
    assert cli.main(["export", str(store), "--out", str(tmp_path / "g.csv")]) == 0
    table = (tmp_path / "g.csv").read_text()
    assert "china_costs" in table and "foreign_stakes" in table and ",p," in table
    assert cli.main(["report", str(store), "--out", str(tmp_path / "report")]) == 0
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "per group of parameters: foreign_stakes (A, gamma, delta); china_costs " \
        "(phi_D, kappa)" in summary


@pytest.mark.parametrize("groups, message", [
    ("phi_D", "analysis.groups: must be a table"),
    ({}, "analysis.groups: must be a table"),
    ({"costs": "phi_D"}, "analysis.groups.costs: must be a non-empty list"),
    ({"costs": []}, "analysis.groups.costs: must be a non-empty list"),
    ({"costs": ["phi_D", "nope"]}, "'nope' is not a parameter of the study"),
    ({"costs": ["phi_D", "rho_C"]}, "'rho_C' is a fixed parameter of the study"),
    ({"a": ["phi_D"], "b": ["phi_D", "kappa"]}, "phi_D is already in group a"),
    ({"p": ["phi_D"]}, "a group named after the parameter p must hold that parameter"),
    ({"bad name": ["phi_D"]}, "group name 'bad name' must be letters"),
])
def test_bad_groups_are_named(groups, message):
    with pytest.raises(StudyError) as e:
        parse(_woods_table(analysis={"groups": groups}), "bad.toml")
    assert message in str(e.value), str(e.value)



def test_a_refused_parameter_in_a_group_is_named_once_for_its_own_fault():
    """kappa's bounds are refused: the problem names kappa's field and bound, and the
    group holding it adds no second, false reason (such as "a fixed parameter")."""
    table = _woods_table(analysis={"groups": {"costs": ["phi_D", "kappa"]}})
    table["parameters"]["kappa"] = {"dist": "unif", "lower": 1.0, "upper": 0.05}
    with pytest.raises(StudyError) as e:
        parse(table, "bad.toml")
    text = str(e.value)
    assert "parameters.kappa" in text and "analysis.groups" not in text, text
