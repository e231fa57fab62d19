"""Intervals over independent scramblings (intervals = "replicates", the default): N is
split among the scramblings, each an ordinary scrambled Sobol' design of N / R points; the
estimate is their mean and the interval Student t over them, which holds for scrambled
designs where the delta method and the bootstrap (derived for iid rows) are only
conservative, many times wider than the error (benchmarks/compare_intervals.py)."""
import math

import numpy as np
import pytest
import xarray as xr
from SALib.analyze import sobol as salib_analyze
from SALib.sample import sobol as salib_sample
from scipy.stats import t

from reesens.design import sampling
from reesens.methods.sobol import indices
from reesens.runs import montecarlo as run
from reesens.study.parse import parse
from reesens.study.schema import StudyError
from tests.interface.test_cli import BASELINE, reesens
from tests.methods.test_streaming import PROBLEM, _moments
from tests.models import ishigami


def _table(N=1024, scramblings=4, **analysis):
    table = ishigami.study_table(N=N, block_points=64)
    table["analysis"].update({"intervals": "replicates", "scramblings": scramblings,
                              **analysis})
    return table


def test_replicates_are_the_mean_and_t_interval_of_independent_designs(tmp_path):
    study = parse(_table())
    assert (study.scramblings, study.design_N, study.block_points) == (4, 256, 64)
    groups = run.run(study, out=tmp_path / "r.zarr", progress=False, keep_samples=True)
    got = groups["sobol"].sel(output="y")
    estimates = {"S1": [], "ST": []}
    for r in range(4):
        seed = sampling.scrambling_seed(study.seed, r)
        X = salib_sample.sample(PROBLEM, 256, calc_second_order=False, seed=seed)
        Y = ishigami.evaluate_block(X)["y"]
        np.testing.assert_array_equal(  # design r is the store's blocks [4 r, 4 r + 4)
            groups["samples"]["y"].values[r * 256 * 5:(r + 1) * 256 * 5], Y)
        result = salib_analyze.analyze(PROBLEM, Y, calc_second_order=False, seed=1)
        for q in estimates:
            estimates[q].append(result[q])
    quantile = t.ppf(0.975, 3)
    for q, values in estimates.items():
        values = np.array(values)
        np.testing.assert_allclose(got[f"sobol_{q}"].values, values.mean(axis=0), rtol=1e-9)
        np.testing.assert_allclose(got[f"sobol_{q}_conf"].values,
                                   quantile * values.std(axis=0, ddof=1) / math.sqrt(4),
                                   rtol=1e-9)
    assert sampling.scrambling_seed(study.seed, 0) == study.seed
    assert len({sampling.scrambling_seed(study.seed, r) for r in range(100)}) == 100
    assert "Student t over 4 independent scramblings" in got["sobol_ST_conf"].attrs[
        "long_name"]
    assert groups["summary"].attrs["rows"] == 1024 * 5
    assert groups["sobol"].attrs["N"] == 1024


def _default(N=1024, **analysis):
    table = ishigami.study_table(N=N, block_points=min(N, 64))
    table["analysis"].update({"intervals": "auto", **analysis})
    return table


def test_auto_intervals_are_replicates_where_they_can_be():
    table = _default()
    assert (parse(table).intervals, parse(table).scramblings) == ("replicates", 8)
    for change, kind in (({"estimator": "salib"}, "bootstrap"), ({"scramblings": 3}, "delta")):
        assert parse(_default(**change)).intervals == kind, change
    table = _default(N=4)  # N does not split into 8
    assert (parse(table).intervals, parse(table).scramblings) == ("delta", 1)
    table["sampling"]["scramble"] = False
    assert parse(table).intervals == "delta"


def test_replicate_intervals_cover_at_the_nominal_rate_on_scrambled_designs():
    """200 studies, each 8 scramblings of 256 Sobol' points: the 95% t intervals hold the
    analytic S1 and ST in 95% of them within binomial noise (3 standard deviations)."""
    s1, st = ishigami.analytic_indices()
    studies, R, n, D = 200, 8, 256, 3
    template = parse(_table(N=n, scramblings=R))
    reasons = np.array([""], dtype=object)
    hits = {"S1": np.zeros(D), "ST": np.zeros(D)}
    for s in range(studies):
        designs = []
        for r in range(R):
            X = salib_sample.sample(PROBLEM, n, calc_second_order=False,
                                    seed=sampling.scrambling_seed(1000 + s, r))
            designs.append(_moments(ishigami.evaluate_block(X)["y"][None], D, False, n))
        got = indices.scrambled_indices(template, designs, reasons)
        for q, analytic in (("S1", s1), ("ST", st)):
            hits[q] += np.abs(got[q][0] - analytic) <= got[f"{q}_conf"][0]
    sd = math.sqrt(studies * 0.95 * 0.05)
    for q, count in hits.items():
        assert np.all(np.abs(count - 0.95 * studies) <= 3 * sd), (q, count)


@pytest.mark.parametrize("change, message", [
    ({"scramblings": 1}, "analysis.scramblings: must be a power of two in [2, 1024], got 1"),
    ({"scramblings": 6}, "analysis.scramblings: must be a power of two in [2, 1024], got 6"),
    ({"scramblings": "8"}, 'analysis.scramblings: must be a power of two in [2, 1024], got '
                           '"8" (a string)'),
    ({"scramblings": 2048}, "analysis.scramblings: must be a power of two in [2, 1024]"),
    ({"estimator": "salib"}, 'analysis.intervals: "replicates" need the streaming estimator'),
])
def test_bad_replicate_settings_are_refused(change, message):
    with pytest.raises(StudyError) as error:
        parse(_table(**change))
    assert message in str(error.value)
    with pytest.raises(StudyError, match="N = 4 base points cannot be split among 8"):
        parse(ishigami.study_table(N=4, block_points=4) | {"analysis": {
            "intervals": "replicates", "scramblings": 8}})
    table = _table()
    table["sampling"]["scramble"] = False
    with pytest.raises(StudyError, match="set sampling.scramble = true"):
        parse(table)


def test_replicates_through_the_cli_resume_and_reach_a_target(tmp_path):
    store = tmp_path / "r.zarr"
    args = ["--n", "128", "--intervals", "replicates", "--out", store, "--quiet"]
    done = reesens("run", BASELINE, *args)
    assert done.returncode == 0, done.stderr
    first = xr.open_zarr(store, group="sobol").load()
    assert first.attrs["scramblings"] == 8 and first.attrs["intervals"] == "replicates"
    again = reesens("run", BASELINE, *args)  # the same command: everything is done
    assert again.returncode == 0, again.stderr
    xr.testing.assert_identical(xr.open_zarr(store, group="sobol").load(), first)
    plain = reesens("run", BASELINE, "--n", "128", "--intervals", "delta", "--out", store,
                    "--quiet")
    assert plain.returncode == 2 and "scramblings: store 8, now 1" in plain.stderr
    target = reesens("run", BASELINE, *args[:4], "--target-ci", "0.2", "--max-n", "512",
                     "--methods", "sobol", "--out", tmp_path / "t.zarr", "--quiet")
    assert target.returncode == 0, target.stderr
    convergence = xr.open_zarr(tmp_path / "t.zarr", group="convergence")
    assert list(convergence["N"].values)[0] == 128
    assert convergence.attrs["target_met"] == (convergence.attrs["widest_half_width"] <= 0.2)
