"""reesens: Monte Carlo Sobol' sensitivity studies of game-theoretic rare-earth trade models.

The public API, the command line's work from Python (README, "Python API")::

    import reesens
    study = reesens.load_study("studies/baseline.toml", N=4096)  # or a dict of tables
    groups = reesens.run(study, out="results/baseline.zarr")      # {group: xarray.Dataset}
    groups["sobol"]["sobol_ST"]                                   # (output, param)
    reesens.report("results/baseline.zarr")                       # figures, summary.md

`python -m reesens` is the command line. Models of one's own register through the entry
point group `reesens.models` (docs/models.md). Each function imports the engine when it
is called, so `import reesens` itself is quick.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["load_study", "run", "grid", "report", "open_store", "verify", "export"]


def load_study(source, **overrides):
    """A checked study (reesens.study.schema.Study) from a study file's path or a dict of
    its tables (as TOML would give them). `overrides`: N, second_order, estimator,
    intervals, methods, as the command line's options. StudyError lists every problem found."""
    from reesens.study import parse as study

    if isinstance(source, Mapping):
        return study.parse(dict(source), "<dict>", **overrides)
    return study.load(source, **overrides)


def _workers(workers):
    """`workers` as given (checked by the run), or one per core when None."""
    return (os.cpu_count() or 1) if workers is None else workers


def _study(study):
    from reesens.study.schema import Study

    return study if isinstance(study, Study) else load_study(study)


def run(study, *, out=None, workers: int | None = None, resume: bool = False,
        overwrite: bool = False, keep_samples: bool = False, target_ci: float | None = None,
        max_N: int | None = None, progress: bool = False, scheduler: str = "threads",
        client=None) -> dict:
    """Run a Monte Carlo study (a Study, a path or a dict) into its zarr store (`out`,
    default results/<name>.zarr), as `reesens run` does; returns {group: xarray.Dataset}:
    "sobol" (indices with intervals, dims output x param, and case dims), "summary",
    "convergence" with `target_ci`, "samples" with `keep_samples`, and "pawn", "delta",
    "given_data" when the study's [analysis] methods ask for them. `workers`: local
    threads (default one per core), or processes with scheduler="processes"; `client`: a
    dask.distributed Client."""
    from reesens.runs import montecarlo as run_module

    return run_module.run(_study(study), out=out, workers=_workers(workers),
                          keep_samples=keep_samples, progress=progress, scheduler=scheduler,
                          client=client, overwrite=overwrite, resume=resume,
                          target_ci=target_ci, max_N=max_N)


def grid(study, *, out=None, workers: int | None = None, resume: bool = False,
         overwrite: bool = False, progress: bool = False, scheduler: str = "threads",
         client=None):
    """Sweep a study's [grid] into its zarr store (`out`, default
    results/<name>-grid.zarr), as `reesens grid` does; returns the cube (xarray.Dataset,
    opened lazily: dims the swept options, then the grid axes)."""
    from reesens.runs import grid as grid_module

    return grid_module.run_grid(_study(study), out=out, workers=_workers(workers),
                                scheduler=scheduler, client=client, progress=progress,
                                overwrite=overwrite, resume=resume)


def report(store, out=None, *, fmt: str = "png", dpi: int | None = None, outputs=None,
           slices: dict | None = None) -> list[Path]:
    """Figures (`fmt` png, pdf or svg), summary.md and index.html of a store into `out`
    (default <store>-report), as `reesens report` does; returns the files written.
    outputs: names to report (an output name takes its indicators); slices: for grid
    stores, {parameter: value} at which to cut the phase diagrams; dpi: resolution of
    png figures (default reesens.present.style.DPI)."""
    from reesens.present import report as report_module
    from reesens.present import style

    return report_module.write_report(Path(store), None if out is None else Path(out),
                                      fmt=fmt, dpi=dpi or style.DPI, outputs=outputs,
                                      slices=slices)


def open_store(store) -> dict:
    """{group: xarray.Dataset} of a finished store's results, each checked against its
    checksums first (IntegrityError or StoreError otherwise, naming what to do)."""
    from reesens.store import verify as verify_module

    store = Path(store)
    groups = verify_module.require_intact(store)
    return {g: verify_module.open_grid(store) if g == "grid" else
            verify_module.open_group(store, g) for g in groups}


def verify(store) -> bool:
    """True when every chunk of the store matches its checksums (`reesens verify`)."""
    from reesens.store import verify as verify_module

    problems, _ = verify_module.verify(Path(store))
    return not problems


def export(store, out=None, *, format: str | None = None, group: str = "sobol",
           overwrite: bool = False) -> Path:
    """Write a store's indices as a tidy table (one row per case, output, parameter and
    index kind, with value and half-width) to `out` (default <store>-<group>.csv), CSV
    or Parquet by `format` or the file's suffix, as `reesens export` does; returns the
    path. `tidy(...)` in reesens.present.export gives the same table as a DataFrame."""
    from reesens.present import export as export_module

    return export_module.export(Path(store), None if out is None else Path(out),
                                format=format, group=group, overwrite=overwrite,
                                options=("overwrite=True", "out"))
