"""Reports of a results store: the ranking table and drivers (text, for the terminal),
and `reesens report`'s figures and Markdown summary (engine.figures draws)."""
from __future__ import annotations

import json
import math
import os
from itertools import product
from pathlib import Path

import numpy as np
import xarray as xr

from reesens.core import files
from reesens.core.progress import Progress
from reesens.store import layout as store_module
from reesens.store import ownership, verify
from reesens.study import labels


def _cases(ds: xr.Dataset, variable: str = "sobol_ST"):
    """[(title, dataset of one case)] over every dim of `variable` that is neither output
    nor param."""
    dims = _case_dims(ds, variable)
    if not dims:
        return [("", ds)]
    return [(" ".join(f"{d}={v}" for d, v in zip(dims, values)),
             ds.sel(dict(zip(dims, values))))
            for values in product(*(ds[d].values.tolist() for d in dims))]


def _outputs(case: xr.Dataset):
    """(output, its indices, skip reason or "") for each output of one case."""
    for output in case["output"].values.tolist():
        one = case.sel(output=output)
        yield output, one, str(one["sobol_skip_reason"].values)


def _value(x: float, conf: float) -> str:
    return "     nan      " if np.isnan(x) else f"{x:6.3f} ±{conf:5.3f}"


OUTPUT_WIDTH = 28  # characters of the terminal table's output column; longer names wrap


def _param_width(ds: xr.Dataset) -> int:
    """Characters of the param column: 8, or the longest parameter or group name."""
    return max([8] + [len(str(p)) for p in ds["param"].values.tolist()])


def complements(summary: xr.Dataset | None) -> dict[str, str]:
    """{dropped series: the one kept} for code outputs of which exactly two codes occur
    (in every case together): the indicators of the two codes sum to 1, so they and the
    output's aggregate (engine.sobol.categorical) have the same indices. The later code's
    indicator is kept (sets_differ==differ over ==same and over sets_differ)."""
    if summary is None:
        return {}
    dropped = {}
    for name in summary.data_vars:
        if not (name.startswith("summary_") and name.endswith("_frequency")):
            continue
        variable = name.removeprefix("summary_").removesuffix("_frequency")
        code_dim = f"{variable}_code"
        freq = summary[name]
        present = (freq > 0).any([d for d in freq.dims if d != code_dim]).values
        if present.sum() == 2:
            meanings = summary[code_dim].attrs["flag_meanings"].split()
            first, second = (meanings[i] for i in np.flatnonzero(present))
            dropped[f"{variable}=={first}"] = dropped[variable] = f"{variable}=={second}"
    return dropped


def table(ds: xr.Dataset, summary: xr.Dataset | None = None) -> str:
    """For each case and output, the parameters ranked by ST, with S1 and intervals; of
    two complementary indicators (complements) only one, and a line saying so."""
    dropped = complements(summary)
    lines, P = [], _param_width(ds)
    for title, case in _cases(ds):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<{OUTPUT_WIDTH}} {'param':<{P}} {'ST':>14} {'S1':>14}")
        for output, one, reason in _outputs(case):
            if output in dropped:
                continue
            names = labels.wrap(output, OUTPUT_WIDTH)
            if reason:
                lines.append(f"{names[0]:<{OUTPUT_WIDTH}} {'-':<{P}} no indices: {reason}")
                lines += names[1:]
                continue
            order = np.argsort(-one["sobol_ST"].values, kind="stable")
            for rank, j in enumerate(order):
                name = names[rank] if rank < len(names) else ""
                lines.append(
                    f"{name:<{OUTPUT_WIDTH}} {one['param'].values[j]:<{P}} "
                    f"{_value(one['sobol_ST'].values[j], one['sobol_ST_conf'].values[j])} "
                    f"{_value(one['sobol_S1'].values[j], one['sobol_S1_conf'].values[j])}")
            lines += names[len(order):]
    lines += [f"({d} left out: the same indices as {k}, only two codes occur)"
              for d, k in dropped.items() if d in ds["output"].values.tolist()]
    return "\n".join(lines)


def second_order_table(ds: xr.Dataset, summary: xr.Dataset | None = None) -> str:
    """For each case and output, every S2[j, k] with its interval, largest |S2| first;
    '*' marks those whose interval leaves out 0."""
    if "sobol_S2" not in ds:
        return "no second-order indices in this store (run with --second-order)"
    dropped = complements(summary)
    params = ds["param"].values.tolist()
    W = max(16, 2 * _param_width(ds) + 3)
    lines = [f"S2 with {float(ds.attrs.get('conf_level', 0.95)):.0%} intervals at N = "
             f"{ds.attrs.get('N')}; * : the interval leaves out 0"]
    for title, case in _cases(ds):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<{OUTPUT_WIDTH}} {'pair':<{W}} {'S2':>14}")
        for output, one, reason in _outputs(case):
            s2, conf = one["sobol_S2"].values, one["sobol_S2_conf"].values
            if reason or output in dropped or not np.isfinite(s2).any():
                continue
            pairs = [(j, k) for j in range(len(params)) for k in range(j + 1, len(params))]
            pairs.sort(key=lambda jk: -np.nan_to_num(abs(s2[jk]), nan=-1.0))
            names = labels.wrap(output, OUTPUT_WIDTH)
            for rank, (j, k) in enumerate(pairs):
                name = names[rank] if rank < len(names) else ""
                clear = "*" if abs(s2[j, k]) > conf[j, k] else " "
                lines.append(f"{name:<{OUTPUT_WIDTH}} {params[j] + ' x ' + params[k]:<{W}} "
                             f"{_value(s2[j, k], conf[j, k])} {clear}")
    return "\n".join(lines)


def drivers(ds: xr.Dataset, code_output: str = "eq") -> str:
    """One line per case: which parameters drive the choice among the codes of
    `code_output`, ranked by the aggregated total index of all its codes at once
    (engine.sobol.categorical), with intervals."""
    lines = []
    for title, case in _cases(ds):
        if code_output not in case["output"].values.tolist():
            continue
        one = case.sel(output=code_output)
        if str(one["sobol_skip_reason"].values):
            continue
        st, conf = one["sobol_ST"].values, one["sobol_ST_conf"].values
        order = np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
        ranked = ", ".join(f"{case['param'].values[j]} (ST {st[j]:.2f} ± {conf[j]:.2f})"
                           for j in order if not np.isnan(st[j]))
        lines.append(f"{title + ': ' if title else ''}the equilibrium choice is driven by "
                     f"{ranked} (all {code_output} codes at once)")
    return "\n".join(lines)


MEASURE_GROUPS = ("pawn", "delta", "given_data")  # engine.given_data's groups


def open_measures(store: Path, groups) -> dict[str, xr.Dataset]:
    """{group: dataset} of the store's engine.given_data groups."""
    return {g: verify.open_group(store, g) for g in MEASURE_GROUPS if g in groups}


def _measures_merged(measures: dict) -> tuple[xr.Dataset, str]:
    """(one dataset of the pawn and delta groups, or of given_data alone, and the
    variable whose dims give the cases)."""
    parts = [measures[g] for g in ("pawn", "delta") if g in measures]
    if not parts:
        gd = measures["given_data"]
        keep = [o for o in gd["output"].values.tolist() if "==" not in o]
        return gd.sel(output=keep), "given_data_S1"
    merged = xr.merge(parts, compat="override", combine_attrs="drop_conflicts")
    return merged, "delta" if "delta" in merged else "pawn_median"


def measures_table(measures: dict, sobol_ds: xr.Dataset | None = None) -> str:
    """For each case and output, the parameters ranked by delta (else PAWN's median):
    PAWN median and max, delta, the given-data S1 beside the pick-freeze S1, and a line
    of the null levels (a parameter the output ignores reads at or below them)."""
    merged, key = _measures_merged(measures)
    gd = measures.get("given_data")
    attrs = next(iter(measures.values())).attrs
    lines = [f"PAWN, delta and given-data S1 from the {int(attrs['rows']):,} A and B rows, "
             f"{attrs['slices']} slices per parameter; KS for continuous outputs, total "
             "variation for codes"]
    P = _param_width(merged)
    header = (f"{'output':<{OUTPUT_WIDTH}} {'param':<{P}} {'PAWN med':>8} {'PAWN max':>8} "
              f"{'delta':>6} {'S1 given data':>14} {'S1 Sobol':>14}")
    number = lambda ds, q, j: f"{float(ds[q].values[j]):.3f}" if q in ds else "-"  # noqa
    for title, case in _cases(merged, key):
        if title:
            lines.append(f"== {title}")
        lines.append(header)
        where = _case_of(case, merged, key)
        for output in case["output"].values.tolist():
            one = case.sel(output=output)
            names = labels.wrap(output, OUTPUT_WIDTH)
            reason = next((str(one[f"{g}_skip_reason"].values) for g in MEASURE_GROUPS
                           if f"{g}_skip_reason" in one and str(one[f"{g}_skip_reason"].values)),
                          "")
            if reason:
                lines.append(f"{names[0]:<{OUTPUT_WIDTH}} {'-':<{P}} no measures: {reason}")
                continue
            order = np.argsort(-np.nan_to_num(one[key].values, nan=-1.0), kind="stable")
            given = gd.sel({**where, "output": output}) if gd is not None else None
            pick = sobol_ds.sel({**where, "output": output}) if sobol_ds is not None and \
                output in sobol_ds["output"].values.tolist() else None
            for rank, j in enumerate(order):
                name = names[rank] if rank < len(names) else ""
                gd_text = _value(float(given["given_data_S1"].values[j]),
                                 float(given["given_data_S1_conf"].values[j])) \
                    if given is not None else f"{'-':>14}"
                param = one["param"].values[j]
                s1_text = _value(float(pick["sobol_S1"].sel(param=param)),
                                 float(pick["sobol_S1_conf"].sel(param=param))) \
                    if pick is not None and param in pick["param"].values.tolist() \
                    else f"{'-':>14}"  # a grouped study's Sobol' indices are per group
                lines.append(f"{name:<{OUTPUT_WIDTH}} {param:<{P}} "
                             f"{number(one, 'pawn_median', j):>8} "
                             f"{number(one, 'pawn_max', j):>8} "
                             f"{number(one, 'delta', j):>6} {gd_text} {s1_text}")
            nulls = [f"{float(np.nanmean(one[q].values)):.3f}" if q in one else "-"
                     for q in ("pawn_median_null", "pawn_max_null", "delta_null")]
            if any(n != "-" for n in nulls):
                lines.append(f"{'':<{OUTPUT_WIDTH}} {'(null)':<{P}} {nulls[0]:>8} "
                             f"{nulls[1]:>8} {nulls[2]:>6}")
    return "\n".join(lines)


def _measure_sentences(measures: dict, sobol_ds: xr.Dataset) -> list[str]:
    """What the measures say: per case and output, the parameters above their delta (or
    PAWN) null level and those at it; then whether the given-data S1 agrees with the
    pick-freeze S1 within their intervals."""
    merged, key = _measures_merged(measures)
    name = "delta" if key == "delta" else "PAWN median"
    out, agree, differ = [], 0, []
    for title, case in _cases(merged, key):
        where = _case_of(case, merged, key)
        for output in case["output"].values.tolist():
            one = case.sel(output=output)
            if not np.isfinite(one[key].values).any():
                continue
            head = f"{output}{' (' + title + ')' if title else ''}"
            if f"{key}_null" in one:
                above = one[key].values > one[f"{key}_null"].values
                order = np.argsort(-one[key].values, kind="stable")
                strong = [f"{one['param'].values[j]} ({one[key].values[j]:.2f})"
                          for j in order if above[j]]
                weak = [one["param"].values[j] for j in order if not above[j]]
                out.append(f"{head}: {', '.join(strong) or 'no parameter'} above the null "
                           "level" + (f"; {', '.join(weak)} at or below it" if weak else ""))
            if "given_data" in measures and output in sobol_ds["output"].values.tolist():
                common = [q for q in one["param"].values.tolist()
                          if q in sobol_ds["param"].values.tolist()]  # groups: singletons
                g = measures["given_data"].sel({**where, "output": output, "param": common})
                p = sobol_ds.sel({**where, "output": output, "param": common})
                ok = np.abs(g["given_data_S1"].values - p["sobol_S1"].values) <= \
                    g["given_data_S1_conf"].values + p["sobol_S1_conf"].values
                agree += int(ok.sum())
                differ += [f"{head} {q}" for q, fine in zip(common, ok) if not fine]
    lines = []
    if out:
        lines.append(f"By {name} (a parameter at or below its null level cannot be told "
                     "from no influence):")
        lines += out
    if "given_data" in measures:
        lines.append(f"The given-data S1 agrees with the pick-freeze S1 within their "
                     f"intervals for {agree} of {agree + len(differ)} (output, parameter) "
                     "pairs" + (f"; they differ for {', '.join(differ)}" if differ else ""))
    return lines


def morris_table(ds: xr.Dataset) -> str:
    """For each case and output of a Morris store, the parameters ranked by mu_star, with
    mu and sigma, each with its bootstrap interval."""
    lines = [f"Morris screening: {ds.attrs.get('trajectories')} trajectories on "
             f"{ds.attrs.get('levels')} levels; elementary effects per unit of the "
             "parameter's unit-cube coordinate"]
    P = _param_width(ds)
    for title, case in _cases(ds, "morris_mu_star"):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<{OUTPUT_WIDTH}} {'param':<{P}} {'mu_star':>16} "
                     f"{'mu':>16} {'sigma':>16}")
        for output in case["output"].values.tolist():
            one = case.sel(output=output)
            names = labels.wrap(output, OUTPUT_WIDTH)
            reason = str(one["morris_skip_reason"].values)
            if reason:
                lines.append(f"{names[0]:<{OUTPUT_WIDTH}} {'-':<{P}} no measures: {reason}")
                continue
            order = np.argsort(-one["morris_mu_star"].values, kind="stable")
            for rank, j in enumerate(order):
                name = names[rank] if rank < len(names) else ""
                cells = " ".join(f"{_morris_value(one, q, j):>16}"
                                 for q in ("mu_star", "mu", "sigma"))
                lines.append(f"{name:<{OUTPUT_WIDTH}} {one['param'].values[j]:<{P}} {cells}")
    return "\n".join(lines)


def _morris_value(one: xr.Dataset, q: str, j: int) -> str:
    """A Morris statistic with its half-width, to 4 significant digits (they have the
    output's units)."""
    value, conf = float(one[f"morris_{q}"].values[j]), float(one[f"morris_{q}_conf"].values[j])
    return f"{value:.4g} ±{conf:.2g}"


# --- `reesens report`: figures, a Markdown summary and an HTML page ----------------------

AUDIT_OUTPUTS = ("sets_differ", "region", "disagreement_region")  # woods_audit bookkeeping
PHASE_PLANES = (("kappa", "p"), ("delta", "p"), ("A", "delta"))  # (x, y), where present
FORMATS = ("png", "pdf", "svg")
DEFAULT_DPI = 150


class ReportError(ValueError):
    """The store cannot be reported on, or the report's options do not fit it."""


CLOSED_FORM_MODELS = ("woods", "woods_audit")  # mu_star = (A + gamma) / (gamma + delta)
MARKER = ".reesens-report"  # in a report directory: the names reesens wrote there
PROGRESS_CHUNKS = 64  # grid chunks from which counting codes shows progress


def default_report_dir(store: Path) -> Path:
    return store.with_name(store.name.removesuffix(".zarr") + "-report")


class _Directory:
    """A report directory being written. Every name its MARKER lists is reesens': the
    files of the report before, and this report's files and temporary files, each listed
    (the marker rewritten whole) before it exists. Files are written whole
    (engine.files.atomic_write), so a report killed or refused by the disk at any point
    leaves a directory the next report takes; finish() removes what the report before
    wrote and this one did not, and leaves the marker listing this report's files."""

    def __init__(self, out: Path):
        self.out, self.marker = out, out / MARKER
        self.before = _claim(out)
        self.listed, self.written = set(self.before), []
        # the marker's own temporary file, listed before the marker is first rewritten:
        # one appended line (a new marker, or the last report's)
        fd = os.open(self.marker, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
                     0o666)
        try:
            os.write(fd, f"\n{files.temp_name(self.marker).name}\n".encode())
        finally:
            os.close(fd)

    def _mark(self, names) -> None:
        text = "".join(f"{n}\n" for n in sorted(names))
        files.atomic_write(self.marker, lambda temp: temp.write_text(text))

    def write(self, name: str, write) -> Path:
        """The file `name`, listed with its temporary file, then written by `write(path)`
        through engine.files.atomic_write (as figures.save does)."""
        path = self.out / name
        self.listed |= {name, files.temp_name(path).name}
        self._mark(self.listed | {files.temp_name(self.marker).name})
        write(path)
        self.written.append(name)
        return path

    def text(self, name: str, text: str) -> Path:
        return self.write(name, lambda path: files.atomic_write(
            path, lambda temp: temp.write_text(text)))

    def finish(self) -> None:
        for name in sorted(self.before - set(self.written)):
            (self.out / name).unlink(missing_ok=True)
        self._mark(set(self.written))


class _Figures:
    """The figures of one report: drawn, saved in the chosen format and captioned."""

    def __init__(self, directory: _Directory, fmt: str, dpi: int):
        self.directory, self.fmt, self.dpi, self.saved = directory, fmt, dpi, []

    def add(self, fig, name: str, caption: str) -> None:
        from reesens.present import figures
        try:
            path = self.directory.write(f"{name}.{self.fmt}",
                                        lambda path: figures.save(fig, path, self.dpi))
        finally:
            figures.plt.close(fig)  # also when it was not saved
        self.saved.append((path, caption))


def write_report(store: Path, out: Path | None = None, progress: bool = False, *,
                 fmt: str = "png", dpi: int = DEFAULT_DPI, outputs=None,
                 slices: dict | None = None) -> list[Path]:
    """Figures (`fmt`: png, pdf or svg), summary.md and index.html (every figure with its
    caption, and the summary) for a Monte Carlo or grid store; returns the files.

    outputs: output names or indicator labels to report (None: all); slices: for grid
    stores, {parameter: value} at which to cut the phase diagrams (the nearest grid
    value). With `progress`, counting the codes of a large grid shows its progress.
    """
    store = Path(store)
    if fmt not in FORMATS:
        raise ReportError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out = Path(out) if out is not None else default_report_dir(store)
    ownership.refuse_inside_zarr(out.resolve())
    groups = set(verify.require_intact(store))
    if slices and "grid" not in groups:
        raise ReportError(f"{store}: --slice applies to grid stores, and this one is a Monte "
                          "Carlo store")
    root = store_module.root_attrs(store)
    directory = _Directory(out)
    drawn = _Figures(directory, fmt, dpi)
    lines = [f"# {root.get('title') or root.get('study', store.name)}", ""]
    if "sobol" in groups:
        lines += _sobol_report(store, drawn, "convergence" in groups, outputs,
                               verify.has_samples(store))
    if "morris" in groups:
        lines += _morris_report(store, drawn, outputs)
    if "grid" in groups:
        lines += _grid_report(store, drawn, progress, slices or {}, outputs)
    lines += ["## Provenance", ""] + _provenance(root)
    summary = directory.text("summary.md", "\n".join(lines) + "\n")
    page = directory.text("index.html", _html(lines, drawn.saved))
    directory.finish()
    return [f for f, _ in drawn.saved] + [summary, page]


def _html(lines: list[str], figures: list[tuple[Path, str]]) -> str:
    """A page that opens offline: every figure (by relative path) with its caption, then
    the summary (its headings and bullets as HTML)."""
    from html import escape
    title = lines[0].removeprefix("# ")
    body = [f"<h1>{escape(title)}</h1>"]
    for path, caption in figures:
        media = (f'<object data="{escape(path.name)}" type="application/pdf" width="100%" '
                 f'height="700">{escape(path.name)}</object>' if path.suffix == ".pdf"
                 else f'<img src="{escape(path.name)}" alt="{escape(caption)}" '
                 'onload="this.dataset.loaded=1" onerror="this.dataset.broken=1">')
        body.append(f"<figure>{media}<figcaption>{escape(caption)}</figcaption></figure>")
    in_list = False
    for line in lines[1:]:
        if line.startswith("- ") and not in_list:
            body.append("<ul>")
            in_list = True
        elif not line.startswith("- ") and in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("## "):
            body.append(f"<h2>{escape(line[3:])}</h2>")
        elif line.startswith("- "):
            body.append(f"<li>{escape(line[2:])}</li>")
        elif line.startswith("|"):
            body.append(f"<pre>{escape(line)}</pre>")
        elif line:
            body.append(f"<p>{escape(line)}</p>")
    if in_list:
        body.append("</ul>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
             "img{max-width:100%}figure{margin:1.5em 0}figcaption{color:#333}"
             "pre{margin:0}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _claim(out: Path) -> set[str]:
    """Make `out` a report directory: a new one, or one a report wrote (its MARKER lists
    the names reesens wrote there); returns the names listed. Anything else is refused:
    a file, or a directory holding a name reesens did not write."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out}: exists and is not a directory; choose another --out "
                          "(a report is a directory of figures and summary.md)")
    ours = set()
    if out.is_dir():
        marker = out / MARKER
        if marker.is_symlink() or (marker.is_file() and marker.stat().st_nlink > 1):
            raise ReportError(f"{marker}: a link, not a marker reesens wrote; choose "
                              "another --out")
        if marker.is_file():  # plain names only: nothing outside `out` is ever ours
            ours = {n for n in marker.read_text().splitlines()
                    if n and "/" not in n and n not in (".", "..", MARKER)}
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ours | {MARKER})
        if foreign:
            raise ReportError(
                f"{out}: not a reesens report directory (it holds {', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return ours


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text).split()) or "all"


def _ci(value: float, conf: float) -> str:
    return f"{value:.3f} ± {conf:.3f}"


def select_outputs(available: list[str], wanted) -> list[str]:
    """The labels of `available` that `wanted` names (an output name takes its indicators
    'name==code'); all when wanted is None. ReportError names what matches nothing."""
    if wanted is None:
        return list(available)
    chosen = [a for a in available if a in wanted or a.split("==")[0] in wanted]
    unknown = [w for w in wanted if not any(a == w or a.split("==")[0] == w
                                            for a in available)]
    if unknown:
        raise ReportError(f"--outputs {' '.join(unknown)}: not an output of this store "
                          f"(it has {', '.join(dict.fromkeys(a.split('==')[0] for a in available))})")
    return chosen


def _sobol_report(store: Path, drawn: _Figures, has_convergence: bool, wanted,
                  has_samples: bool = False) -> list[str]:
    from reesens.present import figures
    sobol_ds = verify.open_group(store, "sobol")
    summary = verify.open_group(store, "summary")
    rows, N = int(summary.attrs["rows"]), sobol_ds.attrs["N"]
    dropped = complements(summary)
    chosen = select_outputs(sobol_ds["output"].values.tolist(), wanted)
    conf = f"{float(sobol_ds.attrs['conf_level']):.0%}"
    lines = [f"Monte Carlo study, N = {N} base points ({rows:,} model rows), "
             f"{sobol_ds.attrs['estimator']} estimator, intervals at {conf}.", ""]
    if "param_members" in sobol_ds.coords:  # a grouped study: indices per group
        groups = [f"{g} ({m.replace(' ', ', ')})" for g, m in zip(
            sobol_ds["param"].values.tolist(), sobol_ds["param_members"].values.tolist())
            if g != m]
        lines += [f"Sobol' indices are per group of parameters: {'; '.join(groups)}; the "
                  "other parameters are groups of their own.", ""]
    lines += [f"Left out of tables and figures: {d}, which has the same indices as {k} "
              "(only two codes occur: their indicators sum to 1)."
              for d, k in dropped.items() if d in chosen] + ([""] if dropped else [])
    cases = _cases(sobol_ds)
    for title, case in cases:
        name = labels.case_words(_case_of(case, sobol_ds)) or "all rows"
        outputs = [o for o in figures.analysed_outputs(case)
                   if o in chosen and o not in dropped]
        drawn.add(figures.sobol_bars(case, f"Sobol' indices: {name} (N = {N})", outputs),
                  f"sobol_{_slug(title)}",
                  f"First-order (S1) and total (ST) Sobol' indices of each output, {name}, "
                  f"with {conf} intervals; N = {N}.")
        if "sobol_S2" in case:
            drawn.add(figures.s2_heatmaps(case, f"Second-order indices: {name} (N = {N})",
                                          outputs), f"s2_{_slug(title)}",
                      f"Second-order indices S2 of each pair of parameters, {name}; "
                      f"hatched: the {conf} interval contains 0; N = {N}.")
        lines += [f"## What drives the outputs{': ' + name if title else ''}", ""]
        lines += [f"- In short: {line}." for line in drivers(case).splitlines()]
        lines += [f"- {sentence}" for sentence in _driver_sentences(case, outputs)] + [""]
    if len(cases) > 1:
        outputs = [o for o in figures.analysed_outputs(sobol_ds.isel(
            {d: 0 for d in _case_dims(sobol_ds)})) if o in chosen and o not in dropped]
        compared = [(labels.case_words(_case_of(case, sobol_ds)), _case_of(case, sobol_ds))
                    for _, case in cases]
        drawn.add(figures.case_comparison(sobol_ds, compared, outputs,
                                          f"The cases side by side (N = {N})"),
                  "compare_cases", "Total indices ST (bars) and first-order indices S1 "
                  f"(dots) of each output per case, with {conf} intervals; N = {N}.")
        lines += ["## The cases side by side", ""] + _comparison_table(sobol_ds, compared,
                                                                         outputs) + [""]
    codes = [v.removeprefix("summary_").removesuffix("_frequency")
             for v in summary.data_vars if v.endswith("_frequency")]
    for variable in codes:
        drawn.add(figures.code_frequencies(summary, variable), f"frequency_{variable}",
                  f"Share of the {rows:,} model rows per code of {variable}, per case.")
    measures = open_measures(store, verify.finished_groups(store))
    if measures:
        lines += _measures_report(drawn, measures, sobol_ds, chosen)
    if has_samples:
        lines += _behaviour(store, drawn, sobol_ds, chosen, dropped)
    lines += ["## Invalid and NaN rows", ""] + _invalid_sentences(summary, codes, rows) + [""]
    if "summary_sets_differ_frequency" in summary:
        lines += ["## Paper audit", ""] + _audit_sentences(summary, sobol_ds) + [""]
    if has_convergence:
        convergence = verify.open_group(store, "convergence")
        drawn.add(figures.convergence(convergence, [o for o in chosen if o not in dropped]),
                  "convergence", "Total indices ST against the base sample count N, with "
                  "interval bands, as the run doubled N towards its target.")
        lines += ["## Convergence", "", f"- {target_outcome(convergence.attrs)}", ""]
    return lines


def _measures_report(drawn: _Figures, measures: dict, sobol_ds: xr.Dataset, chosen
                     ) -> list[str]:
    """The PAWN and delta figure per case and the section on what the measures say."""
    from reesens.present import figures
    merged, key = _measures_merged(measures)
    attrs = next(iter(measures.values())).attrs
    if "pawn" in measures or "delta" in measures:
        for title, case in _cases(merged, key):
            outputs = [o for o in case["output"].values.tolist() if o in chosen
                       and np.isfinite(case[key].sel(output=o).values).any()]
            name = labels.case_words(_case_of(case, merged, key)) or "all rows"
            drawn.add(figures.measure_bars(case, f"Moment-independent measures: {name}",
                                           outputs), f"measures_{_slug(title)}",
                      "Borgonovo's delta and the PAWN median (max over slices: tick) of "
                      f"each output, {name}, from {int(attrs['rows']):,} A and B rows in "
                      f"{attrs['slices']} slices per parameter; dashed: the null level a "
                      "parameter the output ignores reads at or below.")
    lines = ["## Beyond variance: PAWN, delta and given-data S1", ""]
    lines += [f"- {line}" for line in _measure_sentences(measures, sobol_ds)]
    return lines + [""]


def _morris_report(store: Path, drawn: _Figures, wanted) -> list[str]:
    """The mu_star-sigma plane per case and the ranking by mu_star of a Morris store."""
    from reesens.present import figures
    ds = verify.open_group(store, "morris")
    chosen = select_outputs(ds["output"].values.tolist(), wanted)
    T = int(ds.attrs["trajectories"])
    lines = [f"Morris screening, {T} trajectories on {ds.attrs['levels']} levels "
             f"({T * (ds.sizes['param'] + 1):,} rows per case); intervals at "
             f"{float(ds.attrs['conf_level']):.0%} from {ds.attrs['resamples']} resamples "
             "of the trajectories.", ""]
    for title, case in _cases(ds, "morris_mu_star"):
        name = labels.case_words(_case_of(case, ds, "morris_mu_star")) or "all rows"
        outputs = [o for o in chosen if not str(case["morris_skip_reason"].sel(output=o).values)]
        drawn.add(figures.morris_plane(case, f"Morris screening: {name}", outputs),
                  f"morris_{_slug(title)}",
                  f"mu_star (mean absolute elementary effect) against sigma (their spread) "
                  f"of each parameter, per output, {name}; whiskers: intervals of mu_star. "
                  "Far right: influential; high: non-linear or interacting.")
        lines += [f"## Screening{': ' + name if title else ''}", ""]
        for output in outputs:
            one = case.sel(output=output)
            order = np.argsort(-one["morris_mu_star"].values, kind="stable")
            mu_star = one["morris_mu_star"].values
            ranked = ", ".join(f"{one['param'].values[j]} ({mu_star[j]:.3g})" for j in order)
            lines.append(f"- {output}: by mu_star, {ranked}")
        lines.append("")
    return lines


def _behaviour(store: Path, drawn: _Figures, sobol_ds: xr.Dataset, chosen, dropped
               ) -> list[str]:
    """Plots of the model's behaviour from the kept sample rows (--keep-samples): each
    continuous output against each parameter (first case), the outputs' distributions
    per case, and the share of each code conditional on each parameter (first case)."""
    from reesens.present import figures
    samples = verify.open_samples(store)
    params = [p for p in sobol_ds["param"].values.tolist() if p in samples]
    analysed = [o for o in dict.fromkeys(o.split("==")[0] for o in chosen if o not in dropped)
                if o in samples.data_vars and o not in params]
    continuous = [o for o in analysed if "flag_values" not in samples[o].attrs]
    code_outputs = [o for o in analysed if "flag_values" in samples[o].attrs]
    case_dims = [d for d in samples.dims if d != "sample"]
    cases = [dict(zip(case_dims, values)) for values in
             product(*(samples[d].values.tolist() for d in case_dims))] or [{}]

    def rows(case):
        one = samples.sel(case) if case else samples
        return ({p: one[p].values for p in params},
                {o: one[o].values for o in continuous + code_outputs})

    n = samples.sizes["sample"]
    first, name = rows(cases[0]), labels.case_words(cases[0]) or "all rows"
    if continuous:
        drawn.add(figures.scatter_matrix(first[0], {o: first[1][o] for o in continuous},
                                         f"Each output against each parameter: {name} "
                                         f"({n:,} rows)"), "scatter",
                  f"Every kept sample row ({n:,}, {name}) of each output against each "
                  f"parameter; hexbins of counts from {figures.HEXBIN_FROM:,} rows.")
        by_case = {labels.case_words(c) or "all rows": rows(c)[1] for c in cases}
        drawn.add(figures.histograms(by_case, continuous,
                                     f"Distribution of each output ({n:,} rows per case)"),
                  "histograms", "Distribution (density) of each output over the kept "
                  f"sample rows, one line per case ({n:,} rows each).")
    for output in code_outputs:
        drawn.add(figures.conditional_shares(first[0], first[1][output], samples[output].attrs,
                                             f"Share of each {output} code given each "
                                             f"parameter: {name}"),
                  f"shares_{output}", f"Share of each code of {output} among the kept "
                  f"sample rows ({name}) in ten equal bins of each parameter.")
    return ["## The model's behaviour", "",
            f"- Plots from the {n:,} kept sample rows: scatter.{drawn.fmt}, "
            f"histograms.{drawn.fmt}"
            + "".join(f", shares_{o}.{drawn.fmt}" for o in code_outputs) + ".", ""]


def _case_dims(ds: xr.Dataset, variable: str = "sobol_ST") -> list[str]:
    return [d for d in ds[variable].dims if d not in ("output", "param")]


def _case_of(case: xr.Dataset, ds: xr.Dataset, variable: str = "sobol_ST") -> dict:
    """{dim: value} of one case (selected from ds by _cases on `variable`)."""
    return {d: case[d].values.item() for d in _case_dims(ds, variable)}


def _comparison_table(ds: xr.Dataset, cases, outputs) -> list[str]:
    """Markdown: per output and parameter, ST and S1 with their intervals in each case."""
    head = "| output | param | " + " | ".join(name for name, _ in cases) + " |"
    lines = [head, "|" + "---|" * (2 + len(cases))]
    for output in outputs:
        for param in ds["param"].values.tolist():
            cells = []
            for _, where in cases:
                one = ds.sel(where).sel(output=output, param=param)
                cells.append(f"ST {_ci(float(one['sobol_ST']), float(one['sobol_ST_conf']))}, "
                             f"S1 {_ci(float(one['sobol_S1']), float(one['sobol_S1_conf']))}")
            lines.append(f"| {labels.output_words(output)} | {param} | " + " | ".join(cells)
                         + " |")
    return lines


def target_outcome(attrs: dict) -> str:
    """Whether a `--target-ci` run met its target, from the convergence group's attrs."""
    target, widest, N = attrs["target_ci"], attrs["widest_half_width"], attrs["N_reached"]
    if attrs["target_met"]:
        return (f"target ST half-width {target:g} met at N = {N} (widest half-width "
                f"{widest:.3g})")
    return (f"target ST half-width {target:g} NOT met: the widest half-width is {widest:.3g} "
            f"at N = {N}, the largest N allowed (--max-n); resume with a larger --max-n")


def _driver_sentences(case: xr.Dataset, outputs=None) -> list[str]:
    """'<output> is driven by p (ST 0.41 ± 0.01), ...' for each output (of `outputs`)."""
    sentences = []
    for output, one, reason in _outputs(case):
        if outputs is not None and output not in outputs and not reason:
            continue
        whole = labels.is_aggregate(str(one["output_long_name"].values))
        what = ("the indicator " if "==" in output else "") + labels.output_words(output) + (
            " (all its codes at once)" if whole else "")
        if reason:
            if outputs is None or output.split("==")[0] in {o.split("==")[0] for o in outputs}:
                sentences.append(f"{what}: no indices ({reason}).")
            continue
        st, conf = one["sobol_ST"].values, one["sobol_ST_conf"].values
        order = [j for j in np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
                 if st[j] - conf[j] > 0.01][:3]
        if not order:
            sentences.append(f"{what}: no parameter's ST is clearly above 0.01.")
            continue
        top = ", ".join(f"{one['param'].values[j]} (ST {_ci(st[j], conf[j])}, "
                        f"S1 {_ci(one['sobol_S1'].values[j], one['sobol_S1_conf'].values[j])})"
                        for j in order)
        sentences.append(f"{what} is driven most by {top}.")
    return sentences


def _invalid_sentences(summary: xr.Dataset, codes, rows: int) -> list[str]:
    lines = []
    for variable in codes:
        if -1 in summary[f"{variable}_code"]:
            invalid = summary[f"summary_{variable}_frequency"].sel({f"{variable}_code": -1})
            n = int(round(float(invalid.max()) * rows))
            lines.append(f"- {variable}: {labels.share(n, rows, 'rows')} of the rows are "
                         f"invalid (code -1){' in the worst case' if invalid.size > 1 else ''}.")
    nan = summary["summary_nan_count"]
    worst = nan.max([d for d in nan.dims if d != "output"]) if nan.ndim > 1 else nan
    with_nan = [f"{o} ({int(n):,} rows, {labels.share(int(n), rows, 'rows')})"
                for o, n in zip(worst["output"].values.tolist(), worst.values) if n]
    lines.append("- NaN rows: " + (", ".join(with_nan) if with_nan else "none") + ".")
    return lines


def _audit_sentences(summary: xr.Dataset, sobol_ds: xr.Dataset) -> list[str]:
    """The paper audit in words: how often and where Theorem 4 differs, and why."""
    rows = int(summary.attrs["rows"])
    differ = float(summary["summary_sets_differ_frequency"].sel(sets_differ_code=1))
    region = summary["summary_region_frequency"]
    where = summary["summary_disagreement_region_frequency"]
    meanings = dict(zip(summary["region_code"].values.tolist(),
                        summary["region_code"].attrs["flag_meanings"].split()))
    lines = [f"- Woods (2025)'s Theorem 4 (`paper`) and the exact verifiable-disclosure set "
             f"differ on {labels.share(round(differ * rows), rows, 'rows')} of the sampled "
             "rows."]
    shares = {}
    for code in summary["region_code"].values.tolist():
        size = float(region.sel(region_code=code))
        if code < 0 or size == 0:
            continue
        words = labels.code_words(meanings[code])
        shares[words] = float(where.sel(disagreement_region_code=code)) / size
        lines.append(f"- In region {words} ({labels.share(round(size * rows), rows, 'rows')} "
                     f"of the rows) they differ on {shares[words]:.1%} of it.")
    lines += _always_never(shares)
    label = "sets_differ==differ"
    if label in sobol_ds["output"].values.tolist():
        case = _cases(sobol_ds)[0][1]
        lines += [f"- Disagreement indicator: {_driver_sentences(case.sel(output=[label]))[0]}"]
    return lines


def _slice_at(cube: xr.Dataset, axes: list[str], x: str, y: str, slices: dict) -> dict:
    """{axis: index} of the slice through the (x, y) plane: the user's value (nearest grid
    value) where given, else the middle value, kappa above phi_D's middle so as to be off
    the kappa == phi_D tie."""
    middle = {d: cube.sizes[d] // 2 for d in axes if d not in (x, y)}
    if {"kappa", "phi_D"} <= set(middle) and "kappa" not in slices:
        middle["kappa"] = (3 * cube.sizes["kappa"]) // 4
    for d, value in slices.items():
        if d in middle:
            middle[d] = int(np.argmin(np.abs(cube[d].values - value)))
    return middle


def _check_slices(cube: xr.Dataset, axes: list[str], slices: dict) -> None:
    for name, value in slices.items():
        if name not in axes:
            raise ReportError(f"--slice {name}={value:g}: {name} is not a swept parameter of "
                              f"this grid (swept: {', '.join(axes)})")
        lo, hi = float(cube[name].values.min()), float(cube[name].values.max())
        if not lo <= value <= hi:
            raise ReportError(f"--slice {name}={value:g}: outside the grid's range of {name}, "
                              f"[{lo:g}, {hi:g}]")


def _grid_report(store: Path, drawn: _Figures, progress: bool, slices: dict,
                 wanted) -> list[str]:
    from reesens.present import figures
    cube = verify.open_grid(store)
    root = store_module.root_attrs(store)
    fixed = json.loads(root.get("fixed_parameters", "{}"))
    options = {k: v for k, v in json.loads(root.get("study_json", "{}")).get("model", {}).items()
               if k != "name" and not isinstance(v, list)}
    axes = [d for d in cube.dims if d in cube.coords and cube[d].dtype.kind == "f"]
    _check_slices(cube, axes, slices)
    case_dims = [d for d in cube.dims if d not in axes]
    code_vars = [v for v in cube.data_vars if "flag_values" in cube[v].attrs]
    panel_vars = select_outputs([v for v in code_vars if v not in AUDIT_OUTPUTS], wanted)
    lines = [f"Grid sweep: {grid_dims(cube)} = {int(root['cells']):,} cells.", ""]
    free = [d for d in axes if d not in slices]
    planes = [pl for pl in PHASE_PLANES if set(pl) <= set(free)] or (
        [tuple(free[-2:])] if len(free) >= 2 else [])  # a 1-D grid gets the summary only
    for x, y in planes:
        position = _slice_at(cube, axes, x, y, slices)
        at = {d: float(cube[d].values[i]) for d, i in position.items()}
        sliced = cube.isel(position).transpose(*case_dims, y, x)
        where = _slice_words(at, fixed, options)
        panels = []
        for variable in panel_vars:
            for index in np.ndindex(*(cube.sizes[d] for d in case_dims)):
                a = sliced[variable][index].load()
                case = {d: sliced[d].values[i] for d, i in zip(case_dims, index)}
                name = cube[variable].attrs.get("long_name", variable)
                panels.append((f"{name}" + (f"; {labels.case_words(case)}" if case else ""),
                               a))
        overlays = {}
        if panels and root.get("model") in CLOSED_FORM_MODELS:
            overlays = figures.woods_overlays(panels[0][1], {**fixed, **at})
        elif panels and "mu_star" in sliced:  # the model's own threshold, as computed
            first = sliced["mu_star"][(0,) * len(case_dims)].load().values
            overlays = figures.woods_overlays(panels[0][1], {**fixed, **at}, mu_star=first)
        if panels:
            drawn.add(figures.phase_diagram(panels, overlays, f"Phase diagram at {where}"),
                      f"phase_{x}_{y}",
                      f"Equilibrium codes over {x} and {y} at {where}. Each cell is centred "
                      "on its grid value and reaches halfway to its neighbours; tie lines "
                      "are drawn at their exact values.")
        differ = _differ(sliced, case_dims)
        if differ:
            drawn.add(figures.disagreement_map(
                differ, overlays, f"Where the classifications differ, at {where}"),
                f"disagreement_{x}_{y}",
                f"Cells of the ({x}, {y}) plane where the two classifications differ, at "
                f"{where}.")
    lines += ["## Equilibrium codes over the grid", ""]
    lines += [f"- {variable}: {shares}."
              for variable, shares in code_shares(cube, progress).items()]
    if {"sets_differ", "region"} <= set(cube.data_vars):
        lines += ["", "## Paper audit on the grid", ""] + _grid_audit(cube, progress)
    return lines + [""]


def _slice_words(at: dict, fixed: dict, options: dict) -> str:
    """Every parameter fixed on a slice, then the model's options, in words."""
    values = ", ".join(f"{labels.text_symbol(d)} = {v:.3g}" for d, v in {**at, **fixed}.items())
    rules = "; ".join(labels.option_words(k, v) for k, v in options.items())
    return "; ".join(t for t in (values, rules) if t)


def grid_dims(cube: xr.Dataset) -> str:
    """'concept 2 x p 40 x ...' in the cube's order: swept options, then axes."""
    return " x ".join(f"{d} {n}" for d, n in cube.sizes.items())


def code_shares(cube: xr.Dataset, progress: bool = False) -> dict[str, str]:
    """{code output: 'code in words 41.0%, ...'}: the share of grid cells of each code
    (a small share as '< 0.1% (n cells)')."""
    shares = {}
    for variable in (v for v in cube.data_vars if "flag_values" in cube[v].attrs):
        counts = _code_counts(cube[variable], progress)
        meanings = dict(zip(cube[variable].attrs["flag_values"],
                            cube[variable].attrs["flag_meanings"].split()))
        total = sum(counts.values())
        shares[variable] = ", ".join(
            f"{labels.code_words(meanings.get(c, str(c)))} {labels.share(n, total)}"
            for c, n in sorted(counts.items()))
    return shares


def _differ(sliced: xr.Dataset, case_dims) -> list[tuple[str, xr.DataArray]]:
    """[(case label, bool (y, x))]: where the two classifications differ, one panel per
    combination of the other swept options ([] when there are not two classifications)."""
    if "sets_differ" in sliced:
        a, compared = sliced["sets_differ"] == 1, "Theorem 4's set vs the verifiable set"
    elif "concept" in sliced.dims and sliced.sizes["concept"] >= 2:
        name = "eq_set" if "eq_set" in sliced else "eq"
        a = sliced[name].isel(concept=0) != sliced[name].isel(concept=1)
        compared = " vs ".join(labels.option_words("concept", c)
                               for c in sliced["concept"].values[:2])
    else:
        return []
    others = [d for d in case_dims if d in a.dims]
    panels = []
    for index in np.ndindex(*(a.sizes[d] for d in others)):
        label = "; ".join([compared] * bool(compared) + [labels.case_words({d: a[d].values[i]})
                                                         for d, i in zip(others, index)])
        panels.append((label.strip(), a.isel(dict(zip(others, index))).load()))
    return panels


def _code_counts(a: xr.DataArray, progress: bool = False) -> dict[int, int]:
    """{code: cells} of an integer cube of any size (codes in [-512, 512)), read one stored
    chunk at a time (with `progress`, a line or bar per chunk when there are many)."""
    import dask.array as da


    counts = np.zeros(1024, dtype=np.int64)
    data = da.asarray(a.data)
    chunks = math.prod(data.numblocks)
    bar = Progress(chunks, progress and chunks >= PROGRESS_CHUNKS,
                   unit=f"chunk of {a.name} counted")
    try:
        for index in np.ndindex(*data.numblocks):
            block = np.asarray(data.blocks[index]).astype(np.int16).ravel() + 512
            counts += np.bincount(block, minlength=1024)
            bar.advance(1)
    finally:
        bar.close()
    return {code - 512: int(n) for code, n in enumerate(counts) if n}


def _grid_audit(cube: xr.Dataset, progress: bool = False) -> list[str]:
    """Share of grid cells where the sets differ, in total and per region of the rules."""
    joint = _code_counts((cube["region"].astype(np.int16) * 2
                          + (cube["sets_differ"] == 1)).rename("region_and_sets_differ"),
                         progress)
    meanings = dict(zip(cube["region"].attrs["flag_values"],
                        cube["region"].attrs["flag_meanings"].split()))
    total = sum(joint.values())
    differ = sum(n for k, n in joint.items() if k % 2)
    lines = [f"- Woods (2025)'s Theorem 4 and the verifiable set differ on {differ / total:.1%} "
             "of the grid cells."]
    shares = {}
    for code in sorted({k // 2 for k in joint}):
        size = joint.get(2 * code, 0) + joint.get(2 * code + 1, 0)
        if code >= 0 and size:
            words = labels.code_words(meanings[code])
            shares[words] = joint.get(2 * code + 1, 0) / size
            lines.append(f"- Region {words} ({size:,} cells, {labels.share(size, total)}): "
                         f"they differ on {shares[words]:.1%} of it.")
    return lines + _always_never(shares)


def _always_never(shares: dict[str, float]) -> list[str]:
    """The audit's conclusion in words: regions where the sets always / never differ."""
    always = [r for r, s in shares.items() if s == 1.0]
    never = [r for r, s in shares.items() if s == 0.0]
    lines = []
    if always:
        lines.append(f"- In words: Theorem 4 misstates the equilibrium set everywhere in "
                     f"{'; '.join(always)}" + (f", and gets it right everywhere in "
                                               f"{'; '.join(never)}" if never else "") + ".")
    return lines


def _provenance(root: dict) -> list[str]:
    keys = ("study", "study_file", "model", "N", "estimator", "seed", "cells", "git_commit",
            "git_dirty", "command", "wall_time_s", "resumed")
    lines = [f"- {k}: {root[k]}" for k in keys if k in root]
    versions = json.loads(root.get("package_versions", "{}"))
    if versions:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    return lines
