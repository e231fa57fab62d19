"""What a study needs of this machine, estimated before any work, and refusals of what
cannot fit.

A Monte Carlo run needs memory for each worker's block (evaluate.EVAL_POINTS base points of rows
evaluated at a time, a block's kept rows, its bootstrap replicates, its per-slice counts),
for merging the stored block statistics and counts and computing the measures from them,
and with the SALib estimator for every row of every series; it needs disk for every
block's statistics, bootstrap replicates, per-slice counts and kept rows, and for the
results groups and the store's metadata. A Morris design needs memory for its
trajectories (and SALib's distance matrix when it selects the most spread of them) and
for analysing every row's values, and disk for those values. A grid needs disk for every
cell of every output. Estimates of a run's disk are upper bounds: stored chunks are
compressed (zstd), counted here at their raw size (per-slice counts: at the most zstd
takes for counts of their size, see stored_counts) plus a file-system block per file; a
grid's disk is estimated from how well sample chunks of it compress (runs.grid.
stored_share), with its raw size as the most it can take; memory is the largest
of a run's phases (drawing a design, evaluating blocks, merging them). A resumed run
needs disk only for the units (blocks, grid chunks) not yet done. A study that needs
more than the memory available (MemAvailable) or the disk free where its store goes is
refused with the estimate, the field that drives it and the setting that would fit; so
is a selection of optimal Morris trajectories that would take more than
MAX_SELECTION_SECONDS (it runs before any store is written, and again on each resume).

Time: `run_seconds`, `morris_seconds` and `grid_seconds` say roughly how long the work
takes (an order of magnitude), from constants measured on a 2-core AMD EPYC VM
(2026-12-03, while other work ran on it): seconds per model row of each shipped model,
per row and series, per byte written and read, per block, and SALib's costs; each
statistic declares its own (study.registry.Statistic.seconds).
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from reesens.core.needs import BYTE_S, READ_S, Need
from reesens.design import grid as grid_design
from reesens.design import morris as morris_design
from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.evaluate import series as series_spec_of
from reesens.store import cube, ownership
from reesens.store import layout as store
from reesens.store.ownership import StoreError
from reesens.study import registry
from reesens.study.schema import Study

FILE_BYTES = 4096  # a file system's block: the least a chunk file takes on disk
META_BYTES = 2048  # an array's metadata in the root's consolidated copy (< 1.1 kB measured)
ROOT_BYTES = 32768  # the root's own attributes (provenance, command), beside the study
MORRIS_COPIES = 3  # SALib's trajectories: its list, its array, our unit-cube copy
MAX_SELECTION_SECONDS = 3600  # refused beyond: SALib's selection runs before any store
QUICK_SECONDS = 60  # what a refused selection is offered instead: about a minute
GROUP_ARRAYS = 24  # arrays in a results group at most (coordinates included)
RUN_BYTES = 8 * 2**20  # a run's own objects: datasets, zarr's and xarray's (< 2 MB traced)

# Seconds per unit of work, measured on a 2-core AMD EPYC VM (2026-12-03, other work
# running beside), rounded up (the measurements in brackets):
SAMPLE_S = 10e-9  # a row's parameter: Sobol' point and SALib's transform (8.3 ns)
UNIFORM_S = 2e-9  # a row's parameter: Sobol' point and kernels.qmc's uniform map (1.3 ns)
BLOCK_S = 0.01  # a block's or grid chunk's files, digests and done flag (9 ms, Morris)
GRID_CELL_S = 20e-9  # a grid cell besides the model: its parameters set, its outputs copied
MORRIS_DRAW_S = 300e-6  # SALib's Morris sample: a trajectory (155-260 us, D = 3..9)
MORRIS_EE_S = 10e-9  # elementary effects: a trajectory, parameter and step (7-9 ns)
MORRIS_BOOT_S = 12e-9  # Morris intervals: a trajectory, parameter and resample (7-16 ns)
DIST_CALL_S = 12e-6  # SALib's selection: one pair of trajectories' distance (8-12 us)
SET_CALL_S = 15e-6  # SALib's selection: one candidate set's distance sum (10-12 us)
PAIR_S = 0.4e-6  # SALib's selection: a pair of trajectories within a candidate set
ARGSORT_S = 8e-9  # SALib's selection: argsort of a distance row, per entry and halving
OVERHEAD = 1.2  # a whole run's rows over their parts (baseline, N = 2^22: 585 ns a row)
START_S = 1.0  # a run's pilot, template and results, beyond its blocks (N = 2^16: 1.5 s)
# A model row of one case, for a model that declares no cost of its own (Model.row_seconds,
# measured for the shipped models; not timed when a study is validated: a kernel's first
# call in a process loads numba, 0.5-0.7 s, more than validating costs).
OTHER_MODEL_ROW_S = 1e-6


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable), or 4 GiB if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 2**30


def free_disk(path: Path) -> int:
    """Bytes free on the file system that holds `path` (or its nearest existing parent)."""
    return shutil.disk_usage(_existing(path)).free


def results_disk(study: Study, *, groups: int, arrays: int, values: int,
                 study_bytes: int | None = None) -> int:
    """Bytes of a store's metadata and results: `groups` groups of `arrays` arrays in all
    (each: its zarr.json and a chunk file at least, its copy in the root's consolidated
    metadata), `values` raw bytes of results, the study (twice: root and provenance)."""
    if study_bytes is None:
        study_bytes = len(store.study_json(study).encode())
    return (arrays * (2 * FILE_BYTES + META_BYTES) + values + groups * 2 * FILE_BYTES
            + ROOT_BYTES + 2 * study_bytes)


def run_needs(study: Study, *, N: int, estimator: str, workers: int, keep_samples: bool,
              done: int = 0, target: bool = False) -> list[Need]:
    """Memory and disk a Monte Carlo run of the study at N base points per design needs
    (all `scramblings` designs of N points): the run's own, each statistic's
    (study.registry.Statistic.needs) and each method's results; `done`: blocks of this
    run already in its store, whose disk is taken; `target`: a --target-ci run."""
    D, second = len(study.columns), study.second_order
    k = sampling.rows_per_point(D, second)
    R = study.scramblings
    plan = series_spec_of.plan(study, estimator)
    statistics = registry.statistics(plan)
    cases = math.prod(evaluate.case_shape(study))
    scenarios = len(study.scenario_items())
    series = len(plan.labels)
    outputs = cases * len(study.outputs)
    per = N // study.block_points  # blocks of one design
    todo = max(0, R * per - done)
    bp = study.block_points
    P = len(study.sampled_names)
    row_bytes = 8 * (P * scenarios + outputs + series)  # parameters, outputs, series
    kept = 8 * bp * k * (P * scenarios + outputs)
    members = sum(len(s.names(plan)) for s in statistics) + (
        P + len(study.outputs) if keep_samples else 0)
    chunk = min(bp, evaluate.EVAL_POINTS)
    fewer = "a smaller N" + (" or fewer scramblings" if R > 1 else "")
    needs = [
        Need("memory", "the run's own objects", RUN_BYTES, "sampling.N", fewer),
        Need("memory", "evaluating rows (per worker)", workers * 3 * chunk * k * row_bytes,
             "sampling.block_points", "a smaller block_points or fewer --workers",
             "blocks"),
        Need("disk", "block files and digests", todo * (8 * members
                                                       + FILE_BYTES * (4 + members)),
             "sampling.N", fewer),
    ]
    for statistic in statistics:
        needs += statistic.needs(plan, N=N, workers=workers, todo=todo,
                                 merging=min(per, statistic.read_slice))
    if keep_samples:
        needs += [Need("memory", "a block's rows kept in memory (per worker)",
                       workers * bp * k * row_bytes, "sampling.block_points",
                       "a smaller block_points", "blocks"),
                  Need("disk", "kept sample rows (--keep-samples)", todo * kept,
                       "--keep-samples", "no --keep-samples, or a smaller N")]
    # results: each method's groups; the blocks' coordinates; every array's metadata
    n_groups, values = 1 + (1 if keep_samples else 0), 0
    for method in registry.selected(study):
        if method.result_size is not None:
            groups, size = method.result_size(plan, target)
            n_groups, values = n_groups + groups, values + size
    arrays = n_groups * GROUP_ARRAYS + members
    needs.append(Need("disk", "results and the store's metadata", results_disk(
        study, groups=n_groups, arrays=arrays, values=values), "sampling.N", fewer))
    return needs


def morris_needs(study: Study, workers: int, *, done: int = 0,
                 scheduler: str = "threads") -> list[Need]:
    """Memory and disk a Morris run of the study needs (`done`: blocks of this run
    already in its store; `scheduler` "processes": each worker holds the design)."""
    P = len(study.sampled_names)
    drawn = study.trajectories
    T = study.optimal_trajectories or drawn
    scenarios = len(study.scenario_items())
    cases = math.prod(evaluate.case_shape(study))
    series = cases * len(series_spec_of.series_spec(study))
    per = morris_design.TRAJECTORIES_PER_BLOCK * (P + 1)
    n_blocks = -(-T // morris_design.TRAJECTORIES_PER_BLOCK)
    todo = max(0, n_blocks - done)
    rows = 8 * T * (P + 1) * P  # one scenario's rows
    draw = MORRIS_COPIES * 8 * drawn * (P + 1) * P
    if study.optimal_trajectories:  # SALib's distance matrix (float32), index tuples
        draw += 4 * drawn * drawn + 16 * drawn * study.optimal_trajectories
    values = 8 * series * n_blocks * per
    analysis = 2 * 8 * T * P * P + 3 * 8 * study.resamples * T
    copies = workers if scheduler == "processes" else 1
    fewer = "fewer trajectories"
    needs = [
        Need("memory", "the design's rows and the run's own objects",
             (1 + copies * scenarios) * rows + RUN_BYTES,
             "sampling.trajectories", fewer),
        Need("memory", "drawing the trajectories (SALib)", draw, "sampling.trajectories",
             fewer, "design"),
        Need("memory", "evaluating blocks of trajectories (per worker)",
             workers * 3 * per * 8 * (P * scenarios + series), "sampling.trajectories",
             fewer, "blocks"),
        Need("memory", "every row's values, analysed", 2 * values + analysis,
             "sampling.trajectories", fewer, "merge"),
        Need("disk", "every row's values",
             todo * (values // n_blocks + 16 + 3 * FILE_BYTES), "sampling.trajectories",
             fewer),
        Need("disk", "results and the store's metadata", results_disk(
            study, groups=2, arrays=2 * GROUP_ARRAYS,
            values=scenarios * rows + 6 * 8 * series * P + 512 * series),
            "sampling.trajectories", fewer),
    ]
    return needs


def grid_needs(study: Study, workers: int, done: int = 0, share: float = 1.0) -> list[Need]:
    """Memory and disk a grid sweep of the study needs (`done`: chunks of this sweep
    already in its store; `share`: disk per raw byte of the outputs, runs.grid.
    stored_share; 1, the raw size, is the most it can take)."""
    cells = grid_cells(study)
    itemsize = {v.name: np.dtype(v.dtype).itemsize for v in study.model.outputs}
    cell_bytes = sum(itemsize[name] for name in study.grid_outputs)
    chunks = math.ceil(cells / grid_design.CHUNK_CELLS)
    todo = max(0, chunks - done)
    axis_bytes = 8 * sum(len(v) for v in study.grid.values())
    counts = grid_design.GridPlan.of(study).chunk_counts
    # a chunk's file sits in a directory per dim but the last (zarr's c/i/j/.../key)
    folders = 2 + sum(math.prod(counts[:k]) for k in range(1, len(counts)))
    # a chunk's files: its outputs', its flag's, its digests' and its code counts'
    per_chunk = len(study.grid_outputs) + 2 + bool(cube.counted(study))
    return [
        Need("disk", "the grid cube", math.ceil(cells * todo / chunks * cell_bytes * share)
             + todo * per_chunk * FILE_BYTES + axis_bytes
             + len(study.grid_outputs) * folders * FILE_BYTES
             # every array's own folder, chunk folder and metadata; an axis's values
             + (per_chunk + len(counts)) * 3 * FILE_BYTES
             + len(counts) * FILE_BYTES + ROOT_BYTES + 2 * FILE_BYTES,
             "grid", "a coarser grid (fewer values on some axis) or fewer grid.outputs"),
        Need("memory", "evaluating grid chunks (per worker)",
             # a chunk's outputs and the int32 index its codes are counted by
             workers * (grid_design.CHUNK_CELLS * (cell_bytes + 4)
                        + 2 * grid_design.EVAL_CELLS * (len(study.model.params) + len(itemsize)) * 8)
             + 64 * chunks, "grid", "a coarser grid"),
    ]


def grid_cells(study: Study) -> int:
    """Cells of the study's grid cube: swept options times grid values."""
    options = math.prod(len(study.options[o]) for o in study.options if o in study.swept)
    return options * math.prod(len(v) for v in study.grid.values())


def _have(store: Path) -> dict[str, int]:
    return {"memory": available_memory(), "disk": free_disk(store)}


def _fits(needs: list[Need], have: dict[str, int]) -> bool:
    return all(total(needs, r) <= have[r] for r in have)


def problems(needs: list[Need], store: Path, fit=None) -> list[str]:
    """For each resource whose needs exceed what this machine has (available memory,
    free disk where `store` goes): the largest need, its field and `fit(field)`, the
    setting that would fit (None: say what needs less)."""
    have = _have(store)
    where = {"memory": "available memory", "disk": f"free disk at {_existing(store)}"}
    out = []
    for resource in ("memory", "disk"):
        mine = [n for n in needs if n.resource == resource]
        if total(mine, resource) <= have[resource]:
            continue
        worst = max(mine, key=lambda n: n.bytes)
        setting = fit(worst.field) if fit else None
        out.append(f"{worst.field}: the study needs about "
                   f"{size(total(mine, resource))} of {resource} ({worst.what}: "
                   f"{size(worst.bytes)}), more than the {size(have[resource])} of "
                   f"{where[resource]}; "
                   + (f"{setting} would fit" if setting else f"{worst.fix} needs less"))
    return out


def refuse_what_cannot_fit(study: Study, needs: list[Need], store: Path, fit=None,
                           more: list[str] = ()) -> None:
    """StoreError naming each problem (see `problems`) and `more`, one line each."""
    found = problems(needs, store, fit) + list(more)
    if found:
        raise StoreError("\n".join(f"{study.path}: {p}" for p in found))


def _existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists."""
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    return path


def check_run(study: Study, store: Path, *, N: int, estimator: str, workers: int,
              keep_samples: bool, done: int = 0, target: bool = False) -> list[Need]:
    """Refuse a run at N base points per design that cannot fit (StoreError, saying which
    N, resamples or bins would fit when halving one of them does; `done`:
    blocks of this run already in its store); returns its needs."""
    options = dict(N=N, estimator=estimator, workers=workers, keep_samples=keep_samples,
                   done=done, target=target)
    needs = run_needs(study, **options)

    def fit(field: str) -> str | None:
        have = _have(store)
        if field == "sampling.N":
            n = N // 2
            while n >= study.block_points and not _fits(run_needs(study, **{
                    **options, "N": n}), have):
                n //= 2
            return f"N = {n} (2^{n.bit_length() - 1})" if n >= study.block_points else None
        if field == "analysis.resamples":
            r = study.resamples // 2
            while r >= 2 and not _fits(run_needs(replace(study, resamples=r), **options),
                                       have):
                r //= 2
            return f"resamples = {r}" if r >= 2 else None
        if field == "analysis.bins":
            b = study.bins // 2
            while b >= 2 and not _fits(run_needs(replace(study, bins=b), **options), have):
                b //= 2
            return f"bins = {b}" if b >= 2 else None
        return None

    refuse_what_cannot_fit(study, needs, store, fit)
    return needs


def check_morris(study: Study, store: Path, workers: int, *, done: int = 0,
                 scheduler: str = "threads") -> list[Need]:
    """Refuse a Morris run that cannot fit (StoreError, saying which trajectories would
    fit when halving them does), or whose selection of optimal trajectories would take
    more than MAX_SELECTION_SECONDS (saying which optimal_trajectories, or trajectories,
    would take about QUICK_SECONDS); returns its needs."""
    options = dict(done=done, scheduler=scheduler)
    needs = morris_needs(study, workers, **options)

    def fit(field: str) -> str | None:
        have = _have(store)
        t = study.trajectories // 2
        while t >= 2 and not _fits(morris_needs(_trajectories(study, t), workers,
                                                **options), have):
            t //= 2
        if t < 2:
            return None
        best = _trajectories(study, t).optimal_trajectories
        return f"trajectories = {t}" + (f" (optimal_trajectories = {best})" if best
                                        else "")

    refuse_what_cannot_fit(study, needs, store, fit, _selection_problems(study))
    return needs


def _trajectories(study: Study, t: int) -> Study:
    """The study with `t` trajectories drawn (optimal_trajectories capped below t)."""
    best = study.optimal_trajectories
    return replace(study, trajectories=t,
                   optimal_trajectories=min(best, t - 1) if best and t > 2 else 0)


def selection_work(drawn: int, best: int) -> tuple[int, int, int, int]:
    """(distances, sets, pairs, argsorts): what SALib's local optimisation (Ruano et al.
    2012, as SALib 1.5 codes it) computes to select `best` of `drawn` trajectories: each
    ordered pair's distance, then for i = 1 .. best - 1 each row's best set of i + 1 and,
    growing it one trajectory at a time to `best`, every candidate set's distance sum
    (sets) over its pairs (pairs); argsorts: distance rows sorted."""
    T, k = drawn, best
    if k < 2:
        return 0, 0, 0, 0
    # each i: T rows' sets of i + 1; then sets of s + 1 = i + m + 1, s < k, one for each
    # trajectory not yet in; and the set kept, of k, once more
    sets = T * (k - 1) + T * math.comb(k - 1, 2) - 2 * math.comb(k, 3) + (k - 1)
    pairs = (T * math.comb(k + 1, 3) + 3 * (T + 2) * math.comb(k + 1, 4)
             - 12 * math.comb(k + 2, 5) + (k - 1) * math.comb(k, 2))
    return T * (T - 1), sets, pairs, T * (k - 1)


def selection_seconds(drawn: int, best: int) -> float:
    """Seconds SALib takes to select `best` of `drawn` trajectories, roughly."""
    distances, sets, pairs, argsorts = selection_work(drawn, best)
    return (distances * DIST_CALL_S + sets * SET_CALL_S + pairs * PAIR_S
            + argsorts * drawn * math.log2(drawn + 1) * ARGSORT_S)


def _largest(low: int, high: int, ok) -> int | None:
    """The largest integer in [low, high] where the monotone `ok` holds, or None."""
    if high < low or not ok(low):
        return None
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if ok(mid) else (low, mid - 1)
    return low


def _selection_problems(study: Study) -> list[str]:
    """The refusal of a selection of optimal trajectories that would take more than
    MAX_SELECTION_SECONDS, with what would take about QUICK_SECONDS."""
    T, k = study.trajectories, study.optimal_trajectories
    if not k or selection_seconds(T, k) <= MAX_SELECTION_SECONDS:
        return []
    quick = _largest(2, k - 1, lambda b: selection_seconds(T, b) <= QUICK_SECONDS)
    if quick is not None:
        offer = (f"optimal_trajectories = {quick} would take about "
                 f"{duration(selection_seconds(T, quick))}")
    else:
        t = _largest(3, T - 1, lambda t: selection_seconds(t, 2) <= QUICK_SECONDS / 2) or 3
        b = _largest(2, min(k, t - 1), lambda b: selection_seconds(t, b) <= QUICK_SECONDS)
        b = b or 2
        offer = (f"trajectories = {t} with optimal_trajectories = {b} would take about "
                 f"{duration(selection_seconds(t, b))}")
    return [f"sampling.optimal_trajectories: selecting the {k} most spread of {T} "
            f"trajectories (SALib's local optimisation, before any store is written, and "
            f"again on every resume) would take roughly "
            f"{duration(selection_seconds(T, k))}, more than the "
            f"{duration(MAX_SELECTION_SECONDS)} allowed; {offer}"]


def check_grid(study: Study, store: Path, workers: int, done: int = 0,
               share: float = 1.0) -> list[Need]:
    """Refuse a grid sweep that cannot fit (StoreError; `done`: chunks of this sweep
    already in its store; `share`: see grid_needs); returns its needs."""
    needs = grid_needs(study, workers, done, share)
    refuse_what_cannot_fit(study, needs, store)
    return needs


def units_done(path: Path, identity: dict, group: str, flag: str, first: int) -> int:
    """Units (blocks, grid chunks) among the first `first` that are flagged done in the
    store at `path` when it is the run `identity` or one with room for more of the same
    units (a larger total_blocks); 0 when there is no such store or it cannot be read."""
    path = Path(path)
    if first <= 0 or not (path / "zarr.json").exists():
        return 0
    try:
        import zarr
        old = ownership.read_root(path).get(ownership.IDENTITY)
        same = isinstance(old, dict) and (old == identity or (
            "total_blocks" in identity and old.get("total_blocks", 0) > identity[
                "total_blocks"] and {**old, "total_blocks": identity["total_blocks"]}
            == identity))
        if not same:
            return 0
        flags = zarr.open_group(path, mode="r", use_consolidated=False)[group][flag]
        return int(np.count_nonzero(np.asarray(flags[:first]) == 1))
    except (StoreError, OSError, ValueError, KeyError, TypeError):
        return 0


# --- time -----------------------------------------------------------------------------

def model_row_seconds(study: Study) -> tuple[float, bool]:
    """(seconds per model row and case, whether measured for this model): the model's
    declared row_seconds, else OTHER_MODEL_ROW_S (assumed)."""
    seconds = study.model.row_seconds
    return (OTHER_MODEL_ROW_S, False) if seconds is None else (seconds, True)


def time_note(study: Study) -> str:
    """What a time estimate assumes that was not measured: "" for the models shipped."""
    seconds, known = model_row_seconds(study)
    return "" if known else (f" (if a row of model {study.model.name} takes about "
                             f"{seconds * 1e6:g} us)")


def run_seconds(study: Study, *, N: int, estimator: str, workers: int,
                keep_samples: bool = False, done: int = 0) -> float:
    """Wall seconds a Monte Carlo run at N base points per design takes, roughly, on
    `workers` workers (one per core at most; `done`: blocks already in its store): the
    model and its rows, and each statistic's (study.registry.Statistic.seconds)."""
    D, second = len(study.columns), study.second_order
    k = sampling.rows_per_point(D, second)
    plan = series_spec_of.plan(study, estimator)
    cases = math.prod(evaluate.case_shape(study))
    scenarios = len(study.scenario_items())
    measured = cases * len(study.outputs)
    P = len(study.sampled_names)
    blocks = study.scramblings * (N // study.block_points)
    todo = max(0, blocks - done)
    rows = todo * study.block_points * k
    per_row = model_row_seconds(study)[0] * cases + _sample_s(study) * P * scenarios
    if keep_samples:
        per_row += BYTE_S * 8 * (P * scenarios + measured)
    per_block, serial = BLOCK_S, 0.0
    for statistic in registry.statistics(plan):
        row, block, once = statistic.seconds(plan, N=N, workers=workers, blocks=blocks)
        per_row, per_block, serial = per_row + row, per_block + block, serial + once
    parallel = rows * per_row + todo * per_block
    return START_S + OVERHEAD * parallel / _parallel(workers, todo) + serial


def morris_blocks(study: Study) -> int:
    """Blocks of trajectories a Morris run writes."""
    per = morris_design.TRAJECTORIES_PER_BLOCK
    return -(-(study.optimal_trajectories or study.trajectories) // per)


def morris_seconds(study: Study, workers: int, done: int = 0) -> float:
    """Wall seconds a Morris run takes, roughly, on `workers` workers: drawing (and
    selecting) the trajectories, evaluating them, the measures and their intervals."""
    P = len(study.sampled_names)
    T = study.optimal_trajectories or study.trajectories
    cases = math.prod(evaluate.case_shape(study))
    scenarios = len(study.scenario_items())
    series = cases * len(series_spec_of.series_spec(study))
    n_blocks = -(-T // morris_design.TRAJECTORIES_PER_BLOCK)
    todo = max(0, n_blocks - done)
    rows = todo * morris_design.TRAJECTORIES_PER_BLOCK * (P + 1)
    draw = MORRIS_DRAW_S * study.trajectories + selection_seconds(
        study.trajectories, study.optimal_trajectories)
    parallel = rows * (model_row_seconds(study)[0] * cases + 8 * BYTE_S * series) \
        + todo * BLOCK_S
    analysis = (T * (P + 1) * (SAMPLE_S * P * scenarios + READ_S * 8 * series)
                + series * T * P * (MORRIS_EE_S * P + MORRIS_BOOT_S * study.resamples))
    return START_S + draw + OVERHEAD * parallel / _parallel(workers, todo) + analysis


def grid_seconds(study: Study, workers: int, done: int = 0) -> float:
    """Wall seconds a grid sweep takes, roughly, on `workers` workers (`done`: chunks
    already in its store)."""
    cells = grid_cells(study)
    chunks = math.ceil(cells / grid_design.CHUNK_CELLS)
    todo = max(0, chunks - done)
    itemsize = {v.name: np.dtype(v.dtype).itemsize for v in study.model.outputs}
    cell_bytes = sum(itemsize[name] for name in study.grid_outputs)
    work = cells * todo / chunks * (model_row_seconds(study)[0] + GRID_CELL_S
                                    + BYTE_S * cell_bytes) \
        + todo * BLOCK_S
    return START_S + OVERHEAD * work / _parallel(workers, todo)


def _sample_s(study: Study) -> float:
    """Seconds per row and parameter of the design's rows (design.sampling)."""
    uniform = not study.groups and all(d.dist == "unif" for _, _, sampled in
                                    study.scenario_items() for d in sampled.values())
    return UNIFORM_S if uniform else SAMPLE_S


def _parallel(workers: int, units: int) -> int:
    """Workers that can be busy at once: `workers`, at most one per core and per unit."""
    return max(1, min(workers, units, os.cpu_count() or 1))


def duration(seconds: float) -> str:
    """Seconds in words, to two significant figures: "40 seconds", "3.5 days",
    "1.2e9 years"."""
    if seconds < 1:
        return "under a second"
    for unit, scale in (("years", 365.25 * 86400), ("weeks", 7 * 86400), ("days", 86400),
                        ("hours", 3600), ("minutes", 60), ("seconds", 1)):
        if seconds >= 2 * scale or unit == "seconds":
            value = seconds / scale
            break
    if value >= 1e4:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)} {unit}"
    value = round(value, 1 - int(math.floor(math.log10(value))))
    return f"{value:g} {unit.removesuffix('s') if value == 1 else unit}"


def workers_text(workers: int, units: int) -> str:
    """"on 2 workers": the workers that can be busy at once (see _parallel)."""
    n = _parallel(workers, units)
    return f"on {n} worker{'s' if n > 1 else ''}"


def total(needs: list[Need], resource: str) -> int:
    """Bytes of `resource` that the needs add up to: all of the disk; of memory, the
    largest phase's with what is taken throughout."""
    mine = [n for n in needs if n.resource == resource]
    phases = {n.phase for n in mine} - {""} or {""}
    return max(sum(n.bytes for n in mine if n.phase in ("", p)) for p in phases)


def size(n: int) -> str:
    """Bytes in words: 1.9 TB, 370 MB, 12 kB."""
    for unit, scale in (("EB", 1e18), ("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6),
                        ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"
