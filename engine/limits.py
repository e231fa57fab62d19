"""What a study needs of this machine, estimated before any work, and refusals of what
cannot fit.

A Monte Carlo run needs memory for each worker's block (EVAL_POINTS base points of rows
evaluated at a time, a block's kept rows, its bootstrap replicates), for merging the
stored block statistics, and with the SALib estimator for every row of every series; it
needs disk for every block's statistics, bootstrap replicates and kept rows. A grid needs
disk for every cell of every output. Estimates are upper bounds: stored chunks are
compressed (zstd), counted here at their raw size plus a file-system block per chunk
file. A study that needs more than the memory available (MemAvailable) or the disk free
where its store goes is refused with the estimate, the field that drives it and the
setting that would fit.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reesens.engine import evaluate, sampling, sobol
from reesens.engine.parallel import EVAL_POINTS
from reesens.engine.ownership import StoreError
from reesens.engine.study import Study
from reesens.kernels.saltelli import Features

FILE_BYTES = 4096  # a file system's block: the least a chunk file takes on disk


@dataclass(frozen=True)
class Need:
    """Bytes of `resource` ("memory" or "disk") that `what` takes, driven by `field`;
    `fix` says which setting makes it smaller."""

    resource: str
    what: str
    bytes: int
    field: str
    fix: str


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


def salib_memory(study: Study, N: int, workers: int) -> int:
    """Bytes the SALib estimator needs: every row of every series, and SALib's bootstrap."""
    D = len(study.columns)
    series = math.prod(evaluate.case_shape(study)) * len(sobol.series_spec(study))
    rows = N * sampling.rows_per_point(D, study.second_order) * series * 8
    bootstrap = (96 if study.second_order else 64) * N * study.resamples  # SALib 1.6, measured
    return rows + min(workers, series) * bootstrap


def run_needs(study: Study, *, N: int, estimator: str, workers: int, keep_samples: bool,
              replicates: int) -> list[Need]:
    """Memory and disk a Monte Carlo run of the study at N base points needs."""
    from reesens.engine.run import MERGE_SLICE
    D, second = len(study.columns), study.second_order
    k = sampling.rows_per_point(D, second)
    cases = math.prod(evaluate.case_shape(study))
    scenarios = len(study.scenario_items())
    series = cases * len(sobol.series_spec(study))
    outputs = cases * len(study.outputs)
    ft = Features(D, second)
    blocks = N // study.block_points
    bp = study.block_points
    P = len(study.sampled_names)
    row_bytes = 8 * (P * scenarios + outputs + series)  # a row's parameters, outputs, series
    stats = 8 * series * (ft.size + ft.n_pairs + 5)
    boot = 8 * replicates * (1 + series * (ft.base.size + ft.base_pairs.shape[1]))
    kept = 8 * bp * k * (P * scenarios + outputs)
    members = 3 + (3 if replicates else 0) + ((D + len(study.outputs)) if keep_samples else 0)
    chunk = min(bp, EVAL_POINTS)
    rows_kept = keep_samples or estimator == "salib"
    needs = [
        Need("memory", "evaluating rows (per worker)", workers * 3 * chunk * k * row_bytes,
             "sampling.block_points", "a smaller block_points or fewer --workers"),
        Need("memory", "merging block statistics", 2 * min(blocks, MERGE_SLICE) * stats,
             "sampling.N", "a smaller N"),
        Need("disk", "block statistics", blocks * (stats + 8 * members
                                                   + FILE_BYTES * (4 + members)),
             "sampling.N", "a smaller N"),
    ]
    if rows_kept:
        needs.append(Need("memory", "a block's rows kept in memory (per worker)",
                          workers * bp * k * row_bytes, "sampling.block_points",
                          "a smaller block_points"))
    if replicates:
        per_chunk = 8 * chunk * replicates + boot
        needs += [Need("memory", "bootstrap replicates (per worker)",
                       workers * (per_chunk + math.ceil(bp / chunk) * boot)
                       + 2 * min(blocks, MERGE_SLICE) * boot, "analysis.resamples",
                       'fewer resamples, or intervals = "delta"'),
                  Need("disk", "bootstrap replicates", blocks * boot, "analysis.resamples",
                       'fewer resamples, or intervals = "delta"')]
    if keep_samples:
        needs.append(Need("disk", "kept sample rows (--keep-samples)", blocks * kept,
                          "--keep-samples", "no --keep-samples, or a smaller N"))
    if estimator == "salib":
        needs += [Need("memory", "the SALib estimator's rows and bootstrap",
                       salib_memory(study, N, workers), "analysis.estimator",
                       'estimator = "streaming"'),
                  Need("disk", "every row's series values (the SALib estimator)",
                       blocks * bp * k * series * 8, "analysis.estimator",
                       'estimator = "streaming"')]
    return needs


def grid_needs(study: Study, workers: int) -> list[Need]:
    """Memory and disk a grid sweep of the study needs."""
    from reesens.engine.grid import CHUNK_CELLS, EVAL_CELLS
    options = math.prod(len(study.options[o]) for o in study.options if o in study.swept)
    cells = options * math.prod(len(v) for v in study.grid.values())
    itemsize = {v.name: np.dtype(v.dtype).itemsize for v in study.model.outputs}
    cell_bytes = sum(itemsize[name] for name in study.grid_outputs)
    chunks = math.ceil(cells / CHUNK_CELLS)
    axis_bytes = 8 * sum(len(v) for v in study.grid.values())
    return [
        Need("disk", "the grid cube", cells * cell_bytes
             + chunks * (len(study.grid_outputs) + 2) * FILE_BYTES + axis_bytes,
             "grid", "a coarser grid (fewer values on some axis) or fewer grid.outputs"),
        Need("memory", "evaluating grid chunks (per worker)",
             workers * (CHUNK_CELLS * cell_bytes
                        + 2 * EVAL_CELLS * (len(study.model.params) + len(itemsize)) * 8)
             + 64 * chunks, "grid", "a coarser grid"),
    ]


def _have(store: Path) -> dict[str, int]:
    return {"memory": available_memory(), "disk": free_disk(store)}


def _fits(needs: list[Need], have: dict[str, int]) -> bool:
    return all(total(needs, r) <= have[r] for r in have)


def refuse_what_cannot_fit(study: Study, needs: list[Need], store: Path, fit=None) -> None:
    """StoreError naming, for each resource whose needs exceed what this machine has
    (available memory, free disk where `store` goes), the largest need, its field and
    `fit(field)`: the setting that would fit (None: say what needs less)."""
    have = _have(store)
    where = {"memory": "available memory", "disk": f"free disk at {_existing(store)}"}
    problems = []
    for resource in ("memory", "disk"):
        mine = [n for n in needs if n.resource == resource]
        if total(mine, resource) <= have[resource]:
            continue
        worst = max(mine, key=lambda n: n.bytes)
        setting = fit(worst.field) if fit else None
        problems.append(f"{worst.field}: the study needs about "
                        f"{size(total(mine, resource))} of {resource} ({worst.what}: "
                        f"{size(worst.bytes)}), more than the {size(have[resource])} of "
                        f"{where[resource]}; "
                        + (f"{setting} would fit" if setting else f"{worst.fix} needs less"))
    if problems:
        raise StoreError("\n".join(f"{study.path}: {p}" for p in problems))


def _existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists."""
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    return path


def check_run(study: Study, store: Path, *, N: int, estimator: str, workers: int,
              keep_samples: bool, replicates: int) -> list[Need]:
    """Refuse a run that cannot fit (StoreError, saying which N, block_points or
    resamples would fit when halving one of them does); returns its needs."""
    options = dict(N=N, estimator=estimator, workers=workers, keep_samples=keep_samples,
                   replicates=replicates)
    needs = run_needs(study, **options)

    def fit(field: str) -> str | None:
        have = _have(store)
        if field == "sampling.N":
            n = N // 2
            while n >= study.block_points and not _fits(run_needs(study, **{
                    **options, "N": n}), have):
                n //= 2
            return f"N = {n} (2^{n.bit_length() - 1})" if n >= study.block_points else None
        if field == "analysis.resamples" and replicates:
            r = replicates // 2
            while r >= 2 and not _fits(run_needs(study, **{**options, "replicates": r}),
                                       have):
                r //= 2
            return f"resamples = {r}" if r >= 2 else None
        return None

    refuse_what_cannot_fit(study, needs, store, fit)
    return needs


def check_grid(study: Study, store: Path, workers: int) -> list[Need]:
    """Refuse a grid sweep that cannot fit (StoreError); returns its needs."""
    needs = grid_needs(study, workers)
    refuse_what_cannot_fit(study, needs, store)
    return needs


def total(needs: list[Need], resource: str) -> int:
    """Bytes of `resource` that the needs add up to."""
    return sum(n.bytes for n in needs if n.resource == resource)


def size(n: int) -> str:
    """Bytes in words: 1.9 TB, 370 MB, 12 kB."""
    for unit, scale in (("EB", 1e18), ("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6),
                        ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"
