"""The woods declaration matches what the kernel returns and how it judges validity."""
import json
import math

import numpy as np
import pytest

from reesens.kernels import signalling, woods
from reesens.kernels.registry import get_model

MODEL = get_model("woods")
GOOD = {"A": 0.5, "gamma": 0.5, "delta": 2.0, "phi_D": 0.3, "kappa": 0.6, "p": 0.7,
        "rho_C": 0.9, "rho_F": 0.9, "S": 1.0}


def test_declared_outputs_are_what_the_kernel_returns():
    out = MODEL.evaluate_block(np.array([list(GOOD.values())]))
    assert tuple(out) == MODEL.output_names
    for var in MODEL.outputs:
        assert out[var.name].dtype == np.dtype(var.dtype), var.name
    assert MODEL.param_names == tuple(GOOD)
    assert {k: v[0] for k, v in MODEL.options.items()} == {
        "concept": "verifiable", "selection": "china", "bargaining": "inside"}


def test_attrs_are_cf_and_json():
    for var in MODEL.params + MODEL.outputs:
        attrs = var.attrs()
        assert attrs["long_name"] and attrs["units"]
        json.dumps(attrs)
    eq = dict(zip((v.name for v in MODEL.outputs), MODEL.outputs))["eq"].attrs()
    assert eq["flag_values"] == [-1, 0, 1, 2, 3, 4, 5, 6]
    assert eq["flag_meanings"].split() == list(signalling.CODE_MEANINGS)
    eq_set = dict(zip((v.name for v in MODEL.outputs), MODEL.outputs))["eq_set"].attrs()
    assert eq_set["flag_masks"] == [1, 2, 4, 8, 16, 32, 64]
    assert eq_set["flag_meanings"].split() == list(signalling.CODE_MEANINGS[1:])
    # The worked example's set {1, 3, 4} reads back through the masks.
    bits = int(woods.evaluate(0.5, 0.5, 2.0, 0.3, 0.6, 0.7)["eq_set"])
    names = [m for m, k in zip(eq_set["flag_meanings"].split(), eq_set["flag_masks"])
             if bits & k]
    assert names == ["pool_nd_hedge", "separating", "hybrid"]


def _nudge(x, direction):
    return math.nextafter(x, direction * math.inf)


@pytest.mark.parametrize("var", MODEL.params, ids=lambda v: v.name)
def test_declared_domain_is_the_kernels_validity(var):
    """At and beside each finite bound, the registry and the kernel agree."""
    probes = [np.nan, np.inf, -np.inf]
    for bound in (var.lower, var.upper):
        if math.isfinite(bound):
            probes += [bound, _nudge(bound, -1), _nudge(bound, 1)]
    for x in probes:
        row = dict(GOOD, **{var.name: x})
        valid = MODEL.evaluate_block(np.array([list(row.values())]))["eq"][0] != -1
        assert valid == bool(var.contains(x)), f"{var.name} = {x!r}"
    assert var.domain_text().startswith(var.name + " in ")


@pytest.mark.parametrize("name", ["woods", "woods_subsidy", "woods_audit", "woods_alloc"])
def test_a_models_words_name_only_its_own_parameters_and_outputs(name):
    """A misspelt key in Words would silently drop a mark, a rate or a mean from reports."""
    model = get_model(name)
    words = model.words
    names = set(model.param_names) | set(model.output_names)
    for field_ in ("marks", "rates", "means"):
        assert set(getattr(words, field_)) <= set(model.output_names), field_
    assert set(words.symbols) | set(words.text) <= names
