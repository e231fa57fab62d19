"""Study files: load a TOML study, check all of it before any work, return a Study.

A study names a registered model, gives every parameter either a fixed `value` or a
SALib distribution, and says how to sample and analyse. Every problem found is reported
in one StudyError, each line naming the file, the field and what is allowed. TOML is
data only (tomllib), so no study file can run code.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import product

import reesens.kernels  # noqa: F401  (registers the shipped models)
from reesens.kernels.registry import Model

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
                     "intervals": "auto", "scramblings": 8, "methods": ["sobol"],
                     "slices": None, "bins": 32, "groups": None, "regions": None,
                     "prim_threshold": 0.95, "peel_alpha": 0.05, "paste_alpha": 0.05,
                     "mass_min": 0.05, "reservoir_points": 2**13, "tree_depth": 3}
ESTIMATORS = ("auto", "salib", "streaming")
# the streaming estimator's intervals: Student t over `scramblings` independent
# scramblings of the design (N / scramblings base points each), delta method, or Poisson
# bootstrap (`resamples` replicates); "auto" is "replicates" where the design is
# scrambled and N splits into them (else "delta"), and the default. SALib's estimator
# always gives its own resampling bootstrap
INTERVALS = ("auto", "replicates", "delta", "bootstrap")
MAX_CUTS = 1024  # slices per parameter, bins per output
DEFAULT_SLICES = 32  # slices per parameter when the study does not say
# A and B rows per slice of each design below which PAWN's and delta's null levels are not
# stated: on Sobol' rows with fewer, a parameter the baseline's outputs ignore read above
# its 95% null level in up to 1 in 3 cases (16 and 32 rows per slice), with 64 and more
# in at most 1 in 10 cells of delta and none of PAWN (docs/testing.md)
NULL_ROWS_PER_SLICE = 64
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
    scramblings: int = 1  # independent scramblings (intervals = "replicates"): N split
    #                       among them
    methods: tuple[str, ...] = ("sobol",)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> parameters
    regions: dict[str, str] = field(default_factory=dict)  # name -> condition (conditions)
    where: dict = field(default_factory=dict)  # prim and rules settings ([analysis])
    design: str = "saltelli"
    trajectories: int = 100  # Morris: trajectories drawn (design = "morris")
    levels: int = 4  # Morris: grid levels
    optimal_trajectories: int = 0  # Morris: the most spread this many of them (0: all)
    slices: int = DEFAULT_SLICES  # equiprobable slices per parameter (methods.counts)
    bins: int = 32  # bins per continuous output (methods.counts)
    scenarios: dict[str, tuple[dict[str, float], dict[str, Distribution]]] = field(
        default_factory=dict)
    grid: dict[str, tuple[float, ...]] = field(default_factory=dict)
    grid_outputs: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict)

    @property
    def design_N(self) -> int:
        """Base points of each independent scrambling of the design: N split among them."""
        return self.N // self.scramblings

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
