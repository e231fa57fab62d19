"""Reports of a results store: the ranking table and drivers (text, for the terminal),
and `reesens report`'s figures and Markdown summary (present.figures draws)."""
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
from reesens.kernels.registry import get_model
from reesens.methods import tables
from reesens.methods.tables import ReportError
from reesens.present import style
from reesens.store import cube as cube_module
from reesens.store import layout as store_module
from reesens.store import ownership, verify
from reesens.study import labels, registry

# --- `reesens report`: figures, a Markdown summary and an HTML page ----------------------



MARKER = ".reesens-report"  # in a report directory: the names reesens wrote there
PROGRESS_CHUNKS = 64  # grid chunks a report reads from which it shows its progress


def default_report_dir(store: Path) -> Path:
    return store.with_name(store.name.removesuffix(".zarr") + "-report")


class _Directory:
    """A report directory being written. Every name its MARKER lists is reesens': the
    files of the report before, and this report's files and temporary files, each listed
    (the marker rewritten whole) before it exists. Files are written whole
    (core.files.atomic_write), so a report killed or refused by the disk at any point
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
        through core.files.atomic_write (as figures.save does)."""
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


class Page:
    """What a method's report section sees (study.registry.Method.report): the store's
    finished groups, opened once each; the outputs the user chose; and figures, drawn by
    present.figures (`page.figures`), saved in the chosen format and captioned."""

    def __init__(self, store: Path, groups, directory: _Directory, fmt: str, dpi: int,
                 wanted=None):
        self.store, self.groups, self.fmt, self.dpi = store, set(groups), fmt, dpi
        self.directory, self.wanted, self.saved, self._open = directory, wanted, [], {}

    @property
    def figures(self):
        from reesens.present import figures  # imports matplotlib: only for reports
        return figures

    @property
    def where(self):
        from reesens.present import where  # imports matplotlib: only for reports
        return where

    def open(self, group: str) -> xr.Dataset:
        if group not in self._open:
            self._open[group] = verify.open_group(self.store, group)
        return self._open[group]

    def chosen(self, available: list[str], strict: bool = True) -> list[str]:
        """The outputs of `available` the user asked for (all by default); not `strict`:
        regions, of which a name asked for may match none."""
        return tables.select_outputs(available, self.wanted, strict)

    def figure(self, fig, name: str, caption: str) -> None:
        try:
            path = self.directory.write(f"{name}.{self.fmt}",
                                        lambda path: self.figures.save(fig, path, self.dpi))
        finally:
            self.figures.plt.close(fig)  # also when it was not saved
        self.saved.append((path, caption))


def write_report(store: Path, out: Path | None = None, progress: bool = False, *,
                 fmt: str = "png", dpi: int = style.DPI, outputs=None,
                 slices: dict | None = None) -> list[Path]:
    """Figures (`fmt`: png, pdf or svg), summary.md and index.html (every figure with its
    caption, and the summary) for a Monte Carlo, Morris or grid store; returns the files.

    Each method whose groups the store holds writes its section (study.registry), in the
    registry's order; then the kept sample rows' plots, a grid's phase diagrams and the
    provenance. outputs: output names or indicator labels to report (None: all); slices:
    for grid stores, {parameter: value} at which to cut the phase diagrams (the nearest
    grid value). With `progress`, reading many chunks of a grid shows its progress.
    """
    store = Path(store)
    if fmt not in style.FORMATS:
        raise ReportError(f"format {fmt!r}: expected one of {', '.join(style.FORMATS)}")
    out = Path(out) if out is not None else default_report_dir(store)
    ownership.refuse_inside_zarr(out.resolve())
    groups = set(verify.require_intact(store, cells=False))
    if slices and "grid" not in groups:
        raise ReportError(f"{store}: --slice applies to grid stores, and this one is a Monte "
                          "Carlo store")
    root = store_module.root_attrs(store)
    grid = _grid_read(store, slices or {}, progress) if "grid" in groups else None
    directory = _Directory(out)
    page = Page(store, groups, directory, fmt, dpi, outputs)
    lines = [f"# {root.get('title') or root.get('study', store.name)}", ""]
    for method in registry.methods():
        if method.report is not None and method.groups[0] in groups:
            lines += method.report(page)
    if verify.has_samples(store):
        lines += _behaviour(page)
    elif "summary" in groups:
        lines += _without_samples(page, root)
    if grid is not None:
        lines += _grid_report(store, page, *grid, outputs)
    lines += ["## Provenance", ""] + _provenance(root)
    summary = directory.text("summary.md", "\n".join(lines) + "\n")
    html = directory.text("index.html", _html(lines, page.saved))
    directory.finish()
    return [f for f, _ in page.saved] + [summary, html]


def show(groups: dict, **options) -> str:
    """`reesens show` and the end of `reesens run`: each method's text for the result
    groups {group: Dataset} it finds, in the registry's order."""
    parts = [m.show(groups, options) for m in registry.methods()
             if m.show is not None and m.groups[0] in groups]
    return "\n".join(p for p in parts if p)


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


def _behaviour(page: Page) -> list[str]:
    """Plots of the model's behaviour from the kept sample rows (--keep-samples), for
    every case: each continuous output against each parameter, and the share of each
    code conditional on each parameter (a figure per case, named by the case where
    there are several); and the outputs' distributions, one line per case."""
    figures = page.figures
    samples = verify.open_samples(page.store)
    model = get_model(store_module.root_attrs(page.store)["model"])
    params = [p for p in model.param_names if p in samples.data_vars]
    analysed = page.chosen([o for o in model.output_names if o in samples.data_vars])
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
    names = []
    for case in cases:
        values, outputs = rows(case)
        name = labels.case_words(case) or "all rows"
        tail = "_" + tables.slug(tables.case_title(case)) if len(cases) > 1 else ""
        if continuous:
            names.append(f"scatter{tail}")
            page.figure(figures.scatter_matrix(values, {o: outputs[o] for o in continuous},
                                               f"Each output against each parameter: "
                                               f"{name} ({n:,} rows)"), names[-1],
                        f"Each output against each parameter over the {n:,} kept sample "
                        f"rows ({name}): one dot per row, or where a panel has "
                        f"{figures.HEXBIN_FROM:,} rows or more, hexagons coloured by how "
                        "many rows fall in each (colour bar).")
        for output in code_outputs:
            names.append(f"shares_{output}{tail}")
            page.figure(figures.conditional_shares(values, outputs[output],
                                                   samples[output].attrs,
                                                   f"Share of each {output} code given each "
                                                   f"parameter: {name}"), names[-1],
                        f"Share of each code of {output} among the kept sample rows "
                        f"({name}) in ten equal bins of each parameter.")
    if continuous:
        by_case = {labels.case_words(c) or "all rows": rows(c)[1] for c in cases}
        names.append("histograms")
        marks = model.words.marks  # the model's reference values, dotted
        marked = "; ".join(f"{o}: " + ", ".join(f"{label} {v:g}" for v, label in marks[o])
                           for o in continuous if o in marks)
        page.figure(figures.histograms(by_case, continuous,
                                       f"Distribution of each output ({n:,} rows per case)",
                                       marks),
                    "histograms", "Distribution (density) of each output over the kept "
                    f"sample rows, one line per case ({n:,} rows each)"
                    + (f"; dotted: reference values ({marked})" if marked else "") + ".")
    return ["## The model's behaviour", "",
            f"- Plots from the {n:,} kept sample rows"
            + (f" of each of the {len(cases)} cases" if len(cases) > 1 else "") + ": "
            + ", ".join(f"{f}.{page.fmt}" for f in names) + ".", ""]


def _without_samples(page: Page, root: dict) -> list[str]:
    """Where the model marks reference values on outputs' distributions (Words.marks) and
    the store kept no sample rows: how to have that figure drawn."""
    marks = get_model(root["model"]).words.marks
    summary = verify.open_group(page.store, "summary")
    marked = [o for o in page.chosen(summary["output"].values.tolist()) if o in marks]
    if not marked:
        return []
    named = list(dict.fromkeys(label for o in marked for _, label in marks[o]))
    return ["## The outputs' distributions", "",
            f"- The distributions of {', '.join(marked)} with their reference values "
            f"marked ({', '.join(named)}) are drawn from kept sample rows, which this "
            "store has not: run the study "
            "again with --keep-samples (the store then holds every row's parameters and "
            "outputs; a smaller --n is enough for the figure).", ""]


def _slice_at(cube: xr.Dataset, axes: list[str], x: str, y: str, slices: dict,
              tie=None) -> dict:
    """{axis: index} of the slice through the (x, y) plane: the user's value (nearest grid
    value) where given, else the middle value; with the model's tie (a, b), a above b's
    middle so as to be off the a == b tie."""
    middle = {d: cube.sizes[d] // 2 for d in axes if d not in (x, y)}
    if tie and set(tie) <= set(middle) and tie[0] not in slices:
        middle[tie[0]] = (3 * cube.sizes[tie[0]]) // 4
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


def _axes(cube: xr.Dataset) -> list[str]:
    """The cube's swept parameters (its dims but the swept options)."""
    return [d for d in cube.dims if d in cube.coords and cube[d].dtype.kind == "f"]


def _grid_read(store: Path, slices: dict, progress: bool):
    """What a grid's report reads, checked before it writes anything: (the cube,
    [((x, y), {dim: index})]: the planes of its phase diagrams and where each cuts the
    cube, {outputs: counts}: store.cube.stored_counts). The chunks each plane reads are
    checked against their digests (one progress bar over them); ReportError for a
    --slice off the grid, StoreError for a store without counts."""
    cube = verify.open_grid(store, dask=False)
    counts = cube_module.stored_counts(store)
    words = labels.words_of(store_module.root_attrs(store).get("model", ""))
    axes = _axes(cube)
    _check_slices(cube, axes, slices)
    free = [d for d in axes if d not in slices]
    planes = [pl for pl in words.planes if set(pl) <= set(free)] or (
        [tuple(free[-2:])] if len(free) >= 2 else [])  # a 1-D grid gets the summary only
    cuts = [_slice_at(cube, axes, x, y, slices, words.tie) for x, y in planes]
    chunks = [cube_module.chunks_at(cube, position) for position in cuts]
    total = sum(map(len, chunks))
    bar = Progress(total, progress and total >= PROGRESS_CHUNKS, unit="grid chunk read")
    try:
        for read in chunks:
            verify.require_chunks(store, read)
            bar.advance(len(read))
    finally:
        bar.close()
    return cube, list(zip(planes, cuts)), counts


def _grid_report(store: Path, page: Page, cube: xr.Dataset, cuts, counts: dict,
                 wanted) -> list[str]:
    """The grid's phase diagrams at `cuts` and the shares of its codes from the chunks'
    `counts` (_grid_read)."""
    from reesens.present import phase  # imports matplotlib: only for reports
    root = store_module.root_attrs(store)
    fixed = json.loads(root.get("fixed_parameters", "{}"))
    options = {k: v for k, v in json.loads(root.get("study_json", "{}")).get("model", {}).items()
               if k != "name" and not isinstance(v, list)}
    case_dims = [d for d in cube.dims if d not in _axes(cube)]
    words = labels.words_of(root.get("model", ""))
    audit = words.audit
    bookkeeping = (audit.flag, audit.region, audit.where) if audit else ()
    code_vars = [v for v in cube.data_vars if "flag_values" in cube[v].attrs]
    panel_vars = tables.select_outputs([v for v in code_vars if v not in bookkeeping], wanted)
    value_vars = [v for v in cube.data_vars if v not in code_vars
                  and cube[v].dtype.kind == "f" and set(_axes(cube)) <= set(cube[v].dims)
                  and (wanted is None or v in wanted)]  # continuous outputs: maps
    lines = [f"Grid sweep: {grid_dims(cube)} = {int(root['cells']):,} cells.", ""]
    for plane, position in cuts:
        _plane(page, phase, cube, plane, position, case_dims, panel_vars, words, fixed,
               options, value_vars)
    lines += ["## Equilibrium codes over the grid", ""]
    lines += [f"- {variable}: {shares}."
              for variable, shares in code_shares(cube, counts).items()]
    if audit and (audit.region, audit.flag) in counts:
        lines += ["", f"## {audit.title} on the grid", ""] + _grid_audit(cube, audit, counts)
    where = _grid_where(cube, panel_vars, case_dims, root, fixed, options)
    if where:
        lines += ["", "## Where in the grid", "",
                  f"PRIM boxes and classification-tree rules of each code over the cells "
                  f"(a full factorial sample of the box; {where[0]}):", ""]
        lines += [f"- {line}" for line in where[1:]]
    return lines + [""]


GRID_WHERE_CELLS = 2**15  # cells PRIM and the rules read at most: every s-th on each axis


def _grid_where(cube: xr.Dataset, code_vars: list[str], case_dims: list[str],
                root: dict, fixed: dict, options: dict) -> list[str]:
    """[what was read, then each case's boxes and rules] (methods.prim.describe_cells) over
    a regular sub-grid of at most GRID_WHERE_CELLS cells, with the model's derived
    quantities (evaluated at those cells, from the fixed parameters and options) among
    the dimensions; [] without code outputs."""
    from reesens.methods import prim
    from reesens.study.schema import ANALYSIS_DEFAULTS
    axes = _axes(cube)
    if not code_vars or not axes:
        return []
    step = {a: 1 for a in axes}
    while np.prod([math.ceil(cube.sizes[a] / step[a]) for a in axes]) > GRID_WHERE_CELLS:
        widest = max(axes, key=lambda a: math.ceil(cube.sizes[a] / step[a]))
        step[widest] *= 2
    model = get_model(root["model"])
    try:
        sub = cube[code_vars].isel({a: slice(None, None, step[a]) for a in axes}).load()
    except Exception:  # noqa: BLE001 (a damaged chunk outside the slices drawn)
        return ["not read: a chunk of the sub-grid cannot be read, and `reesens verify` "
                "names it"]
    derived = list(model.derived) if set(model.param_names) <= set(fixed) | set(axes) else []
    analysis = json.loads(root.get("study_json", "{}")).get("analysis", {})
    settings = {k: analysis.get(k, ANALYSIS_DEFAULTS[k]) for k in (
        "prim_threshold", "peel_alpha", "paste_alpha", "mass_min", "tree_depth")}
    cells = int(np.prod([sub.sizes[a] for a in axes]))
    stepped = [f"{step[a]}th {a}" for a in axes if step[a] > 1]
    lines = [f"{cells:,} cells, every {', '.join(stepped)}" if stepped
             else f"all {cells:,} cells"]
    cases = [dict(zip(case_dims, values)) for values in
             product(*(sub[d].values.tolist() for d in case_dims))] or [{}]
    for case in cases:
        one = sub.sel(case) if case else sub
        grids = np.meshgrid(*(one[a].values for a in axes), indexing="ij")
        X = np.stack([g.ravel() for g in grids], axis=1)
        if derived:  # the model's derived quantities at the cells, evaluated here
            params = np.empty((X.shape[0], len(model.param_names)))
            for j, name in enumerate(model.param_names):
                params[:, j] = X[:, axes.index(name)] if name in axes else fixed[name]
            out = model.evaluate_block(params, **{**options, **case})
            X = np.concatenate([X] + [out[d][:, None] for d in derived], axis=1)
        codes = {v: one[v].transpose(*axes).values.ravel().astype(np.int64)
                 for v in code_vars}
        meanings = {v: dict(zip(one[v].attrs["flag_values"],
                                one[v].attrs["flag_meanings"].split())) for v in code_vars}
        title = tables.case_title(case)
        lines += [f"{title}: {line}" if title else line for line in
                  prim.describe_cells(X, axes + derived, codes, meanings, settings)]
    return lines


def _plane(page: Page, phase, cube: xr.Dataset, plane: tuple[str, str], position: dict,
           case_dims, panel_vars, words, fixed: dict, options: dict,
           value_vars=()) -> None:
    """The phase diagram of the (x, y) plane through `position` ({dim: index}), the maps
    of the continuous outputs `value_vars` over it, and the map of where two
    classifications differ on it."""
    x, y = plane
    at = {d: float(cube[d].values[i]) for d, i in position.items()}
    where = _slice_words(at, fixed, options)
    sliced = cube.isel(position).transpose(*case_dims, y, x)
    panels = []
    for variable in panel_vars:
        for index in np.ndindex(*(cube.sizes[d] for d in case_dims)):
            a = sliced[variable][index].load()
            case = {d: sliced[d].values[i] for d, i in zip(case_dims, index)}
            name = cube[variable].attrs.get("long_name", variable)
            panels.append((f"{name}" + (f"; {labels.case_words(case)}" if case else ""), a))
    overlays = phase.overlay_mesh(panels[0][1], {**fixed, **at}, words.overlay) \
        if panels else {}
    if panels:
        page.figure(phase.phase_diagram(panels, overlays, f"Phase diagram at {where}"),
                    f"phase_{x}_{y}",
                    f"Equilibrium codes over {x} and {y} at {where}. Each cell is centred "
                    "on its grid value and reaches halfway to its neighbours; tie lines "
                    "are drawn at their exact values.")
    values = []
    for variable in value_vars:
        for index in np.ndindex(*(cube.sizes[d] for d in case_dims)):
            case = {d: sliced[d].values[i] for d, i in zip(case_dims, index)}
            name = cube[variable].attrs.get("long_name", variable)
            values.append((f"{variable}: {name}" + (f"; {labels.case_words(case)}" if case
                                                     else ""), sliced[variable][index].load()))
    if values:
        page.figure(phase.value_maps(values, overlays if panels else {},
                                     f"Outputs over the plane at {where}"),
                    f"values_{x}_{y}",
                    f"Continuous outputs over {x} and {y} at {where}, one colour bar per "
                    "panel; blank cells are NaN.")
    differ = _differ(sliced, case_dims, words)
    if differ:
        page.figure(phase.disagreement_map(
            differ, overlays, f"Where the classifications differ, at {where}"),
            f"disagreement_{x}_{y}",
            f"Cells of the ({x}, {y}) plane where the two classifications differ, at "
            f"{where}.")


def _slice_words(at: dict, fixed: dict, options: dict) -> str:
    """Every parameter fixed on a slice, then the model's options, in words."""
    values = ", ".join(f"{labels.text_symbol(d)} = {v:.3g}" for d, v in {**at, **fixed}.items())
    rules = "; ".join(labels.option_words(k, v) for k, v in options.items())
    return "; ".join(t for t in (values, rules) if t)


def grid_dims(cube: xr.Dataset) -> str:
    """'concept 2 x p 40 x ...' in the cube's order: swept options, then axes."""
    return " x ".join(f"{d} {n}" for d, n in cube.sizes.items())


def code_shares(cube: xr.Dataset, counts: dict) -> dict[str, str]:
    """{code output: 'code in words 41.0%, ...'}: the share of grid cells of each code
    (a small share as '< 0.1% (n cells)'), from the chunks' counts (store.cube.
    stored_counts)."""
    shares = {}
    for variable in (v for v in cube.data_vars if "flag_values" in cube[v].attrs):
        attrs = cube[variable].attrs
        meanings = dict(zip(attrs["flag_values"], attrs["flag_meanings"].split()))
        found = sorted((c, int(n)) for c, n in zip(attrs["flag_values"], counts[(variable,)])
                       if n)
        total = sum(n for _, n in found)
        shares[variable] = ", ".join(
            f"{labels.code_words(meanings.get(c, str(c)))} {labels.share(n, total)}"
            for c, n in found)
    return shares


def _differ(sliced: xr.Dataset, case_dims, words) -> list[tuple[str, xr.DataArray]]:
    """[(case label, bool (y, x))]: where two classifications differ, one panel per
    combination of the other swept options: the model's audit flag, else its `compare`
    output (or `choice`, else its first set or code output) between the first two values
    of the first swept option ([] when there are not two classifications)."""
    swept = [d for d in case_dims if sliced.sizes[d] >= 2]
    codes = [v for v in sliced.data_vars if "flag_masks" in sliced[v].attrs] + [
        v for v in sliced.data_vars if "flag_values" in sliced[v].attrs]  # sets first
    name = next((n for n in (words.compare, words.choice, *codes) if n and n in sliced),
                None)
    if words.audit and words.audit.flag in sliced:
        a, compared = sliced[words.audit.flag] == 1, words.audit.short
    elif swept and name:
        option = swept[0]
        a = sliced[name].isel({option: 0}) != sliced[name].isel({option: 1})
        compared = " vs ".join(labels.option_words(option, c)
                               for c in sliced[option].values[:2])
    else:
        return []
    others = [d for d in case_dims if d in a.dims]
    panels = []
    for index in np.ndindex(*(a.sizes[d] for d in others)):
        label = "; ".join([compared] * bool(compared) + [labels.case_words({d: a[d].values[i]})
                                                         for d, i in zip(others, index)])
        panels.append((label.strip(), a.isel(dict(zip(others, index))).load()))
    return panels


def _grid_audit(cube: xr.Dataset, audit, counts: dict) -> list[str]:
    """Share of grid cells where the model's two classifications differ (its Audit), in
    total and per region of the rules, from the chunks' joint counts of region and flag."""
    joint = counts[(audit.region, audit.flag)]  # (region codes, flag codes)
    differs = np.asarray(cube[audit.flag].attrs["flag_values"]) == 1
    regions = cube[audit.region].attrs["flag_values"]
    meanings = dict(zip(regions, cube[audit.region].attrs["flag_meanings"].split()))
    total = int(joint.sum())
    differ = int(joint[:, differs].sum())
    lines = [f"- {audit.compared} differ on {differ / total:.1%} of the grid cells."]
    shares = {}
    for code, row in sorted(zip(regions, joint), key=lambda pair: pair[0]):
        size = int(row.sum())
        if code >= 0 and size:
            words = labels.code_words(meanings[code])
            shares[words] = int(row[differs].sum()) / size
            lines.append(f"- Region {words} ({size:,} cells, {labels.share(size, total)}): "
                         f"they differ on {shares[words]:.1%} of it.")
    return lines + tables.always_never(shares, audit.misstates)


def _provenance(root: dict) -> list[str]:
    keys = ("study", "study_file", "model", "N", "estimator", "seed", "cells", "git_commit",
            "git_dirty", "command", "wall_time_s", "resumed")
    lines = [f"- {k}: {root[k]}" for k in keys if k in root]
    versions = json.loads(root.get("package_versions", "{}"))
    if versions:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    return lines
