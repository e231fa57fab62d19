"""The sensitivity methods a study can ask for, and the per-block statistics they read.

A method (sobol, pawn, delta, given_data, morris, or one of a user's) is one `Method`:
its study checks, the `Statistic` it reads of the rows, how it turns the merged statistic
into result groups (xarray Datasets with CF attributes), and how those groups read in
`reesens show`, a report and `reesens export`. A statistic is a per-block accumulator:
the arrays a block stores, how a chunk of evaluated rows adds to them, and how stored
blocks merge, exactly and in block order. Several methods may read one statistic (PAWN,
delta and the given-data S1 read the same per-slice counts); it is computed once.

The study's checks, the run loop, the store's template, limits, report, export and the
command line iterate over this registry and name no method. Methods are found through the
entry point group `reesens.methods`: reesens' own (`reesens.methods.builtin`, which
imports them in their order) and those of installed packages; a method registers itself
when its module is imported (docs/design.md shows one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points

import numpy as np


@dataclass(frozen=True)
class BlockArray:
    """An array a statistic stores per block: one chunk per block on ("block", *dims)."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: type | str
    fill: float | int
    attrs: dict


@dataclass(frozen=True)
class Plan:
    """What a Monte Carlo run computes, as its statistics see it: the study, the
    estimator it runs ("streaming" or "salib") and the analysed series (spec: the
    candidate series, evaluate.cases.series; labels: the blocks group's series labels,
    every case and series)."""

    study: object
    estimator: str
    spec: tuple
    labels: tuple


@dataclass
class Chunk:
    """Rows evaluated together inside a block: base points [start, start + points).

    outputs: the model's outputs {name: (*case_shape, rows)} and "_params" (scenarios,
    rows, D); series: float64 (*case_shape, series, rows), the analysed series' values;
    rows in Saltelli order (k rows per point). memo: what several statistics read of the
    chunk, found once (methods.counts.chunk_slices)."""

    start: int
    points: int
    outputs: dict
    series: np.ndarray
    memo: dict = field(default_factory=dict, repr=False, compare=False)


class Statistic:
    """A per-block accumulator. Subclasses set `name` (and `what`, in words, for errors)
    and implement the methods below. `plan` is the run's Plan; `context` what `prepare`
    returned (computed once per run, before any block, and sent to every worker)."""

    name: str = ""
    what: str = ""
    read_slice: int = 64  # stored blocks read back at a time while merging
    order: float = 100  # where its arrays come in the blocks group

    def wanted(self, plan: Plan) -> bool:
        """Whether a run computes the statistic: one of its methods reads it."""
        return any(m.statistic == self.name for m in selected(plan.study))

    def identity(self, plan: Plan) -> dict:
        """Entries of the store's identity: what must match for its blocks to be resumed."""
        return {}

    def prepare(self, plan: Plan):
        """The context: what every block needs that is fixed before the first (a pilot)."""
        return None

    def template(self, plan: Plan, context) -> tuple[dict[str, BlockArray], dict]:
        """({name: BlockArray}, {name: xarray coordinate}) added to the blocks group."""
        raise NotImplementedError

    def start(self, plan: Plan, context):
        """An empty accumulator for one block."""
        raise NotImplementedError

    def add(self, state, plan: Plan, context, chunk: Chunk) -> None:
        """Add a chunk of the block's rows, in row order."""
        raise NotImplementedError

    def fused(self, plan: Plan, context) -> bool:
        """Whether it adds whole blocks itself, from the block's base points alone
        (add_block), with no evaluated rows; a run fuses when every statistic does."""
        return False

    def add_block(self, state, plan: Plan, context, start: int, points: int) -> None:
        """Add base points [start, start + points), the whole block (when fused)."""
        raise NotImplementedError

    def stored(self, state, plan: Plan, context) -> dict[str, np.ndarray]:
        """The block's arrays as template() declares them (without the block axis)."""
        raise NotImplementedError

    def merge(self, plan: Plan, context, blocks: dict[str, np.ndarray], merged=None):
        """`merged` (None at first) with the stored blocks {name: (blocks, ...)} added,
        in block order."""
        raise NotImplementedError

    def names(self, plan: Plan) -> tuple[str, ...]:
        """The names of the arrays template() declares, in its order (known before
        `prepare`: the store's identity, its units and the run's reads use them)."""
        raise NotImplementedError

    def needs(self, plan: Plan, *, N: int, workers: int, todo: int, merging: int) -> list:
        """Memory and disk the statistic takes in a run at N base points per design
        (core.needs.Need): `todo` blocks still to do, `merging` blocks read back at once."""
        return []

    def seconds(self, plan: Plan, *, N: int, workers: int, blocks: int
                ) -> tuple[float, float, float]:
        """Rough seconds it adds to a run of `blocks` blocks: (per row, per block, once)."""
        return 0.0, 0.0, 0.0


@dataclass(frozen=True)
class Method:
    """A sensitivity method.

    name: its `analysis.methods` entry; title: in words; groups: the result groups it
    writes; statistic: the name of the Statistic it reads (None: it reads what its run
    gives it, as the Sobol' indices and Morris screening do); design: "saltelli" or
    "morris"; export: {group: variables}, each a value with optional `<name>_conf`
    (half-width) and `<name>_null` (null level) beside it.

    check(analysis, sampling, problems): problems appended for settings the method cannot
    take (the study's [analysis] and [sampling] tables, defaults filled in).
    results(plan, merged, run) -> {group: Dataset}: `merged` maps each statistic the run
    computed to its merged value per independent design; `run` (runs.montecarlo.Level)
    gives N, the workers, the groups computed so far and the context of each statistic.
    show(groups, options) -> text for `reesens show` ("" for nothing).
    report(page) -> Markdown lines of the report (page: present.report.Page, which opens
    the store's groups and draws figures).
    widest(groups) -> the widest half-width a run doubling N towards a target compares
    with the target, and convergence(levels, target) -> {group: Dataset} of each level's
    estimates: for the method that steers such a run (None for the others).
    result_size(plan, target) -> (groups, bytes) its results take at most (limits).
    """

    name: str
    title: str
    groups: tuple[str, ...]
    statistic: str | None = None
    reads: tuple[str, ...] = ()  # parts of the statistic it reads that cost extra
    design: str = "saltelli"
    required: str = ""  # why every study of its design includes it ("": optional)
    order: int = 100  # where it comes among the methods (tables, report, results)
    export: dict = field(default_factory=dict)
    check: object = None
    results: object = None
    show: object = None
    report: object = None
    widest: object = None
    convergence: object = None
    result_size: object = None


_METHODS: dict[str, Method] = {}
_STATISTICS: dict[str, Statistic] = {}


def register(method: Method, statistic: Statistic | None = None) -> Method:
    """Add a method (and the statistic it reads, when it brings one); refuses a name or
    a result group already taken by another method."""
    taken = {g: m.name for m in _METHODS.values() for g in m.groups if m.name != method.name}
    clash = [g for g in method.groups if g in taken]
    if clash:
        raise ValueError(f"method {method.name!r}: result group {clash[0]!r} is already "
                         f"method {taken[clash[0]]!r}'s")
    if statistic is not None:
        _STATISTICS[statistic.name] = statistic
    if method.statistic is not None and method.statistic not in _STATISTICS:
        raise ValueError(f"method {method.name!r} reads statistic {method.statistic!r}, "
                         "which is not registered")
    _METHODS[method.name] = method
    return method


def register_statistic(statistic: Statistic) -> Statistic:
    """Add a statistic that a method's run reads beside its own (e.g. every row's values
    for one estimator)."""
    _STATISTICS[statistic.name] = statistic
    return statistic


def unregister(name: str) -> None:
    """Remove a method (tests that register their own)."""
    method = _METHODS.pop(name)
    if method.statistic and not any(m.statistic == method.statistic for m in _METHODS.values()):
        _STATISTICS.pop(method.statistic, None)


_LOADED = []  # whether the entry points were imported


def _load() -> None:
    """Import the modules of the entry point group `reesens.methods` once, reesens' own
    first: each registers its methods (in its own order)."""
    if _LOADED:
        return
    _LOADED.append(True)
    found = sorted(entry_points(group="reesens.methods"), key=lambda e: e.name != "reesens")
    for entry in found:
        entry.load()


def methods(design: str | None = None) -> list[Method]:
    """Every registered method (of one design), in registration order."""
    _load()
    ordered = sorted(_METHODS.values(), key=lambda m: m.order)  # stable: then registration
    return [m for m in ordered if design is None or m.design == design]


def statistics(plan: Plan | None = None) -> list[Statistic]:
    """The statistics a run computes (every registered one without a plan), by their
    `order` (the blocks group's array order), then registration."""
    methods()
    ranked = sorted(_STATISTICS.values(), key=lambda s: s.order)
    return [s for s in ranked if plan is None or s.wanted(plan)]


def selected(study) -> list[Method]:
    """The study's methods, in registration order."""
    return [m for m in methods() if m.name in study.methods]


def of_group(group: str) -> Method | None:
    """The method that writes result group `group`, or None (summary, samples, grid)."""
    return next((m for m in methods() if group in m.groups), None)
