"""Invalid vectors come back invalid row by row; bad arguments raise clear errors."""
import numpy as np
import pytest

from reesens.kernels import woods
from reesens.kernels.registry import get_model

GOOD = [0.5, 0.5, 2.0, 0.3, 0.6, 0.7]
FLOATS = [v.name for v in woods.OUTPUTS if v.dtype == "float64"]
BAD_VALUES = {0: [np.nan, np.inf, 0.0, -0.5], 1: [np.nan, np.inf, 0.0, -0.5],
              2: [np.nan, -np.inf, 0.0, -2.0], 3: [np.nan, np.inf, 0.0, -0.3],
              4: [np.nan, np.inf, 0.0, -0.6], 5: [np.nan, -0.01, 1.01, np.inf]}


def rows_with_one_bad_value():
    rows = [GOOD]
    for j, values in BAD_VALUES.items():
        for value in values:
            row = list(GOOD)
            row[j] = value
            rows.extend([row, GOOD])
    return np.array(rows)


@pytest.mark.parametrize("concept", ["paper", "verifiable", "mimicable"])
@pytest.mark.parametrize("bargaining", ["inside", "outside"])
def test_invalid_rows_are_marked_and_leave_the_others_alone(concept, bargaining):
    rows = rows_with_one_bad_value()
    out = woods.evaluate(*rows.T, concept=concept, bargaining=bargaining)
    bad = np.arange(len(rows)) % 2 == 1
    assert (out["eq"][bad] == -1).all()
    assert (out["eq_set"][bad] == 0).all() and (out["n_eq"][bad] == 0).all()
    for name in FLOATS:
        assert np.isnan(out[name][bad]).all(), name
    alone = woods.evaluate(*GOOD, concept=concept, bargaining=bargaining)
    for name in woods.OUTPUT_NAMES:
        np.testing.assert_array_equal(out[name][~bad], np.full((~bad).sum(), alone[name]),
                                      err_msg=name)


def test_block_rows_with_bad_bargaining_parameters_are_invalid():
    block = np.tile(GOOD + [0.9, 0.9, 1.0], (5, 1))
    block[1, 6], block[2, 7], block[3, 8], block[4, 8] = 1.0, -0.1, 0.0, np.nan
    out = woods.evaluate_block(np.asfortranarray(block))
    np.testing.assert_array_equal(out["eq"], [1, -1, -1, -1, -1])


@pytest.mark.parametrize("argument, value", [
    ("concept", "Verifiable"), ("concept", "exact"), ("selection", "us"),
    ("bargaining", "nash"),
])
def test_unknown_option_names(argument, value):
    with pytest.raises(ValueError, match=rf"evaluate: {argument}='{value}' is not allowed; "
                                         r"allowed values: .*,"):
        woods.evaluate(*GOOD, **{argument: value})
    with pytest.raises(ValueError, match=rf"evaluate_block: {argument}="):
        woods.evaluate_block(np.ones((2, 9)), **{argument: value})


@pytest.mark.parametrize("argument, value, bound", [
    ("rho_C", 1.0, r"rho_C in \[0, 1\)"), ("rho_C", -0.1, r"rho_C in \[0, 1\)"),
    ("rho_F", 1.5, r"rho_F in \[0, 1\)"), ("rho_F", np.nan, r"rho_F in \[0, 1\)"),
    ("S", 0.0, r"S in \(0, inf\)"), ("S", -1.0, r"S in \(0, inf\)"),
    ("S", np.inf, r"S in \(0, inf\)"), ("S", [1.0, 0.0], r"S in \(0, inf\)"),
])
def test_out_of_range_bargaining_settings(argument, value, bound):
    with pytest.raises(ValueError, match=rf"evaluate: {argument} must satisfy {bound}"):
        woods.evaluate(*GOOD, **{argument: value})


def test_non_numeric_and_non_broadcasting_inputs():
    with pytest.raises(ValueError, match="evaluate: kappa must be numeric"):
        woods.evaluate(0.5, 0.5, 2.0, 0.3, "high", 0.7)
    with pytest.raises(ValueError, match=r"evaluate: inputs do not broadcast.*A\(2,\)"):
        woods.evaluate(np.ones(2), 0.5, 2.0, 0.3, 0.6, np.ones(3))


@pytest.mark.parametrize("params", [
    np.ones((4, 6)), np.ones(9), np.ones((4, 9), dtype=np.float32), [[1.0] * 9],
])
def test_block_shape_and_dtype(params):
    with pytest.raises(ValueError, match=r"evaluate_block: params must be a float64 numpy "
                                         r"array of shape \(n, 9\)"):
        woods.evaluate_block(params)


def test_block_out_buffers_are_checked_and_filled():
    block = np.asfortranarray(np.tile(GOOD + [0.9, 0.9, 1.0], (3, 1)))
    out = woods.allocate_outputs(3)
    assert woods.evaluate_block(block, out=out) is out
    assert (out["eq"] == 1).all()
    out["eq"] = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match=r"out\['eq'\] must be a int8 array of shape \(3,\)"):
        woods.evaluate_block(block, out=out)


def test_broadcasting_keeps_shapes():
    out = woods.evaluate(np.full((2, 1), 0.5), 0.5, 2.0, 0.3, 0.6, np.array([0.2, 0.4, 0.7]))
    assert all(a.shape == (2, 3) for a in out.values())
    np.testing.assert_array_equal(out["eq"], [[3, 1, 1], [3, 1, 1]])


def test_unknown_model_name():
    with pytest.raises(ValueError, match=r"unknown model 'wood'; known models: .*woods"):
        get_model("wood")
