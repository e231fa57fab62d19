"""What the terminal says about a store: how its intervals were had, why an output has no
indices, where a grid store goes by default."""
from __future__ import annotations

import pytest

import reesens
from reesens.present import report
from reesens.runs import grid
from reesens.study.parse import parse
from reesens.study.schema import Study
from tests.interface.test_cli import BASELINE


@pytest.mark.parametrize("intervals, words", [
    ("delta", "95% intervals: delta method (asymptotic normal)"),
    ("bootstrap", "95% intervals: Poisson bootstrap (100 replicates)"),
    ("replicates", "95% intervals: Student t over 8 independent scramblings (8 designs of N "
                   "points each, all evaluated)"),
])
def test_show_says_how_the_intervals_were_had(tmp_path, intervals, words):
    study = reesens.load_study(BASELINE, N=256, intervals=intervals)
    groups = reesens.run(study, out=tmp_path / "s.zarr")
    text = report.show(groups)
    assert text.splitlines()[0] == f"Sobol' indices at N = 256, streaming estimator, {words}"
    # `agreement` is 1 on every baseline row (docs/model.md): said, not only "constant"
    assert "agreement                    -        no indices: constant output (1 on every " \
           "row)" in text


def test_a_grid_study_named_grid_gets_no_second_grid_in_its_store_name():
    table = {"name": "baseline_grid", "parameters": {
        n: {"value": 0.5} for n in ("A", "gamma", "delta", "phi_D", "kappa")},
        "grid": {"p": {"linspace": [0.0, 1.0, 3]}}}
    assert grid.default_store(parse(table)).name == "baseline_grid.zarr"
    assert grid.default_store(parse({**table, "name": "tour"})).name == "tour-grid.zarr"
    assert isinstance(parse(table), Study)
