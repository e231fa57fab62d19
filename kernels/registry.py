"""One declaration per model: parameters, outputs, options and the batch entry.

The engine reads these records (names, dtypes, units, CF attributes, parameter domains)
and never holds model-specific code; a model registers itself with :func:`register`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np


@dataclass(frozen=True)
class Variable:
    """A named model input or output with its CF metadata.

    `lower`/`upper` (with `*_closed` telling whether the bound itself is allowed) give the
    domain of a parameter; outputs leave them infinite. `flag_values` (codes) or
    `flag_masks` (bit fields), with `flag_meanings`, mark categorical outputs; `default` is the value a study uses for a parameter it
    neither fixes nor samples (None: the study must say).
    """

    name: str
    dtype: str
    units: str
    long_name: str
    lower: float = -math.inf
    upper: float = math.inf
    lower_closed: bool = False
    upper_closed: bool = False
    flag_values: tuple[int, ...] = ()
    flag_masks: tuple[int, ...] = ()
    flag_meanings: tuple[str, ...] = ()
    default: float | None = None

    def attrs(self) -> dict:
        """CF attributes for an xarray variable (JSON-serialisable)."""
        attrs = {"long_name": self.long_name, "units": self.units}
        if self.flag_values:
            attrs["flag_values"] = list(self.flag_values)
        if self.flag_masks:
            attrs["flag_masks"] = list(self.flag_masks)
        if self.flag_meanings:
            attrs["flag_meanings"] = " ".join(self.flag_meanings)
        return attrs

    def domain_text(self) -> str:
        """The domain as an interval, e.g. '(0, inf)' or '[0, 1]'."""
        left = "[" if self.lower_closed else "("
        right = "]" if self.upper_closed else ")"
        return f"{self.name} in {left}{self.lower:g}, {self.upper:g}{right}"

    def contains(self, x) -> np.ndarray:
        """Elementwise: is x inside the domain (NaN never is)?"""
        x = np.asarray(x, dtype=np.float64)
        low = x >= self.lower if self.lower_closed else x > self.lower
        high = x <= self.upper if self.upper_closed else x < self.upper
        return low & high


@dataclass(frozen=True)
class Audit:
    """Two classifications a model computes side by side, and how a report words them.

    flag: the code output that is 1 where they differ; region: the code output of the
    region of the rules a row falls in; where: the region where they differ (another code
    where they agree); compared: the two in words, joined by "and"; short: the same for a
    figure's panel, joined by "vs"; misstates: the conclusion where they always differ;
    title: the report section's."""

    flag: str
    region: str
    where: str
    compared: str
    short: str
    misstates: str
    title: str = "Audit"


@dataclass(frozen=True)
class Words:
    """How a model's names read in tables, reports and figures (the engine holds none).

    symbols: parameter or output name -> its mathtext symbol; text: the same as plain
    text; codes: a code's flag meaning -> words; options: (option, value) -> words;
    choice: the code output whose drivers a summary headlines; compare: the output a grid
    compares between two values of a swept option; planes: the (x, y) planes of a grid's
    phase diagrams, where both are swept; tie: (a, b): slice a grid with a above b's
    middle, off the tie a == b; overlay(x, y, X, Y, values) -> {"contours": (label,
    field), "lines": [(key, label, linestyle, gap)], "ties": {axis: value}}: what a phase
    diagram draws over the plane (x, y) (meshes X, Y; the other parameters in `values`),
    a field's contours, each line where its gap is 0, and the exact value of a tie on an
    axis ({} when the parameters it needs are not known); audit: the model's two
    classifications compared, or None; marks: {output: ((value, label), ...)}, reference
    values a figure of the output's distribution marks; rates: {output: words}, 0/1
    outputs whose share of rows a summary states (with its interval where there is one)
    as "words: x% of the rows"; means: {output: words}, outputs whose mean over the rows a
    summary states the same way, as "words: x".
    """

    symbols: Mapping[str, str] = field(default_factory=dict)
    text: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[tuple[str, str], str] = field(default_factory=dict)
    choice: str = ""
    compare: str = ""
    planes: tuple[tuple[str, str], ...] = ()
    tie: tuple[str, str] | None = None
    overlay: Callable | None = None
    audit: Audit | None = None
    marks: Mapping[str, tuple[tuple[float, str], ...]] = field(default_factory=dict)
    rates: Mapping[str, str] = field(default_factory=dict)
    means: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Model:
    """A registered model.

    `evaluate_block(params, **options)` takes a float64 block of shape
    (n_rows, len(params)), columns in `params` order, and returns one 1-D array of length
    n_rows per output name. `options` maps each option name to its allowed values, the
    first being the default. `words`: how its names read in reports (Words).

    `row`, optional: the same model as a numba-jitted scalar row function, `row(params,
    i, options) -> tuple`, the outputs of row i of `params` (n, len(params)) float64 in
    `outputs` order, `options` int64 (len(options),) the positions of the option values.
    With it, a Saltelli run evaluates the model inside the kernel that sums what the
    estimators read (kernels.fused), with no rows in memory; it must give the same values
    as `evaluate_block` (the tests compare the two paths byte for byte).
    """

    name: str
    title: str
    params: tuple[Variable, ...]
    outputs: tuple[Variable, ...]
    evaluate_block: Callable[..., dict[str, np.ndarray]]
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    row_seconds: float | None = None  # a row's rough cost on one core (time estimates);
    #                                   None: not measured
    words: Words = field(default_factory=Words)  # how its names read (none: as they are)
    row: Callable | None = None  # the scalar row function of the fused path (see above)
    # check_box(ranges) -> [problem]: what the model refuses in a study's box beyond each
    # parameter's domain; ranges {parameter: (lowest, highest)} it can take in one case
    check_box: Callable | None = None
    # outputs that are closed-form functions of the parameters alone (woods: mu_star,
    # margin = p - mu_star): PRIM boxes and rules use them as dimensions beside the
    # parameters, so a rule can read "margin > 0" where the parameters give a staircase
    derived: tuple[str, ...] = ()

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.params)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.outputs)


MODELS: dict[str, Model] = {}
ENTRY_POINTS = "reesens.models"  # the entry point group of installed models


def register(model: Model) -> Model:
    """Add a model to the registry (a second model of the same name replaces it)."""
    MODELS[model.name] = model
    return model


def _entry_points() -> dict:
    """{name: entry point} of the installed packages' models (group ENTRY_POINTS)."""
    from importlib.metadata import entry_points
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINTS)}


def model_names() -> list[str]:
    """Every model a study may name: the shipped ones and the installed packages'."""
    return sorted(set(MODELS) | set(_entry_points()))


def get_model(name: str) -> Model:
    """The model called `name`: a registered one, else the installed entry point of that
    name in the group `reesens.models`, loaded (importing its package) and registered.
    ValueError listing the known models otherwise, or when the entry point is not a
    Model of that name."""
    if name in MODELS:
        return MODELS[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(model_names())}")
    model = ep.load()
    if not isinstance(model, Model) or model.name != name:
        raise ValueError(f"the entry point {name!r} = {ep.value!r} (group {ENTRY_POINTS}) "
                         f"must be a reesens Model named {name!r}, got {type(model).__name__}"
                         + (f" named {model.name!r}" if isinstance(model, Model) else ""))
    return register(model)


def option_position(function: str, options: Mapping[str, tuple[str, ...]], name: str,
                    value: str) -> int:
    """Position of `value` among the allowed values of option `name`; ValueError naming
    `function` otherwise."""
    allowed = options[name]
    if value not in allowed:
        raise ValueError(f"{function}: {name}={value!r} is not allowed; "
                         f"allowed values: {', '.join(allowed)}")
    return allowed.index(value)


def allocate(outputs: tuple[Variable, ...], n: int) -> dict[str, np.ndarray]:
    """Uninitialised output arrays for n rows, one per output, with the declared dtypes."""
    return {v.name: np.empty(n, dtype=v.dtype) for v in outputs}


def checked_block(params, param_vars: tuple[Variable, ...], outputs: tuple[Variable, ...],
                  out=None) -> dict[str, np.ndarray]:
    """A batch entry's checks: params a float64 (n, len(param_vars)) array, `out` None
    (allocated here) or a dict of arrays of the outputs' dtypes and length n; returns
    out. ValueError naming what is wrong otherwise."""
    names = [v.name for v in param_vars]
    if not isinstance(params, np.ndarray) or params.dtype != np.float64 or params.ndim != 2 \
            or params.shape[1] != len(param_vars):
        raise ValueError(
            "evaluate_block: params must be a float64 numpy array of shape (n, "
            f"{len(param_vars)}) with columns {', '.join(names)}; got "
            f"{type(params).__name__} {getattr(params, 'dtype', '')} "
            f"{getattr(params, 'shape', '')}")
    n = params.shape[0]
    if out is None:
        return allocate(outputs, n)
    for v in outputs:
        a = out.get(v.name)
        if not (isinstance(a, np.ndarray) and a.shape == (n,) and a.dtype == v.dtype):
            raise ValueError(f"evaluate_block: out[{v.name!r}] must be a {v.dtype} array "
                             f"of shape ({n},); use allocate_outputs({n})")
    return out
