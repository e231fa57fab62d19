"""The Python API (README "Python API", run as a doctest), models of one's own through the
`reesens.models` entry point group (tests/example_model, installed by `make test`), and
`reesens export`."""
import doctest
import importlib.metadata
import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import reesens
from reesens.kernels import registry
from reesens.store.ownership import StoreError
from reesens.study.schema import StudyError
from tests.engine.test_first_day import _baseline
from tests.interface.test_cli import ROOT
from tests.interface.test_cli import reesens as cli

SUBSIDY_STUDY = """name = "subsidy"
title = "How much does a hedging subsidy move the equilibrium?"
[model]
name = "woods_subsidy"
concepts = ["paper", "verifiable"]
[parameters]
A = { dist = "unif", lower = 0.1, upper = 1.0 }
gamma = { dist = "unif", lower = 0.1, upper = 1.0 }
delta = { dist = "unif", lower = 1.0, upper = 5.0 }
phi_D = { dist = "unif", lower = 0.05, upper = 1.0 }
kappa = { dist = "unif", lower = 0.05, upper = 1.0 }
p = { dist = "unif", lower = 0.05, upper = 0.95 }
subsidy = { dist = "unif", lower = 0.0, upper = 0.9 }
[sampling]
N = 256
block_points = 64
"""


SUBSIDY_GRID = """name = "subsidy_grid"
[model]
name = "woods_subsidy"
concepts = ["paper", "verifiable"]
[parameters]
A = { value = 0.6 }
gamma = { value = 0.5 }
delta = { value = 2.0 }
phi_D = { value = 0.4 }
kappa = { value = 0.6 }
[grid]
subsidy = { linspace = [0.0, 0.9, 10] }
p = { linspace = [0.05, 0.95, 12] }
outputs = ["eq", "mu_star"]
"""


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    """The README's `>>>` example as a doctest, in a copy of the repository's studies."""
    import shutil
    readme = (ROOT / "README.md").read_text()
    example = readme.split("## Python API")[1].split("```pycon\n")[1].split("```")[0]
    shutil.copytree(ROOT / "studies", tmp_path / "studies")
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(example, {}, "README Python API", "README.md",
                                               0)
    assert len(test.examples) >= 10
    for _ in range(2):  # twice in a row, unchanged: a user runs a tour again
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                       | doctest.NORMALIZE_WHITESPACE)
        runner.run(test)
        assert runner.failures == 0 and runner.tries == len(test.examples)
    assert (tmp_path / "results" / "tour-sobol.csv").exists()


def test_the_api_names_its_own_argument_when_export_refuses(tmp_path):
    """export() refuses to replace a file, naming the function's argument, not the CLI's."""
    store = tmp_path / "s.zarr"
    reesens.run(reesens.load_study(ROOT / "studies" / "baseline.toml", N=64), out=store)
    reesens.export(store)
    with pytest.raises(StoreError, match=r"use overwrite=True or another out\)"):
        reesens.export(store)


def test_import_reesens_is_the_api_and_quick():
    import subprocess
    import sys
    code = ("import sys, reesens; print(sorted(reesens.__all__)); "
            "print(any(m.split('.')[0] in ('xarray', 'dask', 'numba', 'matplotlib') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == str(sorted(["load_study", "run", "grid", "report", "open_store",
                                 "verify", "export"]))
    assert out[1] == "False"  # the engine is imported when a function is called


def test_load_study_takes_a_dict_and_reports_every_problem():
    table = {"name": "d", "parameters": {"A": {"dist": "unif", "lower": 2, "upper": 1}}}
    with pytest.raises(StudyError) as error:
        reesens.load_study(table)
    assert "<dict>: parameters.A: bounds inverted" in str(error.value)
    assert "parameters.gamma: missing" in str(error.value)


# --- a model of one's own ----------------------------------------------------------------

def test_example_model_is_installed_through_the_entry_point_group():
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(
        group="reesens.models")}
    assert names.get("woods_subsidy") == "reesens_example_model:MODEL"
    assert "woods_subsidy" in registry.model_names()


def test_own_model_runs_through_run_grid_and_report(tmp_path):
    study = tmp_path / "subsidy.toml"
    study.write_text(SUBSIDY_STUDY)
    assert cli("validate", study).returncode == 0
    mc = cli("run", study, "--out", tmp_path / "mc.zarr", "--quiet", "--keep-samples",
             "--report")
    assert mc.returncode == 0, mc.stderr
    assert "subsidy" in mc.stdout and (tmp_path / "mc-report" / "summary.md").exists()
    samples = xr.open_zarr(tmp_path / "mc.zarr", group="samples")
    A, gamma, delta, s = (samples[n].values
                          for n in ("A", "gamma", "delta", "subsidy"))
    # the closed form of docs/model.md at the subsidised cost A (1 - subsidy)
    np.testing.assert_allclose(samples["mu_star"].isel(concept=0).values,
                               (A * (1 - s) + gamma) / (gamma + delta), rtol=1e-12)
    sobol = xr.open_zarr(tmp_path / "mc.zarr", group="sobol")
    assert "subsidy" in sobol["param"].values.tolist()
    assert float(sobol["sobol_ST"].sel(concept="paper", output="mu_star",
                                       param="subsidy")) > 0.01
    grid_study = tmp_path / "subsidy_grid.toml"
    grid_study.write_text(SUBSIDY_GRID)
    swept = cli("grid", grid_study, "--out", tmp_path / "g.zarr", "--quiet", "--report")
    assert swept.returncode == 0, swept.stderr
    cube = reesens.open_store(tmp_path / "g.zarr")["grid"]
    assert dict(cube.sizes) == {"concept": 2, "subsidy": 10, "p": 12}
    assert json.loads(xr.open_zarr(tmp_path / "g.zarr").attrs["fixed_parameters"])["A"] == 0.6
    expected = (0.6 * (1 - cube["subsidy"]) + 0.5) / (0.5 + 2.0)
    mu_star = cube["mu_star"].isel(concept=0).transpose("subsidy", "p").values
    np.testing.assert_allclose(mu_star, np.broadcast_to(expected.values[:, None], (10, 12)),
                               rtol=1e-12)
    assert {p.name for p in (tmp_path / "g-report").iterdir()} >= {
        "phase_p_subsidy.png", "disagreement_p_subsidy.png", "summary.md"}


def test_a_study_names_models_and_runs_no_code(tmp_path):
    study = tmp_path / "evil.toml"
    text = _baseline(tmp_path).read_text()
    study.write_text(text.replace('[model]\nname = "woods"', '[model]\nname = "os:system"'))
    assert study.read_text() != text
    done = cli("validate", study)
    assert done.returncode == 2
    assert "model.name: unknown model 'os:system'; known models: woods, woods_alloc, " \
           "woods_audit, woods_subsidy (a model of your own is a package that registers " \
           "one: docs/models.md)" in done.stderr


def test_an_entry_point_that_is_not_a_model_is_refused(monkeypatch):
    fake = importlib.metadata.EntryPoint(name="not_a_model", value="json:dumps",
                                         group="reesens.models")
    real = registry._entry_points
    monkeypatch.setattr(registry, "_entry_points", lambda: {**real(), "not_a_model": fake})
    table = {"name": "x", "model": {"name": "not_a_model"}}
    with pytest.raises(StudyError, match=r"model.name: 'not_a_model' cannot be loaded: the "
                                         r"entry point 'not_a_model' = 'json:dumps' \(group "
                                         r"reesens.models\) must be a reesens Model"):
        reesens.load_study(table)
    assert "not_a_model" not in registry.MODELS


# --- export ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def second_order_store(tmp_path_factory):
    where = tmp_path_factory.mktemp("export")
    text = (ROOT / "studies" / "baseline.toml").read_text().replace(
        "N = 65536", "N = 128\nblock_points = 64").replace("second_order = false",
                                                          "second_order = true")
    (where / "s.toml").write_text(text)
    done = cli("run", where / "s.toml", "--out", where / "s.zarr", "--quiet",
               "--target-ci", "0.5", "--max-n", "256")
    assert done.returncode == 0, done.stderr
    return where / "s.zarr"


def test_export_csv_is_the_store_in_long_form(second_order_store, tmp_path):
    done = cli("export", second_order_store, "--out", tmp_path / "i.csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"export: {tmp_path / 'i.csv'}"
    table = pd.read_csv(tmp_path / "i.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == ["output", "param", "param_2", "index", "value",
                                   "half_width", "skip_reason"]
    sobol = xr.open_zarr(second_order_store, group="sobol")
    params = sobol["param"].values.tolist()
    D, outputs = len(params), sobol.sizes["output"]
    assert len(table) == outputs * (2 * D + D * (D - 1) // 2)
    for row in table.sample(40, random_state=1).itertuples():
        if row.index == "S2":
            at = {"output": row.output, "param_0": row.param, "param_1": row.param_2}
            assert params.index(row.param) < params.index(row.param_2)
        else:
            at = {"output": row.output, "param": row.param}
        value = float(sobol[f"sobol_{row.index}"].sel(at))
        conf = float(sobol[f"sobol_{row.index}_conf"].sel(at))
        np.testing.assert_equal([row.value, row.half_width], [value, conf])
        reason = str(sobol["sobol_skip_reason"].sel(output=row.output).values)
        assert (row.skip_reason if isinstance(row.skip_reason, str) else "") == reason


def test_export_parquet_and_the_convergence_group(second_order_store, tmp_path):
    assert cli("export", second_order_store, "--format", "parquet", "--group",
               "convergence", "--out", tmp_path / "c.parquet").returncode == 0
    table = pd.read_parquet(tmp_path / "c.parquet")
    conv = xr.open_zarr(second_order_store, group="convergence")
    assert sorted(set(table["N"])) == conv["N"].values.tolist()
    assert set(table["index"]) == {"S1", "ST"}
    row = table[(table["N"] == 128) & (table["index"] == "ST")].iloc[3]
    assert row["value"] == float(conv["sobol_ST"].sel(N=128, output=row["output"],
                                                      param=row["param"]))
    via_api = reesens.export(second_order_store, tmp_path / "api.csv")
    assert via_api == tmp_path / "api.csv"


def test_export_refuses_what_it_cannot_do(second_order_store, tmp_path):
    existing = tmp_path / "mine.csv"
    existing.write_text("my data")
    refused = cli("export", second_order_store, "--out", existing)
    assert refused.returncode == 2 and "exists; refusing to replace it" in refused.stderr
    assert existing.read_text() == "my data"
    assert cli("export", second_order_store, "--out", existing, "--overwrite").returncode == 0
    assert existing.read_text().startswith("output,param,")
    study = tmp_path / "g.toml"
    from tests.engine.test_first_day import GRID_TWO_OPTIONS
    study.write_text(GRID_TWO_OPTIONS)
    assert cli("grid", study, "--out", tmp_path / "g.zarr", "--quiet").returncode == 0
    grid_export = cli("export", tmp_path / "g.zarr")
    assert grid_export.returncode == 2 and "a grid store has no indices" in grid_export.stderr
    assert not list(tmp_path.glob("g-*.csv"))
