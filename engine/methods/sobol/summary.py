"""The `summary` group of a Monte Carlo run: each analysed output's mean, variance and NaN
rows, and each code output's frequencies, from the merged row statistics."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reesens.evaluate import cases as evaluate
from reesens.study.schema import Study

if TYPE_CHECKING:
    import xarray as xr


def summary_dataset(study: Study, spec, kept, rows: np.ndarray, total_rows: int,
                    mean_conf: np.ndarray | None = None) -> xr.Dataset:
    """Per analysed output: mean, variance, NaN count; per code output: code frequencies.

    spec, kept: the candidate series and which of them are analysed (methods.sobol);
    rows: (*case_shape, series, 3) merged row statistics of all blocks (count, mean, M2);
    mean_conf: (*case_shape, series) the means' half-widths at conf_level, Student t over
    independent scramblings (intervals = "replicates"), or None.
    """
    import xarray as xr

    dims, coords = evaluate.case_coords(study)
    labels = [s.label for s, k in zip(spec, kept) if k]
    coords["output"] = np.array(labels, dtype=object)
    analysed = rows[..., kept, :]
    count = analysed[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = analysed[..., 2] / count
    data = {
        "summary_mean": (dims + ["output"], analysed[..., 1],
                         {"long_name": "mean of the output over the sample rows",
                          "units": "output units (see output_units)"}),
        "summary_variance": (dims + ["output"], variance,
                             {"long_name": "variance of the output over the sample rows",
                              "units": "output units squared"}),
        "summary_nan_count": (dims + ["output"], total_rows - count.astype(np.int64),
                              {"long_name": "number of sample rows with NaN", "units": "1"}),
    }
    if mean_conf is not None:
        data["summary_mean_conf"] = (dims + ["output"], mean_conf[..., kept], {
            "long_name": "half-width of the mean's interval at conf_level (Student t over "
                         "the independent scramblings' means)",
            "units": "output units (see output_units)"})
    for var in study.model.outputs:
        if var.name in study.outputs and var.flag_values:
            codes = [i for i, s in enumerate(spec) if s.output == var.name]
            coords[f"{var.name}_code"] = (f"{var.name}_code", np.array(var.flag_values),
                                          var.attrs())
            data[f"summary_{var.name}_frequency"] = (
                dims + [f"{var.name}_code"], rows[..., codes, 1],
                {"long_name": f"fraction of sample rows where {var.name} has the code",
                 "units": "1"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["rows"] = int(total_rows)
    return evaluate.squeeze_cases(ds, study)
