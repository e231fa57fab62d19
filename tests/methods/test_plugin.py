"""A sensitivity method registered from this file, with no engine change: the mean and
variance of each analysed output per case, streamed block by block. It runs through
validate, run, a killed run's resume, verify, show, report and export, and its values
equal the run's own summary group (an independent computation of the same moments)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from reesens import cli
from reesens.store import blocks
from reesens.study import registry
from reesens.study.registry import BlockArray, Method, Statistic

STUDY = """
name = "toy"
[parameters]
A = { dist = "unif", lower = 0.1, upper = 0.5 }
gamma = { dist = "unif", lower = 0.1, upper = 0.5 }
delta = { dist = "unif", lower = 0.6, upper = 1.0 }
phi_D = { value = 0.3 }
kappa = { dist = "unif", lower = 0.1, upper = 0.5 }
p = { dist = "unif", lower = 0.0, upper = 1.0 }
[sampling]
N = 512
block_points = 64
seed = 3
[analysis]
methods = ["sobol", "mean_var"]
"""


class Sums(Statistic):
    """Per block and series: the count, sum and sum of squares of its finite values."""

    name, what = "toy_sums", "toy sums"

    def names(self, plan):
        return ("block_toy_sums",)

    def template(self, plan, context):
        return {"block_toy_sums": BlockArray(("series", "toy_power"), (len(plan.labels), 3),
                                             np.float64, np.nan, {
            "long_name": "count, sum and sum of squares of the series' values",
            "units": "1"})}, {}

    def start(self, plan, context):
        return np.zeros((len(plan.labels), 3))

    def add(self, state, plan, context, chunk):
        y = chunk.series.reshape(-1, chunk.series.shape[-1])
        finite = np.isfinite(y)
        state[:, 0] += finite.sum(-1)
        state[:, 1] += np.where(finite, y, 0.0).sum(-1)
        state[:, 2] += np.where(finite, y * y, 0.0).sum(-1)

    def stored(self, state, plan, context):
        return {"block_toy_sums": state}

    def merge(self, plan, context, stored, merged=None):
        total = stored["block_toy_sums"].sum(axis=0)
        return total if merged is None else merged + total


def results(plan, merged, level):
    n, s, s2 = (sum(design[:, k] for design in merged["toy_sums"]) for k in range(3))
    mean = s / n
    ds = xr.Dataset({"mean_var_mean": ("output", mean, {"long_name": "mean", "units": "1"}),
                     "mean_var_variance": ("output", s2 / n - mean ** 2,
                                           {"long_name": "variance", "units": "1"})},
                    coords={"output": np.array(plan.labels, dtype=object)})
    return {"mean_var": ds}


def show(groups, options):
    ds = groups["mean_var"]
    return "\n".join(f"toy {o}: mean {m:.6f} variance {v:.6f}" for o, m, v in zip(
        ds["output"].values, ds["mean_var_mean"].values, ds["mean_var_variance"].values))


def report(page):
    ds = page.open("mean_var")
    return ["## Mean and variance", ""] + [
        f"- {o}: mean {m:.4f}" for o, m in zip(ds["output"].values, ds["mean_var_mean"].values)
    ] + [""]


@pytest.fixture()
def toy_method():
    method = registry.register(Method(
        name="mean_var", title="mean and variance", groups=("mean_var",),
        statistic="toy_sums", export={"mean_var": {"mean_var_mean": "mean",
                                                   "mean_var_variance": "variance"}},
        results=results, show=show, report=report), Sums())
    yield method
    registry.unregister("mean_var")


def test_a_method_of_ones_own_runs_through_every_command(toy_method, tmp_path, capsys,
                                                          monkeypatch):
    study = tmp_path / "toy.toml"
    study.write_text(STUDY)
    assert cli.main(["validate", str(study)]) == 0
    assert "ok (toy, model woods (the default: the study names no [model] name): 5 sampled " \
        "parameters, N = 512" in capsys.readouterr().out
    # a run killed at its fifth block, then resumed
    real, written = blocks.write_block, []

    def killed_at_the_fifth(*args, **kwargs):
        if len(written) == 4:
            raise KeyboardInterrupt
        written.append(args[2])
        return real(*args, **kwargs)

    store = tmp_path / "toy.zarr"
    monkeypatch.setattr(blocks, "write_block", killed_at_the_fifth)
    assert cli.main(["run", str(study), "--out", str(store), "--quiet", "--workers", "1"]) == 130
    monkeypatch.setattr(blocks, "write_block", real)
    assert "resume with: reesens run" in capsys.readouterr().err
    assert cli.main(["run", str(study), "--out", str(store), "--quiet", "--workers", "1",
                     "--resume"]) == 0
    out = capsys.readouterr().out
    assert "toy china_share: mean" in out
    whole = tmp_path / "whole.zarr"
    assert cli.main(["run", str(study), "--out", str(whole), "--quiet", "--workers", "2"]) == 0
    capsys.readouterr()
    resumed = xr.open_zarr(store, group="mean_var").load()
    np.testing.assert_array_equal(resumed["mean_var_mean"].values,
                                  xr.open_zarr(whole, group="mean_var")["mean_var_mean"].values)
    # the oracle: the run's own summary group, the same moments computed another way
    summary = xr.open_zarr(store, group="summary").load()
    for output in summary["output"].values.tolist():
        one = resumed.sel(output=output)
        assert float(one["mean_var_mean"]) == pytest.approx(
            float(summary["summary_mean"].sel(output=output)), rel=1e-9, abs=1e-12)
        assert float(one["mean_var_variance"]) == pytest.approx(
            float(summary["summary_variance"].sel(output=output)), rel=1e-7, abs=1e-12)
    # verify, show, report, export
    assert cli.main(["verify", str(store)]) == 0
    capsys.readouterr()
    assert cli.main(["show", str(store)]) == 0
    shown = capsys.readouterr().out
    assert "toy china_share: mean" in shown and "china_share" in shown
    assert cli.main(["report", str(store), "--out", str(tmp_path / "report")]) == 0
    summary_md = (tmp_path / "report" / "summary.md").read_text()
    assert "## Mean and variance" in summary_md and "- china_share: mean" in summary_md
    table = tmp_path / "toy.csv"
    assert cli.main(["export", str(store), "--group", "mean_var", "--out", str(table)]) == 0
    rows = pd.read_csv(table)
    assert set(rows["index"]) == {"mean", "variance"}
    means = rows[rows["index"] == "mean"].set_index("output")["value"]
    assert means["china_share"] == pytest.approx(float(resumed["mean_var_mean"].sel(
        output="china_share")), rel=1e-12)


def test_a_method_named_in_a_study_must_be_registered(tmp_path, capsys):
    study = tmp_path / "toy.toml"
    study.write_text(STUDY)
    assert cli.main(["validate", str(study)]) == 2
    assert "analysis.methods: unknown method 'mean_var'" in capsys.readouterr().err


def test_a_result_group_belongs_to_one_method(toy_method):
    with pytest.raises(ValueError, match="result group 'pawn' is already method 'pawn'"):
        registry.register(Method(name="other", title="other", groups=("pawn",)))
