"""The fused path (one nogil call per block: Sobol' points, the model's scalar row
function, the Sobol' sums) against the materialised path (rows, the model's batch
function, the same sums): the same bytes, for every shipped model with a row function."""
import importlib.util

import numpy as np
import pytest

from reesens.evaluate import fused
from reesens.methods.sobol.moments import Moments
from reesens.runs import montecarlo as run
from reesens.study.parse import load, parse
from tests.runs.test_pipeline import _data_bytes, _woods_table

CASES = {
    "first order": {},
    "second order, swept options": {"model": {"concept": ["verifiable", "mimicable"],
                                              "selection": ["china", "hedge"]},
                                    "sampling": {"N": 256, "block_points": 64, "seed": 3,
                                                 "second_order": True}},
    "scenarios and a fixed parameter": {"scenario": [
        {"name": "low", "parameters": {"delta": {"dist": "unif", "lower": 1.0, "upper": 2.0}}},
        {"name": "patient", "parameters": {"rho_C": {"value": 0.5}}}]},
    "groups": {"analysis": {"resamples": 20, "groups": {"costs": ["A", "phi_D", "kappa"]}},
               "sampling": {"N": 256, "block_points": 64, "seed": 3, "second_order": True}},
    "replicates": {"analysis": {"resamples": 20, "intervals": "replicates",
                                "scramblings": 4}},
    "delta intervals, a partial last batch": {
        "analysis": {"resamples": 20, "intervals": "delta"},
        "sampling": {"N": 128, "block_points": 128, "seed": 5}},
}


def _both(study, tmp_path, monkeypatch):
    """(fused store bytes, materialised store bytes) of the same run."""
    assert fused.design(study, run.series.plan(study, "streaming").spec) is not None
    run.run(study, out=tmp_path / "fused.zarr", progress=False)
    with monkeypatch.context() as m:
        m.setattr(Moments, "fused", lambda self, plan, context: False)
        run.run(study, out=tmp_path / "rows.zarr", progress=False)
    return _data_bytes(tmp_path / "fused.zarr"), _data_bytes(tmp_path / "rows.zarr")


@pytest.mark.parametrize("case", list(CASES))
def test_fused_and_materialised_runs_write_the_same_bytes(tmp_path, monkeypatch, case):
    table = _woods_table(**CASES[case])
    a, b = _both(parse(table), tmp_path, monkeypatch)
    assert a.keys() == b.keys() and any(k.startswith("blocks/block_base_mean") for k in a)
    assert a == b


def test_the_audit_model_fuses_to_the_same_bytes(tmp_path, monkeypatch):
    study = load("studies/paper_audit.toml", N=256)
    a, b = _both(study, tmp_path, monkeypatch)
    assert a == b


def test_the_allocation_model_fuses_to_the_same_bytes(tmp_path, monkeypatch):
    """woods_alloc's row function (27 parameters, tuples only) through the fused pass and
    its batch entry through the materialised one: the same bytes."""
    from tests.kernels.test_alloc import BOX
    study = parse({"name": "alloc", "model": {"name": "woods_alloc"},
                   "parameters": {name: {"dist": "unif", "lower": lo, "upper": hi}
                                  for name, (lo, hi) in BOX.items()},
                   "sampling": {"N": 256, "block_points": 64, "seed": 3},
                   "outputs": {"names": ["share_US", "share_EU", "export_ratio", "eq_EU",
                                         "seed_dist"]}})
    a, b = _both(study, tmp_path, monkeypatch)
    assert a == b


@pytest.mark.skipif(importlib.util.find_spec("reesens_example_model") is None,
                    reason="the example model package is not installed")
def test_a_models_own_row_function_fuses_to_the_same_bytes(tmp_path, monkeypatch):
    table = _woods_table(model={"name": "woods_subsidy"})
    table["parameters"] = {**table["parameters"],
                           "subsidy": {"dist": "unif", "lower": 0.0, "upper": 0.5}}
    a, b = _both(parse(table), tmp_path, monkeypatch)
    assert a == b


def test_a_non_uniform_parameter_takes_the_materialised_path(tmp_path):
    table = _woods_table()
    table["parameters"] = {**table["parameters"],
                           "p": {"dist": "triang", "lower": 0.05, "upper": 0.95, "peak": 0.5}}
    study = parse(table)
    assert fused.design(study, run.series.plan(study, "streaming").spec) is None
    groups = run.run(study, out=tmp_path / "s.zarr", progress=False)
    assert np.isfinite(groups["sobol"]["sobol_ST"].sel(output="china_payoff")).all()


def test_row_function_equals_the_batch_function_on_random_rows():
    from reesens.kernels import woods
    from reesens.kernels.fused import RowFunction, write_outputs  # noqa: F401
    rng = np.random.default_rng(0)
    params = np.asfortranarray(rng.uniform(-0.2, 5.0, size=(500, 9)))
    params[::7, 6] = 1.5  # rho_C outside [0, 1): invalid rows
    for options in ({}, {"concept": "mimicable", "selection": "hedge",
                         "bargaining": "outside"}):
        ref = woods.evaluate_block(params, **options)
        codes = np.array([woods.option_code("t", n, options.get(n, v[0]))
                          for n, v in woods.OPTIONS.items()], dtype=np.int64)
        for i in range(0, 500, 37):
            got = woods.row(params, i, codes)
            for o, name in enumerate(woods.OUTPUT_NAMES):
                assert np.array_equal(np.float64(got[o]), np.float64(ref[name][i]),
                                      equal_nan=True), (name, i)


def test_the_delta_subsample_counts_what_its_rule_picks():
    """subsample_points (the block's subsample size, allocated before the pass) counts the
    base points in_subsample picks one by one: all of the first 4096, then 64 of every
    2048, for blocks across those bounds."""
    from reesens.kernels.saltelli import in_subsample, subsample_points
    starts = [0, 1, 63, 64, 2047, 2048, 4095, 4096, 4100, 6143, 6144, 6200, 10**6]
    for start in starts:
        for points in (0, 1, 64, 65, 2048, 3000, 8192):
            picked = sum(bool(in_subsample(n)) for n in range(start, start + points))
            assert subsample_points(start, points) == picked, (start, points)
