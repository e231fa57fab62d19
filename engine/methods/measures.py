"""How the distance measures read from the per-slice counts (PAWN, delta) show: a ranked
table with their null levels, a figure per case, and which parameters stand above their
null level."""
from __future__ import annotations

import numpy as np

from reesens.methods import tables
from reesens.study import labels


def null_sentences(ds, key: str, name: str, outputs: list[str] | None = None) -> list[str]:
    """Per case and output (of `outputs`, default all): the parameters above their `key`
    null level and those at or below it (a parameter at or below cannot be told from no
    influence)."""
    missing = ds.attrs.get("null_level_missing")
    if missing:
        return [f"By {name}: no null levels ({missing}), so no parameter is told apart "
                "from no influence."]
    out = []
    for title, case in tables.cases(ds, key):
        for output in case["output"].values.tolist():
            if outputs is not None and output not in outputs:
                continue
            one = case.sel(output=output)
            if not np.isfinite(one[key].values).any():
                continue
            above = one[key].values > one[f"{key}_null"].values
            order = np.argsort(-one[key].values, kind="stable")
            strong = [f"{one['param'].values[j]} ({one[key].values[j]:.2f})"
                      for j in order if above[j]]
            weak = [one["param"].values[j] for j in order if not above[j]]
            head = f"{output}{' (' + title + ')' if title else ''}"
            out.append(f"{head}: {', '.join(strong) or 'no parameter'} above the null level"
                       + (f"; {', '.join(weak)} at or below it" if weak else ""))
    level = f"{float(ds.attrs.get('conf_level', 0.95)):.0%}"
    return [f"By {name} (null level: what a parameter the output ignores reads at most in "
            f"{level} of iid designs; a parameter at or below it cannot be told from no "
            "influence):"] + out if out else []


def heading(ds, what: str) -> str:
    return (f"{what} from the {int(ds.attrs['rows']):,} A and B rows, {ds.attrs['slices']} "
            "slices per parameter; KS for continuous outputs, total variation for codes")


def report_section(page, group: str, key: str, name: str, caption: str,
                   strict: bool = True) -> list[str]:
    """A distance measure's figure per case and its section of the report (`strict`:
    see report.Page.chosen)."""
    ds = page.open(group)
    chosen = page.chosen(ds["output"].values.tolist(), strict)
    for title, case in tables.cases(ds, key):
        outputs = [o for o in case["output"].values.tolist() if o in chosen
                   and np.isfinite(case[key].sel(output=o).values).any()]
        words = labels.case_words(tables.case_of(case, ds, key)) or "all rows"
        page.figure(page.figures.measure_bars(case, f"{name}: {words}", outputs),
                    f"{group}_{tables.slug(title)}",
                    f"{caption} of each output, {words}, from {int(ds.attrs['rows']):,} A and "
                    f"B rows in {ds.attrs['slices']} slices per parameter; "
                    + ("no null levels: " + ds.attrs["null_level_missing"] + "."
                       if ds.attrs.get("null_level_missing") else
                       "dashed: the null level a parameter the output ignores reads at or "
                       "below."))
    return [f"## {name}", ""] + [f"- {line}"
                                 for line in null_sentences(ds, key, name, chosen)] + [""]
