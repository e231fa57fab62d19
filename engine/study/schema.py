"""Study files: load a TOML study, check all of it before any work, return a Study.

A study names a registered model, gives every parameter either a fixed `value` or a
SALib distribution, and says how to sample and analyse. Every problem found is reported
in one StudyError, each line naming the file, the field and what is allowed. TOML is
data only (tomllib), so no study file can run code.
"""
from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np

import reesens.kernels  # noqa: F401  (registers the shipped models)
from reesens.kernels.registry import Model, Variable, get_model, model_names
from reesens.study import registry

# SALib distribution name -> the fields a study gives, in SALib's `bounds` order.
DISTRIBUTIONS = {
    "unif": ("lower", "upper"),
    "triang": ("lower", "upper", "peak"),
    "norm": ("mean", "sd"),
    "truncnorm": ("lower", "upper", "mean", "sd"),
    "lognorm": ("ln_mean", "ln_sd"),
}
DIST_ALIASES = {"uniform": "unif", "triangular": "triang", "normal": "norm",
                "gaussian": "norm", "truncated_normal": "truncnorm", "truncnormal": "truncnorm",
                "lognormal": "lognorm", "log-normal": "lognorm", "log_normal": "lognorm"}
_NOTE_KEYS = ("note", "source")  # free text a parameter or scenario may carry
TOP_KEYS = ("name", "title", "description", "model", "parameters", "sampling", "outputs",
            "analysis", "scenario", "grid")
GRID_SPACINGS = ("linspace", "logspace", "values")  # how a [grid] axis gives its values
SAMPLING_DEFAULTS = {"N": 2**12, "second_order": False, "seed": 1, "scramble": True,
                     "block_points": None, "design": "saltelli", "trajectories": 100,
                     "levels": 4, "optimal_trajectories": None}
DESIGNS = ("saltelli", "morris")  # Saltelli's for Sobol' indices; Morris trajectories
MAX_TRAJECTORIES = 2**20
ANALYSIS_DEFAULTS = {"resamples": 100, "conf_level": 0.95, "seed": None, "estimator": "auto",
                     "intervals": "delta", "scramblings": 8, "methods": ["sobol"],
                     "slices": None, "bins": 32, "groups": None}
ESTIMATORS = ("auto", "salib", "streaming")
# the streaming estimator's intervals: delta method, Poisson bootstrap (`resamples`
# replicates) or Student t over `scramblings` independent scramblings of the design (N
# base points each); SALib's estimator always gives its own resampling bootstrap
INTERVALS = ("delta", "bootstrap", "replicates")
MAX_CUTS = 1024  # slices per parameter, bins per output
DEFAULT_SLICES = 32  # slices per parameter when the study does not say
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# a study's name makes file names (results/<name>-grid.zarr.lock, <name>-report): at most
# this many characters leaves room for every suffix within a file name's 255 bytes
NAME_MAX = 128
MAX_AXIS_VALUES = 2**20  # values on one grid axis
MAX_SCRAMBLINGS = 1024  # independent scramblings for intervals = "replicates"


class StudyError(ValueError):
    """A study file with problems; `problems` lists them, one line each."""

    def __init__(self, path, problems):
        self.path, self.problems = str(path), list(problems)
        super().__init__(f"{self.path}: {len(self.problems)} problem(s):\n"
                         + "\n".join(f"  {self.path}: {p}" for p in self.problems))


@dataclass(frozen=True)
class Distribution:
    """A sampled parameter: SALib `dist` name and its `bounds` list."""

    dist: str
    bounds: tuple[float, ...]

    def support(self) -> tuple[float, float]:
        """(lowest, highest) value the SALib transform can return for points in [0, 1)."""
        b = self.bounds
        if self.dist in ("unif", "truncnorm", "triang"):
            return b[0], b[1]
        if self.dist == "lognorm":
            return 0.0, math.inf
        return -math.inf, math.inf  # norm


@dataclass(frozen=True)
class Study:
    """A checked study. `fixed` and `sampled` cover every model parameter exactly once.

    `scenarios` maps scenario name -> (fixed, sampled) dicts; a study without [[scenario]]
    has none. `options` maps each model option to its list of values; `swept` names the
    options given as lists (they become dimensions of the results). `grid` maps each
    parameter a grid run sweeps to its increasing values (model order); every other
    parameter is then in `fixed`.
    """

    path: str
    name: str
    title: str
    description: str
    model: Model
    fixed: dict[str, float]
    sampled: dict[str, Distribution]
    options: dict[str, list[str]]
    swept: tuple[str, ...]
    outputs: tuple[str, ...]
    N: int
    second_order: bool
    seed: int
    scramble: bool
    block_points: int
    resamples: int
    conf_level: float
    analysis_seed: int
    estimator: str = "auto"
    intervals: str = "delta"
    scramblings: int = 1  # independent scramblings of the design (intervals = "replicates")
    methods: tuple[str, ...] = ("sobol",)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> parameters
    design: str = "saltelli"
    trajectories: int = 100  # Morris: trajectories drawn (design = "morris")
    levels: int = 4  # Morris: grid levels
    optimal_trajectories: int = 0  # Morris: the most spread this many of them (0: all)
    slices: int = DEFAULT_SLICES  # equiprobable slices per parameter (engine.given_data)
    bins: int = 32  # bins per continuous output (engine.given_data)
    scenarios: dict[str, tuple[dict[str, float], dict[str, Distribution]]] = field(
        default_factory=dict)
    grid: dict[str, tuple[float, ...]] = field(default_factory=dict)
    grid_outputs: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict)

    @property
    def sampled_names(self) -> tuple[str, ...]:
        """Sampled parameters in model order: the `param` dimension of the results."""
        return tuple(n for n in self.model.param_names if n in self.sampled)

    @property
    def param_groups(self) -> list[str] | None:
        """Each sampled parameter's group (SALib's problem["groups"]): its [analysis]
        group, or itself when it is in none; None for a study without groups."""
        if not self.groups:
            return None
        of = {p: g for g, members in self.groups.items() for p in members}
        return [of.get(p, p) for p in self.sampled_names]

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the Saltelli design swaps between A and B, one AB row per point
        each: the sampled parameters, or with groups the groups in SALib's order (of
        their first parameter). The `param` dimension of the Sobol' indices."""
        groups = self.param_groups
        return self.sampled_names if groups is None else tuple(dict.fromkeys(groups))

    def option_combinations(self) -> list[dict[str, str]]:
        """Every combination of option values, in the order of the swept dimensions."""
        names = list(self.options)
        return [dict(zip(names, values))
                for values in product(*(self.options[n] for n in names))]

    def scenario_items(self):
        """[(scenario name or None, fixed, sampled)] with the base study when there are none."""
        if not self.scenarios:
            return [(None, self.fixed, self.sampled)]
        return [(name, f, s) for name, (f, s) in self.scenarios.items()]


def _is_number(x) -> bool:
    """An int or float (not a bool) that a float can hold."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        float(x)
    except OverflowError:
        return False
    return True


def _is_name(x) -> bool:
    """Letters, digits, '_', '-', '.' (not first), at most NAME_MAX characters."""
    return isinstance(x, str) and len(x) <= NAME_MAX and NAME_PATTERN.fullmatch(x) is not None


def _check_notes(table, where, problems):
    """Free-text keys must be strings (they are stored as text in the results)."""
    for key in _NOTE_KEYS + ("description",):
        if key in table and not isinstance(table[key], str):
            problems.append(f"{where}.{key}: must be a string")


def _check_parameters(table, where, model, problems, require_all, given=frozenset()):
    """(fixed, sampled) from a [parameters] table; problems appended, never raised.

    With require_all, a parameter neither in the table nor in `given` (swept by a grid)
    takes the model's default or is reported missing."""
    fixed, sampled = {}, {}
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table of parameters")
        return fixed, sampled
    variables = {v.name: v for v in model.params}
    for name, spec in table.items():
        field_ = f"{where}.{name}"
        if name not in variables:
            problems.append(f"{field_}: unknown parameter; model {model.name!r} has "
                            f"{', '.join(variables)}")
            continue
        var = variables[name]
        if not isinstance(spec, dict):
            problems.append(f"{field_}: must be a table with `value` or `dist`")
            continue
        _check_notes(spec, field_, problems)
        if "value" in spec:
            extra = set(spec) - {"value", *_NOTE_KEYS}
            if extra:
                problems.append(f"{field_}: unknown keys {sorted(extra)} beside `value`; "
                                f"allowed: value, {', '.join(_NOTE_KEYS)}")
            value = spec["value"]
            if not _is_number(value):
                problems.append(f"{field_}.value: must be a number, got {value!r}")
            elif not var.contains(value):
                problems.append(f"{field_}.value: {value!r} is outside the domain; "
                                f"allowed: {var.domain_text()}")
            else:
                fixed[name] = float(value)
            continue
        dist = _check_distribution(spec, field_, var, problems)
        if dist is not None:
            sampled[name] = dist
    if require_all:
        for var in model.params:
            if var.name in given:
                continue
            if var.name not in table and var.default is None:
                problems.append(f"{where}.{var.name}: missing; the parameter must be fixed "
                                f"(value = x) or sampled (dist = ...), {var.domain_text()}")
            elif var.name not in table:
                fixed[var.name] = float(var.default)
    return fixed, sampled


def _check_distribution(spec, field_, var: Variable, problems):
    """A Distribution whose support lies inside var's domain, or None (problem recorded)."""
    dist = spec.get("dist")
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        alias = DIST_ALIASES.get(str(dist).lower()) if isinstance(dist, str) else None
        problems.append(f"{field_}: needs `value = x` or `dist` in "
                        f"{', '.join(DISTRIBUTIONS)}; got dist = {_got(dist, takes_text=True)}"
                        + (f' (did you mean "{alias}"?)' if alias else ""))
        return None
    needed = DISTRIBUTIONS[dist]
    extra = set(spec) - {"dist", *needed, *_NOTE_KEYS}
    missing = [k for k in needed if k not in spec]
    if extra:
        problems.append(f"{field_}: unknown keys {sorted(extra)} for dist = {dist!r}; "
                        f"allowed: {', '.join(needed)}, {', '.join(_NOTE_KEYS)}")
    if missing:
        problems.append(f"{field_}: dist = {dist!r} needs {', '.join(needed)}; "
                        f"missing {', '.join(missing)}")
        return None
    values = [spec[k] for k in needed]
    bad = [f"{k} = {_got(v)}" for k, v in zip(needed, values)
           if not (_is_number(v) and math.isfinite(v))]
    if bad:
        problems.append(f"{field_}: {', '.join(bad)}: must be a finite number"
                        + (" (write it without quotes)" if any(
                            isinstance(v, str) and _is_float_text(v) for v in values) else ""))
        return None
    v = dict(zip(needed, map(float, values)))
    if "lower" in v and not v["lower"] < v["upper"]:
        problems.append(f"{field_}: bounds inverted or empty, lower = {v['lower']:g} must be "
                        f"< upper = {v['upper']:g}")
        return None
    if "sd" in v and not v["sd"] > 0:
        problems.append(f"{field_}.sd: must be > 0, got {v['sd']:g}")
        return None
    if "ln_sd" in v and not v["ln_sd"] > 0:
        problems.append(f"{field_}.ln_sd: must be > 0, got {v['ln_sd']:g}")
        return None
    if dist == "triang":
        if not 0.0 <= v["peak"] < 1.0:
            problems.append(f"{field_}.peak: the peak's position as a fraction of "
                            f"upper - lower must be in [0, 1), got {v['peak']:g}")
            return None
        bounds = (v["lower"], v["upper"], v["peak"])
    else:
        bounds = tuple(v[k] for k in needed)
    distribution = Distribution(dist, bounds)
    low, high = distribution.support()
    low_ok = low > var.lower or (low == var.lower and var.lower_closed)
    # An infinite upper end is approached, never returned (Sobol' points are < 1).
    high_ok = high < var.upper or (high == var.upper and (var.upper_closed
                                                          or math.isinf(high)))
    if not (low_ok and high_ok):
        hint = ""
        if var.lower == 0 and math.isinf(var.upper) and dist == "norm":
            hint = "; use truncnorm (lower > 0) or lognorm for a positive parameter"
        elif dist in ("norm", "lognorm") and math.isfinite(var.upper):
            hint = "; use truncnorm or unif/triang within the bounds"
        problems.append(f"{field_}: dist = {dist!r} can produce values in "
                        f"[{low:g}, {high:g}], outside the domain; allowed: "
                        f"{var.domain_text()}{hint}")
        return None
    return distribution


def _got(value, takes_text: bool = False) -> str:
    """A value as a problem quotes it (TOML's spelling), naming its kind when it is not
    the field's: '"0.1" (a string)', '5000', 'true (a boolean)'."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        text = text if len(text) <= 60 else text[:56] + '..."'
        return text if takes_text else f"{text} (a string)"
    if isinstance(value, (dict, list)):
        return f"{_short(value)} (a {'table' if isinstance(value, dict) else 'list'})"
    return _short(value)


def _is_float_text(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _nearest_powers(x) -> str:
    """' (nearest: 4096 or 8192)' for a positive integer that is not a power of two."""
    if isinstance(x, int) and not isinstance(x, bool) and x > 1:
        low = 1 << (x.bit_length() - 1)
        return f" (nearest: {low} or {2 * low})"
    return ""


def _power_of_two(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 1 and x & (x - 1) == 0


def _settings(table, where, defaults, problems):
    """defaults updated from table; unknown keys recorded."""
    out = dict(defaults)
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return out
    for key, value in table.items():
        if key not in defaults:
            problems.append(f"{where}.{key}: unknown key; allowed: {', '.join(defaults)}")
        else:
            out[key] = value
    return out


def default_block_points(N: int) -> int:
    """Base points per block when the study does not say: N/16 within [2^14, 2^16], <= N.

    A block costs ~12 ms of zarr writes, funnelled through the one event-loop thread of
    its process, against ~5 us of work per base point (2-core VM): blocks of 2^14 points
    and more keep that under a tenth, and keep workers from queueing on the loop. The cap
    bounds a block's kept rows (~170 MB with --keep-samples) and the work a crash loses;
    N/16 leaves tasks for several workers at moderate N.
    """
    return min(N, max(2**14, min(2**16, N // 16)))


def load(path, *, N=None, second_order=None, estimator=None, intervals=None,
         methods=None) -> Study:
    """Read and check a study file; StudyError lists every problem found.

    `N`, `second_order`, `estimator`, `intervals` and `methods` override the file's
    values (command-line options).
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
        return parse(raw, path, N=N, second_order=second_order, estimator=estimator,
                     intervals=intervals, methods=methods)
    except OSError as e:
        raise StudyError(path, [f"cannot read the file: {e.strerror}"]) from None
    except UnicodeDecodeError as e:
        raise StudyError(path, [f"not UTF-8 text (byte {e.object[e.start]:#04x} at offset "
                                f"{e.start}); save the study as UTF-8"]) from None
    except tomllib.TOMLDecodeError as e:
        raise StudyError(path, [f"not valid TOML: {e}"]) from None
    except RecursionError:
        raise StudyError(path, ["nested too deeply to be a study"]) from None


def parse(raw: dict, path="<study>", *, N=None, second_order=None, estimator=None,
          intervals=None, methods=None) -> Study:
    """Check a study already read from TOML (see :func:`load`)."""
    problems = []
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(f"{key}: unknown section or key; allowed: {', '.join(TOP_KEYS)}")
    name = raw.get("name", Path(str(path)).stem)
    if not _is_name(name):
        problems.append(f"name: {_short(name)} must be letters, digits, '_', '-' or '.' "
                        f"(not first), at most {NAME_MAX} characters")
    texts = {}
    for key in ("title", "description"):
        texts[key] = raw.get(key, "")
        if not isinstance(texts[key], str):
            problems.append(f"{key}: must be a string")

    model_table = raw.get("model", {})
    if not isinstance(model_table, dict):
        problems.append("model: must be a table")
        model_table = {}
    model_name = model_table.get("name", reesens.kernels.DEFAULT_MODEL)
    if not isinstance(model_name, str) or model_name not in model_names():
        problems.append(f"model.name: unknown model {_short(model_name)}; known models: "
                        f"{', '.join(model_names())} (a model of your own is a package "
                        "that registers one: docs/models.md)")
        raise StudyError(path, problems)
    try:
        model = get_model(model_name)
    except (ImportError, ValueError) as e:  # an installed model that fails to load
        problems.append(f"model.name: {model_name!r} cannot be loaded: {e}")
        raise StudyError(path, problems) from None
    options, swept = _check_options(model, model_table, problems)

    grid, grid_outputs = _check_grid(raw.get("grid"), model, problems)
    fixed, sampled = _check_parameters(raw.get("parameters", {}), "parameters", model,
                                       problems, require_all=True,
                                       given=set(raw["grid"]) if isinstance(raw.get("grid"),
                                                                            dict) else set())
    if grid:
        for name in sampled:
            if name not in grid:
                problems.append(f"parameters.{name}: sampled but not swept in [grid]; a grid "
                                "run needs every parameter fixed (value = x) or swept")
    elif not sampled and not problems:
        problems.append("parameters: at least one parameter must be sampled (dist = ...) "
                        "or swept in [grid]")
    scenarios = _check_scenarios(raw.get("scenario", []), model, fixed, sampled, problems)
    outputs = _check_outputs(raw.get("outputs", {}), model, problems)

    sampling = _settings(raw.get("sampling", {}), "sampling", SAMPLING_DEFAULTS, problems)
    if N is not None:
        sampling["N"] = N
    if second_order is not None:
        sampling["second_order"] = second_order
    if sampling["block_points"] is None and _power_of_two(sampling["N"]):
        sampling["block_points"] = default_block_points(sampling["N"])
    for key in ("N", "block_points"):
        if sampling[key] is None:  # block_points unset: it follows N, already reported
            continue
        if not _power_of_two(sampling[key]):
            problems.append(f"sampling.{key}: must be a power of two >= 1, got "
                            f"{_got(sampling[key])}{_nearest_powers(sampling[key])}")
    for key in ("second_order", "scramble"):
        if not isinstance(sampling[key], bool):
            problems.append(f"sampling.{key}: must be true or false")
    analysis = _settings(raw.get("analysis", {}), "analysis", ANALYSIS_DEFAULTS, problems)
    seeds = [("sampling.seed", sampling["seed"])]
    if analysis["seed"] is None:  # unset: the sampling seed, checked once
        analysis["seed"] = sampling["seed"]
    else:
        seeds.append(("analysis.seed", analysis["seed"]))
    if estimator is not None:
        analysis["estimator"] = estimator
    if analysis["estimator"] not in ESTIMATORS:
        problems.append(f"analysis.estimator: must be one of {', '.join(ESTIMATORS)}, got "
                        f"{analysis['estimator']!r}")
    if intervals is not None:
        analysis["intervals"] = intervals
    if methods is not None:
        analysis["methods"] = list(methods)
    if analysis["intervals"] not in INTERVALS:
        problems.append(f"analysis.intervals: must be one of {', '.join(INTERVALS)}, got "
                        f"{analysis['intervals']!r}")
    for where, value in seeds:
        # SALib treats seed 0 as "no seed": results would not be reproducible.
        if not (isinstance(value, int) and not isinstance(value, bool)
                and 1 <= value < 2**63):
            problems.append(f"{where}: must be an integer in [1, 2^63), got {_got(value)}")
    resamples = analysis["resamples"]
    if not (isinstance(resamples, int) and not isinstance(resamples, bool) and resamples >= 1):
        problems.append(f"analysis.resamples: must be an integer >= 1, got {resamples!r}")
    elif analysis["intervals"] == "bootstrap" and resamples < 2:
        problems.append(f"analysis.resamples: bootstrap intervals need >= 2 replicates, got "
                        f"{resamples}")
    scramblings = analysis["scramblings"]
    if analysis["intervals"] == "replicates":
        if not (isinstance(scramblings, int) and not isinstance(scramblings, bool)
                and 2 <= scramblings <= MAX_SCRAMBLINGS):
            problems.append(f"analysis.scramblings: must be an integer in [2, "
                            f"{MAX_SCRAMBLINGS}], got {_got(scramblings)}")
        if sampling["scramble"] is False:
            problems.append('analysis.intervals: "replicates" are independent scramblings '
                            "of the design; set sampling.scramble = true")
        if analysis["estimator"] == "salib":
            problems.append('analysis.intervals: "replicates" need the streaming '
                            "estimator (SALib's estimator has its own bootstrap intervals)")
    methods = _check_methods(analysis, sampling, problems)
    groups = _check_groups(analysis["groups"], sampled, model, problems)
    given = raw.get("sampling", {})  # what the file or the command line sets
    given = {**(given if isinstance(given, dict) else {}),
             **({"N": N} if N is not None else {}),
             **({"second_order": second_order} if second_order is not None else {})}
    _check_morris(sampling, analysis, given, methods, groups, problems)
    conf = analysis["conf_level"]
    if not (_is_number(conf) and 0 < conf < 1):
        problems.append(f"analysis.conf_level: must be in (0, 1), got {conf!r}")
    if problems:
        raise StudyError(path, problems)
    return Study(
        path=str(path), name=name, title=texts["title"], description=texts["description"],
        model=model, fixed=fixed, sampled=sampled, options=options, swept=swept,
        outputs=outputs, N=sampling["N"], second_order=sampling["second_order"],
        seed=sampling["seed"], scramble=sampling["scramble"],
        block_points=min(sampling["block_points"], sampling["N"]),
        resamples=resamples, conf_level=float(conf), analysis_seed=analysis["seed"],
        estimator=analysis["estimator"], intervals=analysis["intervals"],
        scramblings=scramblings if analysis["intervals"] == "replicates" else 1,
        methods=methods, slices=analysis["slices"], bins=analysis["bins"], groups=groups,
        design=sampling["design"], trajectories=sampling["trajectories"],
        levels=sampling["levels"], optimal_trajectories=sampling["optimal_trajectories"] or 0,
        scenarios=scenarios,
        grid=grid,
        grid_outputs=grid_outputs or tuple(v.name for v in model.outputs
                                           if v.name in outputs or v.flag_masks),
        raw=raw)


def _int_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_morris(sampling: dict, analysis: dict, given: dict, methods, groups,
                  problems) -> None:
    """sampling.design and, for a Morris design, its keys and what it cannot combine with;
    `given`: the sampling keys the file or the command line sets."""
    design = sampling["design"]
    if design not in DESIGNS:
        problems.append(f"sampling.design: must be one of {', '.join(DESIGNS)}, got "
                        f"{_got(design, takes_text=True)}")
        return
    morris_keys = ("trajectories", "levels", "optimal_trajectories")
    if design != "morris":
        for key in morris_keys:
            if key in given:
                problems.append(f"sampling.{key}: applies to design = \"morris\" only")
        return
    T, levels = sampling["trajectories"], sampling["levels"]
    if not _int_in(T, 2, MAX_TRAJECTORIES):
        problems.append(f"sampling.trajectories: must be an integer in [2, "
                        f"{MAX_TRAJECTORIES}], got {_got(T)}")
    if not (_int_in(levels, 2, 64) and levels % 2 == 0):
        problems.append(f"sampling.levels: must be an even integer in [2, 64], got "
                        f"{_got(levels)}")
    best = sampling["optimal_trajectories"]
    if best is not None and not (_int_in(T, 2, MAX_TRAJECTORIES) and _int_in(best, 2, T - 1)):
        problems.append(f"sampling.optimal_trajectories: must be an integer in [2, "
                        f"trajectories - 1], got {_got(best)}")
    for key, why in (("N", "a Morris design draws `trajectories`, not N base points"),
                     ("block_points", "a Morris design blocks its trajectories itself"),
                     ("second_order", "Morris screening has no second-order measure")):
        if key in given and not (key == "second_order" and given[key] is False):
            problems.append(f"sampling.{key}: {why}")
    other = [m.title for m in registry.methods() if m.name in methods and m.design != design
             and not m.required]
    if other:
        problems.append(f"analysis.methods: {', '.join(other)} read the Saltelli design's "
                        "A and B rows; a Morris design has none")
    if groups:
        problems.append("analysis.groups: grouped indices apply to the Saltelli design")
    if analysis["intervals"] == "replicates":
        problems.append('analysis.intervals: "replicates" are scramblings of the Saltelli '
                        "design; Morris intervals resample trajectories (analysis.resamples)")


def _check_groups(table, sampled, model, problems) -> dict[str, tuple[str, ...]]:
    """analysis.groups: {group: [sampled parameters]}, each parameter in one group at
    most (the others form a group of their own), group names that are no other
    parameter's."""
    if table is None:
        return {}
    where = "analysis.groups"
    if not isinstance(table, dict) or not table:
        problems.append(f"{where}: must be a table of group = [parameter, ...], got "
                        f"{_got(table)}")
        return {}
    seen, out = {}, {}
    for name, members in table.items():
        if not _is_name(name):
            problems.append(f"{where}: group name {_short(name)} must be letters, digits, "
                            "'_', '-' or '.'")
            continue
        if not (isinstance(members, list) and members
                and all(isinstance(m, str) for m in members)):
            problems.append(f"{where}.{name}: must be a non-empty list of sampled "
                            f"parameters, got {_got(members)}")
            continue
        for m in members:
            if m not in sampled:
                known = "a fixed parameter" if m in model.param_names else "not a parameter"
                problems.append(f"{where}.{name}: {_short(m)} is {known} of the study; a "
                                f"group holds sampled parameters ({', '.join(sampled)})")
            elif m in seen:
                problems.append(f"{where}.{name}: {m} is already in group {seen[m]}; a "
                                "parameter belongs to one group")
            else:
                seen[m] = name
        if name in model.param_names and members != [name]:
            problems.append(f"{where}.{name}: a group named after the parameter {name} "
                            "must hold that parameter alone")
        out[name] = tuple(members)
    return out


def _check_methods(analysis: dict, sampling: dict, problems) -> tuple[str, ...]:
    """analysis.methods as a tuple in the registry's order, each method's own checks
    (study.registry), analysis.slices and .bins."""
    methods, known = analysis["methods"], [m.name for m in registry.methods()]
    if not (isinstance(methods, list) and methods and all(isinstance(m, str) for m in methods)):
        problems.append(f"analysis.methods: must be a list of names from {', '.join(known)}, "
                        f"got {_got(methods)}")
        return tuple(m.name for m in registry.methods() if m.required)
    for m in methods:
        if m not in known:
            problems.append(f"analysis.methods: unknown method {_short(m)}; allowed: "
                            f"{', '.join(known)}")
    design = sampling["design"] if sampling["design"] in DESIGNS else DESIGNS[0]
    for method in registry.methods(design):
        if method.required and method.name not in methods:
            problems.append(f'analysis.methods: must include "{method.name}": '
                            f"{method.required}")
    given = analysis["slices"] is not None
    if not given:  # the same at every N: a store's identity must not change with N
        analysis["slices"] = DEFAULT_SLICES
    for key in ("slices", "bins"):
        if not _int_in(analysis[key], 2, MAX_CUTS):
            problems.append(f"analysis.{key}: must be an integer in [2, {MAX_CUTS}], got "
                            f"{_got(analysis[key])}")
    chosen = [m for m in registry.methods() if m.name in methods]
    for method in chosen:
        if method.check is not None:
            method.check(analysis, {**sampling, "slices_given": given}, problems)
    return tuple(m.name for m in chosen)


def _check_options(model, table, problems):
    """({option: [values]}, swept option names) from [model]; `concepts` = `concept`."""
    options, swept = {}, []
    known = set(model.options) | {f"{o}s" for o in model.options} | {"name"}
    for key in table:
        if key not in known:
            problems.append(f"model.{key}: unknown key; allowed: name, "
                            + ", ".join(f"{o} (or {o}s = [...])" for o in model.options))
    for option, allowed in model.options.items():
        given = [k for k in (option, f"{option}s") if k in table]
        if len(given) > 1:
            problems.append(f"model: give {option!r} or {option + 's'!r}, not both")
            continue
        value = table[given[0]] if given else allowed[0]
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if not isinstance(v, str) or v not in allowed]
        if bad or not values or len(set(values)) != len(values):
            problems.append(f"model.{given[0] if given else option}: {value!r} is not "
                            f"allowed; allowed: {', '.join(allowed)} (distinct, as a string "
                            "or a list)")
            continue
        options[option] = values
        if isinstance(value, list):
            swept.append(option)
    return options, tuple(swept)


def _check_outputs(table, model, problems):
    """Requested model outputs; default: every continuous output and every code output."""
    if not isinstance(table, dict) or set(table) - {"names"}:
        problems.append("outputs: allowed key: names = [output, ...]")
        return ()
    usable = [v.name for v in model.outputs if not v.flag_masks]
    default = [v.name for v in model.outputs
               if v.flag_values or v.dtype.startswith("float")]
    names = table.get("names", default)
    if not isinstance(names, list) or not names:
        problems.append("outputs.names: must be a non-empty list of output names")
        return ()
    bad = [n for n in names if not isinstance(n, str) or n not in usable]
    for n in bad:
        problems.append(f"outputs.names: {_short(n)} is not an output that has Sobol "
                        f"indices; allowed: {', '.join(usable)}")
    return () if bad else tuple(dict.fromkeys(names))


def _check_scenarios(blocks, model, fixed, sampled, problems):
    """{name: (fixed, sampled)}: each scenario overrides some base parameters."""
    if not isinstance(blocks, list):
        problems.append("scenario: must be [[scenario]] tables")
        return {}
    scenarios = {}
    for i, block in enumerate(blocks):
        where = f"scenario[{i}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: must be a table")
            continue
        extra = set(block) - {"name", "parameters", "description", *_NOTE_KEYS}
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}; allowed: name, "
                            "description, parameters, note, source")
        _check_notes(block, where, problems)
        name = block.get("name")
        if not _is_name(name) or name in scenarios:
            problems.append(f"{where}.name: needs a distinct name of letters, digits, "
                            f"'_', '-', '.', at most {NAME_MAX} characters; got "
                            f"{_short(name)}")
            continue
        own_fixed, own_sampled = _check_parameters(
            block.get("parameters", {}), f"{where}.parameters", model, problems,
            require_all=False)
        merged_fixed = {k: v for k, v in fixed.items() if k not in own_sampled}
        merged_fixed.update(own_fixed)
        merged_sampled = {k: v for k, v in sampled.items() if k not in own_fixed}
        merged_sampled.update(own_sampled)
        if set(merged_sampled) != set(sampled):
            problems.append(f"{where}.parameters: a scenario may change how a parameter is "
                            "fixed or distributed but not which ones are sampled "
                            f"(sampled in the study: {', '.join(sampled)})")
        scenarios[name] = (merged_fixed, merged_sampled)
    return scenarios


def _check_grid(table, model, problems):
    """({parameter: increasing values} in model order, outputs) from [grid]; ({}, ()) if
    there is none. An axis is `linspace = [start, stop, num]`, `logspace = [start, stop,
    num]` (geometric, start and stop > 0) or `values = [...]`."""
    if table is None:
        return {}, ()
    if not isinstance(table, dict) or not table:
        problems.append("grid: must be a table of swept parameters")
        return {}, ()
    variables = {v.name: v for v in model.params}
    outputs = ()
    if "outputs" in table:
        names, known = table["outputs"], [v.name for v in model.outputs]
        if not (isinstance(names, list) and names and all(n in known for n in names)):
            problems.append(f"grid.outputs: must be a non-empty list of outputs of "
                            f"{model.name!r}: {', '.join(known)}; got {names!r}")
        else:
            outputs = tuple(dict.fromkeys(names))
    axes = {}
    for name, spec in table.items():
        where = f"grid.{name}"
        if name == "outputs":
            continue
        if name not in variables:
            problems.append(f"{where}: unknown parameter; model {model.name!r} has "
                            f"{', '.join(variables)} (and grid.outputs)")
            continue
        keys = [k for k in GRID_SPACINGS if isinstance(spec, dict) and k in spec]
        if len(keys) != 1 or set(spec) - {keys[0], *_NOTE_KEYS}:
            problems.append(f"{where}: give exactly one of linspace = [start, stop, num], "
                            "logspace = [start, stop, num], values = [...]")
            continue
        values = _axis_values(keys[0], spec[keys[0]], f"{where}.{keys[0]}", problems)
        if values is None:
            continue
        outside = [x for x in values if not variables[name].contains(x)]
        if outside:
            problems.append(f"{where}: {outside[0]!r} is outside the domain; allowed: "
                            f"{variables[name].domain_text()}")
            continue
        axes[name] = values
    return {n: axes[n] for n in model.param_names if n in axes}, outputs


def _axis_values(kind, spec, where, problems):
    """The axis' float values (strictly increasing), or None with a problem recorded."""
    if kind == "values":
        ok = isinstance(spec, list) and spec and all(_is_number(x) and math.isfinite(x)
                                                     for x in spec)
        values = tuple(float(x) for x in spec) if ok else ()
        if ok and len(values) > MAX_AXIS_VALUES:
            problems.append(f"{where}: {len(values):,} values are more than the "
                            f"{MAX_AXIS_VALUES:,} one axis may have")
            return None
        if not ok or any(b <= a for a, b in zip(values, values[1:])):
            problems.append(f"{where}: must be a non-empty list of finite numbers in "
                            f"increasing order; got {spec!r}")
            return None
        return values
    ok = (isinstance(spec, list) and len(spec) == 3 and all(_is_number(x) for x in spec[:2])
          and isinstance(spec[2], int) and not isinstance(spec[2], bool) and spec[2] >= 1
          and all(math.isfinite(x) for x in spec[:2]))
    if not ok or (spec[2] > 1 and not spec[0] < spec[1]):
        problems.append(f"{where}: must be [start, stop, num] with start < stop finite and "
                        f"num an integer >= 1; got {spec!r}")
        return None
    if spec[2] > MAX_AXIS_VALUES:
        problems.append(f"{where}: num = {spec[2]:,} is more than the {MAX_AXIS_VALUES:,} "
                        "values one axis may have; a coarser grid (a smaller num) fits")
        return None
    if kind == "logspace" and not spec[0] > 0:
        problems.append(f"{where}: start must be > 0 for geometric spacing; got {spec[0]!r}")
        return None
    space = np.linspace if kind == "linspace" else np.geomspace
    return tuple(float(x) for x in space(float(spec[0]), float(spec[1]), spec[2]))


def _short(value) -> str:
    """repr of a value, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
