"""Text reports of a `sobol` dataset: the ranking table and the drivers of the codes."""
from __future__ import annotations

from itertools import product

import numpy as np
import xarray as xr


def _cases(ds: xr.Dataset):
    """[(title, dataset of one case)] over every dim that is neither output nor param."""
    dims = [d for d in ds["sobol_ST"].dims if d not in ("output", "param")]
    if not dims:
        return [("", ds)]
    return [(" ".join(f"{d}={v}" for d, v in zip(dims, values)),
             ds.sel(dict(zip(dims, values))))
            for values in product(*(ds[d].values.tolist() for d in dims))]


def _value(x: float, conf: float) -> str:
    return "     nan      " if np.isnan(x) else f"{x:6.3f} ±{conf:5.3f}"


def table(ds: xr.Dataset) -> str:
    """For each case and output, the parameters ranked by ST, with S1 and intervals."""
    lines = []
    for title, case in _cases(ds):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<28} {'param':<8} {'ST':>14} {'S1':>14}")
        for output in case["output"].values.tolist():
            one = case.sel(output=output)
            reason = str(one["sobol_skip_reason"].values)
            if reason:
                lines.append(f"{output:<28} {'-':<8} no indices: {reason}")
                continue
            order = np.argsort(-one["sobol_ST"].values, kind="stable")
            for rank, j in enumerate(order):
                name = output if rank == 0 else ""
                lines.append(
                    f"{name:<28} {one['param'].values[j]:<8} "
                    f"{_value(one['sobol_ST'].values[j], one['sobol_ST_conf'].values[j])} "
                    f"{_value(one['sobol_S1'].values[j], one['sobol_S1_conf'].values[j])}")
    return "\n".join(lines)


def drivers(ds: xr.Dataset, code_output: str = "eq") -> str:
    """One line per case: which parameters drive the choice among the codes of `code_output`.

    Ranks parameters by the largest ST they reach over the indicators `code_output==k`.
    """
    prefix = f"{code_output}=="
    lines = []
    for title, case in _cases(ds):
        labels = [o for o in case["output"].values.tolist() if o.startswith(prefix)]
        if not labels:
            continue
        st = case["sobol_ST"].sel(output=labels).max("output", skipna=True).values
        order = np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
        ranked = ", ".join(f"{case['param'].values[j]} (ST up to {st[j]:.2f})"
                           for j in order if not np.isnan(st[j]))
        lines.append(f"{title + ': ' if title else ''}the equilibrium choice is driven by "
                     f"{ranked}")
    return "\n".join(lines)
