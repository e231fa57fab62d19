"""`reesens report`: every expected figure of the expected size, numbers equal the store's."""
import re
import struct

import numpy as np
import pytest
import xarray as xr

from reesens import cli
from reesens.present import report
from reesens.runs import grid
from reesens.runs import montecarlo as run
from reesens.study import labels
from reesens.study.parse import parse
from tests.runs.test_grid import _grid_table
from tests.runs.test_pipeline import _woods_table


def _png_size(path):
    """(width, height) in pixels from a PNG header."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def _check_figures(files, names):
    got = {f.name for f in files}
    assert set(names) <= got, set(names) - got
    for f in files:
        if f.suffix == ".png":
            width, height = _png_size(f)
            assert width == 1650, f
            assert height >= 300 and f.stat().st_size > 10_000, f


@pytest.fixture(scope="module")
def mc_store(tmp_path_factory):
    table = _woods_table(model={"name": "woods", "concepts": ["paper", "verifiable"]},
                         sampling={"N": 128, "block_points": 64, "seed": 3,
                                   "second_order": True},
                         analysis={"estimator": "streaming"})
    path = tmp_path_factory.mktemp("report") / "mc.zarr"
    run.run(parse(table), out=path, progress=False, target_ci=0.01, max_N=256)
    return path


def test_sobol_report_has_every_figure_and_the_stores_numbers(mc_store, tmp_path):
    files = report.write_report(mc_store, tmp_path / "out")
    _check_figures(files, ["sobol_concept-paper.png", "sobol_concept-verifiable.png",
                           "s2_concept-paper.png", "s2_concept-verifiable.png",
                           "frequency_eq.png", "convergence.png", "summary.md"])
    text = (tmp_path / "out" / "summary.md").read_text()
    sobol_ds = xr.open_zarr(mc_store, group="sobol").load()
    one = sobol_ds.sel(concept="verifiable", output="china_payoff")
    j = int(np.nanargmax(one["sobol_ST"].values))
    expected = (f"{one['param'].values[j]} (ST {one['sobol_ST'].values[j]:.3f} ± "
                f"{one['sobol_ST_conf'].values[j]:.3f}")
    section = text.split("## What drives the outputs: verifiable disclosure")[1]
    line = next(x for x in section.splitlines() if x.startswith("- china_payoff"))
    assert line.startswith(f"- china_payoff is driven most by {expected}")
    assert f"- N: {sobol_ds.attrs['N']}" in text and "## Provenance" in text


def test_audit_report_states_the_disagreement_as_in_the_store(tmp_path):
    table = {"name": "audit", "model": {"name": "woods_audit"},
             "parameters": {n: {"dist": "unif", "lower": 0.1, "upper": 0.9}
                            for n in ("A", "gamma", "phi_D", "kappa", "p")},
             "sampling": {"N": 256, "block_points": 64, "seed": 5}}
    table["parameters"]["delta"] = {"dist": "unif", "lower": 0.5, "upper": 3.0}
    path = tmp_path / "audit.zarr"
    run.run(parse(table), out=path, progress=False)
    files = report.write_report(path, tmp_path / "out")
    _check_figures(files, ["sobol_all.png", "frequency_sets_differ.png",
                           "frequency_region.png", "summary.md"])
    text = (tmp_path / "out" / "summary.md").read_text()
    summary = xr.open_zarr(path, group="summary").load()
    differ = float(summary["summary_sets_differ_frequency"].sel(sets_differ_code=1))
    assert f"differ on {differ:.1%} of the sampled rows" in text
    shares = re.findall(r"In region (.+?) \(([\d.]+)% of the rows\)", text)
    words = [labels.code_words(m) for m in summary["region_code"].attrs["flag_meanings"].split()]
    for name, share in shares:
        code = summary["region_code"].values[words.index(name)]
        assert float(share) == pytest.approx(
            100 * float(summary["summary_region_frequency"].sel(region_code=code)), abs=0.05)
    assert labels.code_words("A_ge_delta") in {n for n, _ in shares}  # delta < A here


def test_grid_report_draws_phase_diagrams_and_counts_cells(tmp_path):
    table = _grid_table()
    table["model"] = {"name": "woods_audit"}
    table["grid"]["outputs"] = ["mu_star", "eq_paper", "eq_verifiable", "sets_differ",
                                "region"]
    path = tmp_path / "grid.zarr"
    cube = grid.run_grid(parse(table), out=path, progress=False).load()
    files = report.write_report(path, tmp_path / "out")
    _check_figures(files, ["phase_kappa_p.png", "disagreement_kappa_p.png",
                           "phase_delta_p.png", "disagreement_delta_p.png", "summary.md"])
    text = (tmp_path / "out" / "summary.md").read_text()
    share = float((cube["sets_differ"] == 1).mean())
    assert f"differ on {share:.1%} of the grid cells" in text
    n_tie = int(((cube["region"] == 2)).sum())  # p < mu_star, kappa == phi_D
    assert f"Region p < μ*, κ = φ_D ({n_tie:,} cells" in text


def test_grid_report_of_concepts_maps_their_disagreement(tmp_path):
    path = tmp_path / "grid.zarr"
    grid.run_grid(parse(_grid_table()), out=path, progress=False)
    files = report.write_report(path, tmp_path / "out")
    _check_figures(files, ["phase_kappa_p.png", "disagreement_kappa_p.png"])


def test_unfinished_or_foreign_stores_are_refused(tmp_path, capsys):
    import zarr
    zarr.open_group(tmp_path / "empty.zarr", mode="w")
    assert cli.main(["report", str(tmp_path / "empty.zarr")]) == 2
    assert "a zarr store that reesens did not write" in capsys.readouterr().err
    assert not (tmp_path / "empty-report").exists()
