"""PRIM boxes and rules (methods.prim) against the EMA Workbench's PRIM on the same rows,
against the closed forms of docs/model.md on rows they never saw, and as results: the
same bytes whatever the blocks and workers, through show, report and export."""
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from reesens import cli
from reesens.methods import prim
from reesens.runs import montecarlo as run
from reesens.study import conditions
from reesens.study.parse import load, parse
from reesens.study.schema import StudyError
from tests.interface.test_cli import ROOT
from tests.runs.test_pipeline import _data_bytes, _woods_table

BASELINE = ROOT / "studies" / "baseline.toml"


@pytest.fixture(scope="module")
def reservoir():
    study = load(BASELINE, N=4096)
    X, inside = prim.reservoir(study, 2048)
    return study, X[0], inside[0]


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_the_trajectory_is_the_ema_workbenchs(reservoir, alpha):
    """Same rows, same alphas and mass_min: every box of the trajectory (limits,
    coverage, density, mass, restricted dimensions) and every quasi-p value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim as ema
    study, X, inside = reservoir
    names = prim.dimensions(study)
    regions = conditions.study_regions(study)
    compared = 0
    for r, region in enumerate(regions):
        y = inside[r]
        if not 0 < y.sum() < y.size:
            continue
        mine = prim.Prim(X, y, peel_alpha=alpha, paste_alpha=alpha, mass_min=0.05)
        with warnings.catch_warnings():  # pandas' deprecations inside the workbench
            warnings.simplefilter("ignore")
            theirs = ema.Prim(pd.DataFrame(X, columns=names), y.astype(int), threshold=0.5,
                              peel_alpha=alpha, paste_alpha=alpha, mass_min=0.05)
            box = theirs.find_box()
        trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]]
        np.testing.assert_array_equal(mine.stats(), trajectory.to_numpy(float))
        assert len(mine.trajectory) == len(box.box_lims) > 3
        for step, (lims, _) in enumerate(mine.trajectory):
            np.testing.assert_array_equal(lims, box.box_lims[step].to_numpy(float))
        for step in (len(mine.trajectory) // 2, len(mine.trajectory) - 1):
            qp = mine.quasi_p(step)
            want = np.full((2, len(names)), np.nan)
            for name, values in box.qp[step].items():
                want[:, names.index(name)] = [np.nan if v == -1 else v for v in values]
            np.testing.assert_allclose(qp, want, rtol=1e-12, equal_nan=True)
        compared += 1
    assert compared >= 3


def test_the_quantile_is_sdtoolkits_with_ties():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis.prim_util import get_quantile
    rng = np.random.default_rng(1)
    for data in (rng.random(101), np.round(rng.random(500), 1), np.repeat([1.0, 2.0], 50),
                 np.array([3.0, 3.0, 3.0, 4.0])):
        for q in (0.05, 0.1, 0.5, 0.9, 0.95):
            assert prim.quantile(data, q) == get_quantile(data, q), (data[:5], q)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The shipped baseline at N = 8192: its rsa, prim and rules groups."""
    path = tmp_path_factory.mktemp("baseline") / "b.zarr"
    return path, run.run(load(BASELINE, N=8192), out=path, progress=False)


def _fresh_rows(n=200_000, seed=7):
    """iid rows of the baseline box and their selected equilibrium (verifiable, china)."""
    rng = np.random.default_rng(seed)
    A, gamma, phi_D, kappa = (rng.uniform(lo, hi, n) for lo, hi in
                              ((0.1, 1), (0.1, 1), (0.05, 1), (0.05, 1)))
    delta, p = rng.uniform(1, 5, n), rng.uniform(0.05, 0.95, n)
    mu_star = (A + gamma) / (gamma + delta)
    return dict(A=A, gamma=gamma, delta=delta, phi_D=phi_D, kappa=kappa, p=p,
                mu_star=mu_star, margin=p - mu_star)


def test_the_hedged_pool_is_recovered_as_margin_above_zero(baseline):
    """docs/model.md: under verifiable/china pool_nd_hedge is selected exactly where p >=
    mu_star (A < delta on the whole box). PRIM's chosen box restricts margin alone, and
    on 200,000 iid rows it never saw its density and coverage of {p >= mu_star} are at
    least 0.98; the tree's rule for it is "margin > t" with |t| < 0.001, purity 100%."""
    _, groups = baseline
    one = groups["prim"].sel(output="eq==pool_nd_hedge")
    restricted = [p for p in one["param"].values.tolist() if bool(one["prim_restricted"]
                                                                  .sel(param=p))]
    assert restricted == ["margin"], restricted
    low, high = float(one["prim_lower"].sel(param="margin")), \
        float(one["prim_upper"].sel(param="margin"))
    rows = _fresh_rows()
    in_box = (rows["margin"] >= low) & (rows["margin"] <= high)
    region = rows["p"] >= rows["mu_star"]
    assert (in_box & region).sum() / in_box.sum() >= 0.98
    assert (in_box & region).sum() / region.sum() >= 0.98
    assert float(one["prim_density"]) >= 0.98 and float(one["prim_coverage"]) >= 0.98
    rules = groups["rules"].sel(tree="eq")
    leaves = [i for i in range(rules.sizes["leaf"])
              if str(rules["rules_class"].isel(leaf=i).values) == "pool_nd_hedge"
              and float(rules["rules_purity"].isel(leaf=i)) == 1.0]
    texts = [str(rules["rules_rule"].isel(leaf=i).values) for i in leaves]
    assert any(t.startswith("margin > ") and abs(float(t.split("> ")[1])) < 1e-3
               for t in texts), texts
    assert sum(float(rules["rules_share"].isel(leaf=i)) for i in leaves) == pytest.approx(
        float(groups["summary"]["summary_mean"].sel(output="eq==pool_nd_hedge")), abs=0.02)


def test_rsa_ranks_p_first_for_the_hedged_pool_on_the_baseline(baseline):
    _, groups = baseline
    hedge = groups["rsa"].sel(output="eq==pool_nd_hedge")
    assert hedge["param"].values[int(np.argmax(hedge["rsa_ks"].values))] == "p"


def test_the_press_and_separating_boxes_lie_on_their_sides_of_phi_d(baseline):
    """pool_nd_press needs kappa <= phi_D, separating kappa >= phi_D (docs/model.md): the
    press box restricts phi_D from below or kappa from above, the separating box the
    other way, and both restrict margin from above (p <= mu_star)."""
    _, groups = baseline
    for label, low, high in (("eq==pool_nd_press", "phi_D", "kappa"),
                             ("eq==separating", "kappa", "phi_D")):
        one = groups["prim"].sel(output=label)
        assert np.isfinite(float(one["prim_qp_lower"].sel(param=low))) or \
            np.isfinite(float(one["prim_qp_upper"].sel(param=high))), label
        assert np.isfinite(float(one["prim_qp_upper"].sel(param="margin"))), label
        assert float(one["prim_upper"].sel(param="margin")) < 0.02, label


def test_results_are_the_same_bytes_whatever_the_blocks_and_workers(tmp_path):
    """Also with a region of the study's own that joins a code output's condition with
    another (its tree is the region's, not the code output's)."""
    table = _woods_table(analysis={"methods": ["sobol", "rsa", "prim"], "intervals": "delta",
                                   "regions": {"rich": "china_share > 0.6", "rich_hedged":
                                               "eq == pool_nd_hedge and china_share > 0.6"}})
    table["sampling"] = {"N": 1024, "seed": 5, "block_points": 256}
    run.run(parse(table), out=tmp_path / "a.zarr", progress=False, workers=1)
    table["sampling"]["block_points"] = 64
    run.run(parse(table), out=tmp_path / "b.zarr", progress=False, workers=2)
    a, b = _data_bytes(tmp_path / "a.zarr"), _data_bytes(tmp_path / "b.zarr")
    rules = xr.open_zarr(tmp_path / "a.zarr", group="rules")
    assert rules["tree"].values.tolist() == ["eq", "rich", "rich_hedged"]
    for group in ("rsa", "prim", "rules", "reservoir"):
        mine = {k: v for k, v in a.items() if k.startswith(f"{group}/")}
        assert mine and mine == {k: v for k, v in b.items() if k.startswith(f"{group}/")}


def test_show_report_and_export_carry_the_boxes_and_rules(baseline, tmp_path, capsys):
    path, groups = baseline
    capsys.readouterr()
    assert cli.main(["show", str(path)]) == 0
    shown = capsys.readouterr().out
    sentence = next(line for line in shown.splitlines()
                    if "eq==pool_nd_hedge: margin >=" in line)
    assert "coverage" in sentence and "density" in sentence
    assert "Rules (classification trees of depth 3):" in shown
    assert cli.main(["report", str(path), "--out", str(tmp_path / "r")]) == 0
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "## Where in the box" in summary and "## Regional sensitivity" in summary
    assert "- eq==pool_nd_hedge: margin >= " in summary
    assert {"rsa_all.png", "prim_all.png", "where_all.png"} <= {
        p.name for p in (tmp_path / "r").iterdir()}
    for group, index in (("prim", "lower"), ("rsa", "ks")):
        out = tmp_path / f"{group}.csv"
        assert cli.main(["export", str(path), "--group", group, "--out", str(out)]) == 0
        table = pd.read_csv(out, keep_default_na=False)
        row = table[(table["output"] == "eq==pool_nd_hedge") & (table["index"] == index)]
        param = "margin" if group == "prim" else "p"
        value = float(row[row["param"] == param]["value"].iloc[0])
        want = groups[group][f"{group}_{index}"].sel(output="eq==pool_nd_hedge", param=param)
        assert value == float(want)


@pytest.mark.parametrize("key, value, message", [
    ("prim_threshold", 1.0, "analysis.prim_threshold: must be a number in (0, 1), got 1.0"),
    ("peel_alpha", "0.05", "analysis.peel_alpha: must be a number in (0, 1)"),
    ("mass_min", 0, "analysis.mass_min: must be a number in (0, 1), got 0"),
    ("reservoir_points", 1000, "analysis.reservoir_points: must be a power of two"),
    ("tree_depth", 0, "analysis.tree_depth: must be an integer from 1 to 8, got 0"),
])
def test_bad_prim_settings_are_refused(key, value, message):
    table = _woods_table(analysis={"methods": ["sobol", "prim"], key: value})
    with pytest.raises(StudyError) as e:
        parse(table, "bad.toml")
    assert message in str(e.value), str(e.value)



def test_a_grid_report_finds_the_same_boundaries_in_its_cells(tmp_path):
    """A grid over (A, delta, p) with the others fixed: its report's "where" section
    gives pool_nd_hedge the rule margin > t (margin evaluated at the cells), |t| below
    one cell's step of p, purity 100%, and a box that restricts margin."""
    from reesens.present import report
    from reesens.runs import grid
    table = {"name": "where-grid", "model": {"name": "woods", "concept": "verifiable"},
             "parameters": {"gamma": {"value": 0.5}, "phi_D": {"value": 0.4},
                            "kappa": {"value": 0.6}},
             "grid": {"A": {"linspace": [0.1, 1.0, 10]}, "delta": {"linspace": [1, 5, 9]},
                      "p": {"linspace": [0.05, 0.95, 31]}, "outputs": ["eq"]}}
    grid.run_grid(parse(table), out=tmp_path / "g.zarr", progress=False)
    report.write_report(tmp_path / "g.zarr", tmp_path / "r")
    summary = (tmp_path / "r" / "summary.md").read_text()
    where = summary.split("## Where in the grid")[1].split("##")[0]
    assert "all 2,790 cells" in where
    rule = next(line for line in where.splitlines()
                if line.startswith("- eq: margin > ") and "-> pool_nd_hedge" in line)
    assert abs(float(rule.split("margin > ")[1].split()[0])) < 0.03, rule
    assert "(purity 100.0%" in rule
    box = next(line for line in where.splitlines() if line.startswith("- eq==pool_nd_hedge:"))
    assert "margin >=" in box, box
