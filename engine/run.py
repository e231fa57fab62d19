"""One study run: evaluate, analyse, store. The command line is a thin layer over this."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from engine import evaluate, sobol, store
from engine.study import Study

RESULTS = Path("results")


class StoreError(ValueError):
    """The output path cannot take a results store."""


def default_store(study: Study) -> Path:
    return RESULTS / f"{study.name}.zarr"


def check_store_path(path: Path) -> None:
    """Refuse, before any work, a path that exists and is not a zarr store we may replace."""
    if path.exists() and not (path.is_dir() and (path / "zarr.json").exists()):
        raise StoreError(f"{path}: exists and is not a zarr store; refusing to replace it "
                         "(choose another --out or remove it)")
    if not path.parent.exists():
        raise StoreError(f"{path}: the directory {path.parent} does not exist")


def run(study: Study, *, out=None, workers: int = 1, keep_samples: bool = False,
        progress: bool = True, command: str = "") -> dict:
    """Run the study and write its store; returns {group: Dataset} as written."""
    path = Path(out) if out is not None else default_store(study)
    if out is None:
        path.parent.mkdir(exist_ok=True)
    check_store_path(path)
    start = time.perf_counter()
    outputs, params = evaluate.evaluate(study, workers=workers, progress=progress)
    analysed = sobol.analysed_outputs(study, outputs)
    groups = {"sobol": sobol.sobol_dataset(study, analysed, workers=workers),
              "summary": store.summary_dataset(study, outputs, analysed)}
    if keep_samples:
        groups["samples"] = store.samples_dataset(study, outputs, params)
    attrs = store.provenance(study, command=command,
                             wall_seconds=time.perf_counter() - start)
    for ds in groups.values():
        ds.attrs.update(attrs)
    if path.exists():
        shutil.rmtree(path)
    store.write(path, groups)
    return groups
