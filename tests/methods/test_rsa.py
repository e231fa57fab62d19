"""Regional sensitivity (methods.rsa) against scipy's two-sample KS and Cramer-von Mises
on the same A and B rows, against SALib's rsa, against the closed forms of docs/model.md,
and its null levels on parameters a region ignores; the regions' grammar."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import cramervonmises_2samp, ks_2samp

from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.kernels.registry import get_model
from reesens.methods import counts, rsa
from reesens.runs import montecarlo as run
from reesens.study import conditions
from reesens.study.parse import parse
from reesens.study.schema import StudyError
from tests.runs.test_pipeline import _woods_table

REGIONS = {"rich": "china_share > 0.6", "high_mu": "mu_star > 0.5 and eq != separating"}


def _study(N=2048, seed=3, **analysis):
    table = _woods_table(outputs={"names": ["china_share", "mu_star", "eq"]},
                         analysis={"methods": ["sobol", "rsa"], "regions": REGIONS,
                                   "intervals": "delta", **analysis})
    table["sampling"] = {"N": N, "seed": seed, "block_points": 256}
    return parse(table, "rsa.toml")


def _ab_rows(study):
    """(parameters (2N, D), {output: (2N,)}) of the design's A and B rows, first case."""
    out = evaluate.evaluate_points(study, 0, study.N)
    k = sampling.rows_per_point(len(study.columns), study.second_order)
    return (sampling.ab_rows(out["_params"][0], k, axis=0),
            {n: sampling.ab_rows(out[n].reshape(-1, out[n].shape[-1])[0], k)
             for n in study.outputs})


def test_ks_and_cvm_are_scipys_on_the_same_rows_within_the_slicing(tmp_path):
    """KS read at the slice edges is never above scipy's and below it by at most the
    largest share of either side's rows in one slice; CvM within 6% + 0.01."""
    study = _study()
    groups = run.run(study, out=tmp_path / "r.zarr", progress=False)
    ds = groups["rsa"]
    X, Y = _ab_rows(study)
    edges = counts.slice_edges(study)[0]  # (D, slices - 1)
    checked = 0
    for region in conditions.study_regions(study):
        if region.label not in ds["output"].values.tolist():
            continue
        inside = conditions.evaluate(region.tree, Y) == 1
        if inside.all() or not inside.any():
            continue
        for j, p in enumerate(study.sampled_names):
            one = ds.sel(output=region.label, param=p)
            ks, cvm = float(one["rsa_ks"]), float(one["rsa_cvm"])
            exact_ks = ks_2samp(X[inside, j], X[~inside, j]).statistic
            exact_cvm = cramervonmises_2samp(X[inside, j], X[~inside, j]).statistic
            cut = np.searchsorted(edges[j], X[:, j], "right")  # each side's widest slice
            widest = max(np.bincount(cut[inside]).max() / inside.sum(),
                         np.bincount(cut[~inside]).max() / (~inside).sum())
            assert exact_ks - widest - 1e-12 <= ks <= exact_ks + 1e-12, (region, p)
            assert abs(cvm - exact_cvm) <= 0.06 * exact_cvm + 0.01, (region, p, cvm, exact_cvm)
            checked += 1
    assert checked >= 4 * 6


def test_cvm_is_salibs_rsa_on_the_output_above_its_median(tmp_path):
    """SALib's rsa with two output bins compares each parameter above against at or below
    the output's median: the region "china_share > median" is that comparison."""
    from SALib.analyze import rsa as salib_rsa
    study = _study()
    X, Y = _ab_rows(study)
    median = float(np.quantile(Y["china_share"], 0.5))
    table = _woods_table(outputs={"names": ["china_share", "mu_star", "eq"]},
                         analysis={"methods": ["sobol", "rsa"], "intervals": "delta",
                                   "regions": {"upper": f"china_share > {median!r}"}})
    table["sampling"] = {"N": 2048, "seed": 3, "block_points": 256}
    ds = run.run(parse(table, "rsa.toml"), out=tmp_path / "r.zarr", progress=False)["rsa"]
    problem = {"num_vars": X.shape[1], "names": list(study.sampled_names),
               "bounds": [[0, 1]] * X.shape[1]}
    theirs = salib_rsa.analyze(problem, X, Y["china_share"], bins=2, target="Y")
    for p in study.sampled_names:
        mine = float(ds["rsa_cvm"].sel(output="upper", param=p))
        assert abs(mine - theirs[p][1]) <= 0.06 * theirs[p][1] + 0.01, (p, mine, theirs[p])


def test_p_drives_the_hedged_pool_and_the_ignored_parameters_read_below_the_null(tmp_path):
    """Under verifiable/china pool_nd_hedge is selected exactly where p >= mu_star
    (docs/model.md section 2; A < delta on the whole box): p ranks first. mu_star > 0.5
    depends on A, gamma and delta alone: over 8 designs phi_D, kappa and p read above
    their 95% null level in at most 2 of 24 cells."""
    study = _study(N=4096)
    X, Y = _ab_rows(study)
    A, gamma, delta, p = (X[:, study.sampled_names.index(n)] for n in ("A", "gamma",
                                                                     "delta", "p"))
    mu_star = (A + gamma) / (gamma + delta)
    assert np.array_equal(Y["eq"] == 1, p >= mu_star)  # the closed form holds on the rows
    ds = run.run(study, out=tmp_path / "r.zarr", progress=False)["rsa"]
    hedge = ds.sel(output="eq==pool_nd_hedge")
    assert hedge["param"].values[int(np.argmax(hedge["rsa_ks"].values))] == "p"
    assert hedge["param"].values[int(np.argmax(hedge["rsa_cvm"].values))] == "p"
    above = 0
    for seed in range(1, 9):
        table = _woods_table(outputs={"names": ["mu_star"]},
                             analysis={"methods": ["sobol", "rsa"], "intervals": "delta",
                                       "regions": {"high_mu": "mu_star > 0.5"}})
        table["sampling"] = {"N": 1024, "seed": seed, "block_points": 256}
        one = run.run(parse(table, "n.toml"), out=tmp_path / f"n{seed}.zarr",
                      progress=False)["rsa"].sel(output="high_mu")
        for q in ("phi_D", "kappa", "p"):
            above += int(one["rsa_ks"].sel(param=q) > one["rsa_ks_null"].sel(param=q))
            above += int(one["rsa_cvm"].sel(param=q) > one["rsa_cvm_null"].sel(param=q))
        assert (one["rsa_ks"].sel(param="delta") > one["rsa_ks_null"].sel(param="delta"))
    assert above <= 2, above


def test_the_cvm_limits_quantile_is_andersons():
    """0.46136 at 0.95 and 0.74346 at 0.99 (Anderson & Darling 1952's table)."""
    assert rsa.cvm_limit_quantile(0.95) == pytest.approx(0.46136, rel=0.01)
    assert rsa.cvm_limit_quantile(0.99) == pytest.approx(0.74346, rel=0.02)


def test_the_counts_do_not_depend_on_block_size_or_workers(tmp_path):
    a = run.run(_study(), out=tmp_path / "a.zarr", progress=False)["rsa"]
    table = _woods_table(outputs={"names": ["china_share", "mu_star", "eq"]},
                         analysis={"methods": ["sobol", "rsa"], "regions": REGIONS,
                                   "intervals": "delta"})
    table["sampling"] = {"N": 2048, "seed": 3, "block_points": 64}
    b = run.run(parse(table, "b.toml"), out=tmp_path / "b.zarr", progress=False,
                workers=2)["rsa"]
    for name in ("rsa_ks", "rsa_cvm", "rsa_share"):
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


OUTPUTS = {v.name: v for v in get_model("woods").outputs}


@pytest.mark.parametrize("text, message", [
    ("eq < pool_nd_hedge", "compare it with == or != (its codes have no order) at position 3"),
    ("nope > 1", "'nope' is not an output of the study"),
    ("china_share >", "expected a number after >, got 'the end' at position 13"),
    ("china_share > 1 and", "expected an output name, got 'the end' at position 19"),
    ("(china_share > 1", "expected ')', got 'the end' at position 16"),
    ("china_share > 1 xor 2", "expected 'and', 'or' or the end, got 'xor' at position 16"),
    ("eq == nope", "eq has no code 'nope'"),
    ("eq == 9", "eq has no code 9"),
    ("china_share ! 1", "unexpected '!' at position 12"),
    ("__import__('os') > 1", "unexpected"),
    ("", "must be a non-empty condition"),
])
def test_a_malformed_condition_is_refused_with_its_position(text, message):
    with pytest.raises(conditions.ConditionError) as e:
        conditions.parse(text, OUTPUTS)
    assert message in str(e.value), str(e.value)


def test_conditions_evaluate_as_numpy_with_and_before_or_and_nan_undefined():
    tree = conditions.parse("eq == pool_nd_hedge or china_share > 0.6 and margin <= -1e-3",
                            OUTPUTS)
    eq = np.array([1, 2, 2, 2, 1], dtype=np.int8)
    share = np.array([0.1, 0.7, 0.7, np.nan, 0.2])
    margin = np.array([0.0, -1.0, 0.0, -1.0, np.nan])
    got = conditions.evaluate(tree, {"eq": eq, "china_share": share, "margin": margin})
    want = (eq == 1) | ((share > 0.6) & (margin <= -1e-3))
    assert np.array_equal(got[:3], want[:3].astype(float))
    assert np.isnan(got[3:]).all()


@pytest.mark.parametrize("regions, message", [
    ({"r": "margin > 0"}, "analysis.regions.r: 'margin' is not an output of the study"),
    ({"r": 3}, "analysis.regions.r: must be a condition in quotes"),
    ({"eq": "china_share > 0"}, "analysis.regions: region name 'eq' must be"),
    ({"p": "china_share > 0"}, "analysis.regions: region name 'p' must be"),
    ("china_share > 0", "analysis.regions: must be a table"),
])
def test_a_bad_region_is_refused_at_load_naming_the_field(regions, message):
    table = _woods_table(outputs={"names": ["china_share", "eq"]},
                         analysis={"methods": ["sobol", "rsa"], "regions": regions})
    with pytest.raises(StudyError) as e:
        parse(table, "bad.toml")
    assert message in str(e.value), str(e.value)
    if "margin" in message:
        assert "add margin to [outputs] names" in str(e.value)

TOKENS = st.sampled_from(["eq", "china_share", "margin", "pool_nd_hedge", "and", "or", "(",
                          ")", "<", "<=", "==", "!=", ">", "0.5", "-1e-3", "2", "x", "!",
                          "'", ";", "__import__", "1e400", " "])


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=12), st.text(max_size=6))
def test_any_text_parses_or_is_refused_with_a_position(tokens, tail):
    text = " ".join(tokens) + tail
    try:
        conditions.parse(text, OUTPUTS)
    except conditions.ConditionError as e:
        assert 0 <= e.position <= len(text)


COMPARISONS = st.one_of(
    st.tuples(st.just("china_share"), st.sampled_from(list(conditions.OPS)),
              st.floats(-1, 2, allow_nan=False)),
    st.tuples(st.just("eq"), st.sampled_from(["==", "!="]),
              st.sampled_from(["pool_nd_hedge", "separating", "none"])))
TREES = st.recursive(COMPARISONS, lambda inner: st.tuples(
    st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)), max_leaves=6)


def _text(tree) -> str:
    if isinstance(tree[1], list):
        return "(" + f" {tree[0]} ".join(_text(t) for t in tree[1]) + ")"
    return f"{tree[0]} {tree[1]} {tree[2]!r}" if tree[0] != "eq" else \
        f"eq {tree[1]} {tree[2]}"


def _reference(tree, eq, share):
    if isinstance(tree[1], list):
        parts = [_reference(t, eq, share) for t in tree[1]]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if tree[0] == "and" else (out | p)
        return out
    if tree[0] == "eq":
        code = {"pool_nd_hedge": 1, "separating": 3, "none": 0}[tree[2]]
        return (eq == code) if tree[1] == "==" else (eq != code)
    return conditions.OPS[tree[1]](share, tree[2])


@settings(max_examples=200, deadline=None)
@given(TREES)
def test_a_parsed_condition_is_its_numpy_expression(tree):
    rng = np.random.default_rng(0)
    eq = rng.choice([0, 1, 2, 3], 64).astype(np.int8)
    share = rng.random(64)
    got = conditions.evaluate(conditions.parse(_text(tree), OUTPUTS),
                              {"eq": eq, "china_share": share})
    assert np.array_equal(got, _reference(tree, eq, share).astype(float))
