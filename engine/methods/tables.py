"""Text helpers the methods' tables and report sections share: cases of a result group,
column widths, a value with its half-width."""
from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from reesens.study.labels import wrap

if TYPE_CHECKING:
    import xarray as xr


class ReportError(ValueError):
    """The store cannot be reported on, or the report's options do not fit it."""


OUTPUT_WIDTH = 28  # characters of the terminal table's output column; longer names wrap


def case_dims(ds: xr.Dataset, variable: str = "sobol_ST") -> list[str]:
    """The dims of `variable` that are neither output nor param: the cases."""
    return [d for d in ds[variable].dims if d not in ("output", "param")]


def cases(ds: xr.Dataset, variable: str = "sobol_ST"):
    """[(title, dataset of one case)] over every dim of `variable` that is neither output
    nor param."""
    dims = case_dims(ds, variable)
    if not dims:
        return [("", ds)]
    return [(case_title(dict(zip(dims, values))), ds.sel(dict(zip(dims, values))))
            for values in product(*(ds[d].values.tolist() for d in dims))]


def case_title(case: dict) -> str:
    """A case {dim: value} as a title: 'concept=paper selection=china' ('' for none)."""
    return " ".join(f"{d}={v}" for d, v in case.items())


def case_of(case: xr.Dataset, ds: xr.Dataset, variable: str = "sobol_ST") -> dict:
    """{dim: value} of one case (selected from ds by `cases` on `variable`)."""
    return {d: case[d].values.item() for d in case_dims(ds, variable)}


def value(x: float, conf: float) -> str:
    """A value and its half-width in 14 characters: ' 0.123 ±0.004' (' 0.123 ±  n/a'
    without one)."""
    if np.isnan(x):
        return "     nan      "
    return f"{x:6.3f} ±  n/a" if np.isnan(conf) else f"{x:6.3f} ±{conf:5.3f}"


def ci(x: float, conf: float) -> str:
    """A value and its half-width in Markdown: '0.123 ± 0.004'."""
    return f"{x:.3f} ± {conf:.3f}"


def param_width(ds: xr.Dataset) -> int:
    """Characters of the param column: 8, or the longest parameter or group name."""
    return max([8] + [len(str(p)) for p in ds["param"].values.tolist()])


def slug(text: str) -> str:
    """A case title as part of a file name: 'concept=paper' -> 'concept-paper'."""
    return "-".join("".join(c if c.isalnum() else " " for c in text).split()) or "all"


def ranked(ds: xr.Dataset, rank_by: str, columns, skip: str, heading: str) -> str:
    """A terminal table of a result group: per case and output, the parameters ranked by
    `rank_by` (largest first); columns [(header, variable, half-width variable or None)];
    an output whose `skip` variable holds a reason gets one line saying it; below each
    output, the mean of each column's `<variable>_null` where the group has them (the
    group's `null_level_missing` attribute, where it has none, below the table)."""
    P = param_width(ds)
    lines = [heading]
    missing = ds.attrs.get("null_level_missing")
    widths = [14 if conf else max(8, len(header)) for header, _, conf in columns]
    header = " ".join(f"{h:>{w}}" for (h, _, _), w in zip(columns, widths))
    for title, case in cases(ds, rank_by):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<{OUTPUT_WIDTH}} {'param':<{P}} {header}")
        for output in case["output"].values.tolist():
            one = case.sel(output=output)
            names = wrap(output, OUTPUT_WIDTH)
            reason = str(one[skip].values) if skip in one else ""
            if reason:
                lines.append(f"{names[0]:<{OUTPUT_WIDTH}} {'-':<{P}} no measures: {reason}")
                continue
            order = np.argsort(-np.nan_to_num(one[rank_by].values, nan=-1.0), kind="stable")
            values = {n: one[n].values for _, v, c in columns for n in (v, c) if n}
            params = one["param"].values
            for rank, j in enumerate(order):
                name = names[rank] if rank < len(names) else ""
                cells = " ".join(
                    f"{value(float(values[v][j]), float(values[c][j])):>{w}}" if c
                    else f"{float(values[v][j]):>{w}.3f}"
                    for (_, v, c), w in zip(columns, widths))
                lines.append(f"{name:<{OUTPUT_WIDTH}} {params[j]:<{P}} {cells}")
            if any(f"{v}_null" in one for _, v, _ in columns) and not missing:
                nulls = [f"{float(np.nanmean(one[f'{v}_null'].values)):>{w}.3f}"
                         if f"{v}_null" in one else f"{'':>{w}}"
                         for (_, v, _), w in zip(columns, widths)]
                lines.append(f"{'':<{OUTPUT_WIDTH}} {'(null)':<{P}} {' '.join(nulls)}")
    if missing:
        lines.append(f"no null levels: {missing}")
    return "\n".join(lines)


def select_outputs(available: list[str], wanted, strict: bool = True) -> list[str]:
    """The labels of `available` that `wanted` names (an output name takes its indicators
    'name==code'); all when wanted is None. With `strict`, ReportError names what
    matches nothing."""
    if wanted is None:
        return list(available)
    chosen = [a for a in available if a in wanted or a.split("==")[0] in wanted]
    unknown = [w for w in wanted if not any(a == w or a.split("==")[0] == w
                                            for a in available)]
    if unknown and strict:
        raise ReportError(f"--outputs {' '.join(unknown)}: not an output of this store "
                          f"(it has {', '.join(dict.fromkeys(a.split('==')[0] for a in available))})")
    return chosen


def always_never(shares: dict[str, float], misstates: str) -> list[str]:
    """An audit's conclusion in words: the regions where its two classifications always
    differ ("{misstates} everywhere in ...") and those where they never do."""
    always = [r for r, s in shares.items() if s == 1.0]
    never = [r for r, s in shares.items() if s == 0.0]
    if not always:
        return []
    return [f"- In words: {misstates} everywhere in {'; '.join(always)}"
            + (f", and gets it right everywhere in {'; '.join(never)}" if never else "") + "."]
