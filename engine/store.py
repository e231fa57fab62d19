"""Result datasets besides the indices (summary, samples), provenance, and the zarr store.

One store per run with the groups `sobol`, `summary` and, when asked, `samples`; each
group is a plain xarray Dataset with CF attributes and the run's provenance.
"""
from __future__ import annotations

import json
import platform
import subprocess
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import xarray as xr

from engine import evaluate
from engine.sobol import squeeze_cases
from engine.study import Study

PACKAGES = ("reesens", "numpy", "numba", "scipy", "SALib", "xarray", "dask", "zarr")
ROOT = Path(__file__).resolve().parents[1]


def summary_dataset(study: Study, outputs, analysed) -> xr.Dataset:
    """Per analysed output: mean, variance, NaN count; per code output: code frequencies."""
    dims, coords = evaluate.case_coords(study)
    coords["output"] = np.array([label for label, _, _ in analysed], dtype=object)
    stacked = np.stack([values for _, values, _ in analysed], axis=-2)  # (*cases, O, rows)
    finite = np.where(np.isnan(stacked), 0.0, stacked)
    n_valid = (~np.isnan(stacked)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = finite.sum(axis=-1) / n_valid
        variance = (np.where(np.isnan(stacked), 0.0, stacked - mean[..., None]) ** 2
                    ).sum(axis=-1) / n_valid
    data = {
        "summary_mean": (dims + ["output"], mean,
                         {"long_name": "mean of the output over the sample rows",
                          "units": "output units (see output_units)"}),
        "summary_variance": (dims + ["output"], variance,
                             {"long_name": "variance of the output over the sample rows",
                              "units": "output units squared"}),
        "summary_nan_count": (dims + ["output"], stacked.shape[-1] - n_valid,
                              {"long_name": "number of sample rows with NaN", "units": "1"}),
    }
    for var in study.model.outputs:
        if var.name in study.outputs and var.flag_values:
            codes = np.array(var.flag_values)
            frequency = (outputs[var.name][..., None, :] == codes[:, None]).mean(axis=-1)
            coords[f"{var.name}_code"] = (f"{var.name}_code", codes, var.attrs())
            data[f"summary_{var.name}_frequency"] = (
                dims + [f"{var.name}_code"], frequency,
                {"long_name": f"fraction of sample rows where {var.name} has the code",
                 "units": "1"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["rows"] = int(stacked.shape[-1])
    return squeeze_cases(ds, study)


def samples_dataset(study: Study, outputs, params) -> xr.Dataset:
    """Parameter rows and raw outputs on a `sample` dim, in Saltelli order."""
    dims, coords = evaluate.case_coords(study)
    variables = {v.name: v for v in study.model.outputs}
    data = {}
    for j, name in enumerate(study.sampled_names):
        var = next(v for v in study.model.params if v.name == name)
        data[name] = (["scenario", "sample"], params[:, :, j], var.attrs())
    for name in study.outputs:
        data[name] = (dims + ["sample"], outputs[name], variables[name].attrs())
    coords["sample"] = np.arange(params.shape[1])
    return squeeze_cases(xr.Dataset(data, coords=coords), study)


def git_state() -> tuple[str, bool | None]:
    """(commit, dirty) of the source tree, ("unknown", None) outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


def provenance(study: Study, *, command: str, wall_seconds: float) -> dict:
    """Dataset attrs of a run: what ran, on what, with which inputs (JSON-serialisable)."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    versions["python"] = platform.python_version()
    commit, dirty = git_state()
    return {
        "Conventions": "CF-1.10",
        "title": study.title or study.name,
        "study": study.name,
        "study_file": study.path,
        "study_json": json.dumps(study.raw, sort_keys=True, default=str),
        "model": study.model.name,
        "N": study.N,
        "second_order": int(study.second_order),
        "seed": study.seed,
        "analysis_seed": study.analysis_seed,
        "resamples": study.resamples,
        "conf_level": study.conf_level,
        "fixed_parameters": json.dumps({n: v for n, v in study.fixed.items()}),
        "package_versions": json.dumps(versions, sort_keys=True),
        "git_commit": commit,
        "git_dirty": "unknown" if dirty is None else str(dirty).lower(),
        "command": command,
        "wall_time_s": round(wall_seconds, 3),
        "history": f"{command}  # reesens {versions['reesens']}",
    }


def write(store, groups: dict[str, xr.Dataset]) -> None:
    """Write each dataset as a group of a new zarr store (replacing one at that path)."""
    with warnings.catch_warnings():
        # xarray consolidates metadata so that a plain open_zarr finds it; zarr 3 warns
        # that consolidation is not in the v3 spec yet.
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not")
        mode = "w"
        for group, ds in groups.items():
            ds.to_zarr(store, group=group, mode=mode)
            mode = "a"


def open_group(store, group: str) -> xr.Dataset:
    """A group of a results store, loaded."""
    return xr.open_zarr(store, group=group).load()
