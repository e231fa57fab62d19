"""Figures of a results store (matplotlib, Agg): Sobol' charts, second-order maps, case
comparisons, code frequencies, convergence, phase diagrams and disagreement maps.

Each function draws one figure FIG_WIDTH inches wide and returns it; :func:`save` writes
it as PNG, PDF (fonts embedded) or SVG. Categories take CATEGORY_COLOURS by their place in
the output's flags, so a code has one colour in every figure, and every pair of those
colours stays apart for colour-blind readers (tests/engine/test_figures.py measures it);
values use cividis / PuOr. Names are shown in symbols and words (study.labels).
"""
from __future__ import annotations

import functools
import math
import textwrap
from pathlib import Path

import matplotlib
import matplotlib.text

matplotlib.use("Agg")
matplotlib.rcParams.update({"pdf.fonttype": 42, "ps.fonttype": 42})  # embed TrueType
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FixedFormatter  # noqa: E402

from reesens.core import files
from reesens.present.style import DPI, FIG_WIDTH, MIN_WIDTH
from reesens.study import labels

# by place in an output's flag_values (for the equilibrium codes: invalid, none,
# pool_nd_hedge, pool_nd_press, separating, hybrid, pool_d_hedge, boundary). Drawn from
# Okabe & Ito's and Tol's palettes so that every pair is at least 15 CAM02-UCS units
# apart for normal vision and for full deuteranopia, protanopia and tritanopia.
CATEGORY_COLOURS = ("#555555", "#D55E00", "#44AA99", "#F0E442", "#332288", "#E69F00",
                    "#88CCEE", "#4477AA")
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                  "#F0E442", "#000000")  # Okabe-Ito, for lines and bars of cases


def _figure(n_panels: int, ncols: int, panel_height: float, *, fixed: bool = False,
            top: float = 0.75, gap_y: float = 0.7, bottom: float = 0.35):
    """A figure of n_panels axes in rows of ncols (fewer when there are fewer panels: the
    figure narrows, to MIN_WIDTH at least), panel_height inches per row. `fixed`
    places the panels with fixed margins (`top` inches above them: room for a two-line
    title and tick labels; `gap_y` inches between rows, `bottom` below the last) instead
    of matplotlib's constrained layout, whose cost grows with the panel count."""
    nrows = max(1, math.ceil(n_panels / ncols))
    used = max(1, min(ncols, n_panels))  # fewer panels than a row: a narrower figure
    width = max(MIN_WIDTH, FIG_WIDTH * used / ncols)
    ncols = used
    if fixed:
        left, right, gap_x = 0.6, 0.12, 0.6  # inches
        axis_w = (width - left - right - (ncols - 1) * gap_x) / ncols
        axis_h = panel_height - gap_y
        height = nrows * axis_h + (nrows - 1) * gap_y + top + bottom
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False,
                                 gridspec_kw={"left": left / width,
                                              "right": 1 - right / width,
                                              "top": 1 - top / height, "bottom": bottom / height,
                                              "wspace": gap_x / axis_w, "hspace": gap_y / axis_h})
    else:
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, panel_height * nrows),
                                 layout="constrained", squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def with_symbols(draw):
    """A figure function whose figure writes symbols as its axes do: every text, tick
    label and legend entry through study.labels.in_figure ('φ_D' -> '$\\phi_D$')."""
    @functools.wraps(draw)
    def symbols(*args, **kwargs):
        fig = draw(*args, **kwargs)
        for axis in (a for ax in fig.axes for a in (ax.xaxis, ax.yaxis)):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, FixedFormatter):
                formatter.seq = [labels.in_figure(t) for t in formatter.seq]
        for text in fig.findobj(matplotlib.text.Text):
            if text.get_text():
                text.set_text(labels.in_figure(text.get_text()))
        return fig
    return symbols


def _suptitle(fig, title: str, fontsize: int = 11) -> None:
    """The figure's title, a tenth of an inch below its top edge whatever its height."""
    fig.suptitle(title, fontsize=fontsize, y=1 - 0.1 / fig.get_figheight(), va="top")


def save(fig, path: Path, dpi: int = DPI) -> Path:
    """Write fig to `path` (its suffix is the format: .png, .pdf or .svg) whole, through
    a temporary file beside it (core.files.atomic_write), and close it."""
    path = Path(path)
    try:
        return files.atomic_write(path, lambda temp: fig.savefig(
            temp, dpi=dpi, format=path.suffix.removeprefix(".")))
    finally:
        plt.close(fig)


def analysed_outputs(case: xr.Dataset) -> list[str]:
    """The outputs of a sobol dataset that have indices (no skip reason)."""
    return [o for o in case["output"].values.tolist()
            if not str(case["sobol_skip_reason"].sel(output=o).values)]


def output_title(label: str, wrap: bool = False, ds: xr.Dataset | None = None) -> str:
    """An output's panel title in words (on two lines when long and `wrap`); with the
    sobol dataset `ds`, a code output's aggregate says it is all codes at once."""
    words = labels.output_words(label)
    if ds is not None and "output_long_name" in ds.coords and labels.is_aggregate(
            str(ds["output_long_name"].sel(output=label).values)):
        words = f"{label}: all codes at once"
    return "\n".join(textwrap.wrap(words, 40) or [words]) if wrap else words


def tick_label(name: str, width: int = 8) -> str:
    """A parameter's or group's name as a tick label: its symbol, or a long name (a group
    of parameters) broken into lines of at most `width` characters."""
    text = labels.symbol(name)
    return text if text.startswith("$") or len(text) <= width else "\n".join(
        textwrap.wrap(text, width, break_long_words=False))


@with_symbols
def sobol_bars(case: xr.Dataset, title: str, outputs: list[str]):
    """One panel per output: S1 and ST bars with interval whiskers, parameters by ST
    (long group names over several lines, with room for them)."""
    extra = 0.15 * (max([tick_label(p).count("\n") for p in case["param"].values.tolist()]
                        + [0]))
    fig, axes = _figure(len(outputs), 3, 2.4 + extra, fixed=True, gap_y=0.7 + extra,
                        bottom=0.35 + extra)
    width = 0.38
    for ax, output in zip(axes, outputs):
        one = case.sel(output=output)
        st = one["sobol_ST"].values
        order = np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
        x = np.arange(len(order))
        for k, (q, colour) in enumerate((("S1", SERIES_COLOURS[0]), ("ST", SERIES_COLOURS[1]))):
            ax.bar(x + (k - 0.5) * width, one[f"sobol_{q}"].values[order], width,
                   yerr=one[f"sobol_{q}_conf"].values[order], color=colour, capsize=2,
                   error_kw={"elinewidth": 0.8}, label=q)
        ax.set_xticks(x, [tick_label(p) for p in one["param"].values[order]])
        ax.set_ylim(min(0.0, float(np.nanmin(one["sobol_S1"].values)) - 0.05), 1.05)
        ax.set_yticks([0.0, 0.5, 1.0])  # fewer tick artists: most of a panel's drawing
        ax.set_title(output_title(output, wrap=True, ds=case), fontsize=9)
        ax.set_ylabel("Sobol' index", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.axhline(0, color="0.4", linewidth=0.6)
    if outputs:
        axes[0].legend(fontsize=8, loc="upper right")
    _suptitle(fig, title)
    return fig


# the distance measures measure_bars draws, in order: (variable, legend, colour)
DISTANCES = (("delta", r"$\delta$", SERIES_COLOURS[2]),
             ("pawn_median", "PAWN median", SERIES_COLOURS[3]),
             ("rsa_ks", "KS, inside against outside", SERIES_COLOURS[0]))


@with_symbols
def measure_bars(case: xr.Dataset, title: str, outputs: list[str]):
    """One panel per output (or region): its distance measures (DISTANCES: Borgonovo's
    delta, the PAWN median with PAWN's max over slices as a tick above its bar, the
    regional KS) per parameter as bars, by the first, and each measure's null level (a
    parameter the output ignores reads at or below it) as a dashed line.

    case: the pawn and delta groups of one case merged (methods.counts), or the rsa
    group's."""
    fig, axes = _figure(len(outputs), 3, 2.4, fixed=True)
    width = 0.38
    for ax, output in zip(axes, outputs):
        one = case.sel(output=output)
        shown = [(q, name, colour) for q, name, colour in DISTANCES if q in one]
        order = np.argsort(-np.nan_to_num(one[shown[0][0]].values, nan=-1.0), kind="stable")
        x = np.arange(len(order))
        for k, (q, name, colour) in enumerate(shown):
            offset = (k - (len(shown) - 1) / 2) * width
            ax.bar(x + offset, one[q].values[order], width, color=colour, label=name)
            null = one[f"{q}_null"].values
            null = float(np.nanmean(null)) if np.isfinite(null).any() else None
            if null is not None:
                ax.plot([x[0] + offset - width / 2, x[-1] + offset + width / 2],
                        [null, null], color=colour, linestyle="--", linewidth=0.9,
                        label=f"{name} null level")
            if q == "pawn_median":
                ax.plot(x + offset, one["pawn_max"].values[order], linestyle="none",
                        marker="_", markersize=9, color="0.2", label="PAWN max")
        ax.set_xticks(x, [labels.symbol(p) for p in one["param"].values[order]])
        ax.set_ylim(0.0, 1.05)
        ax.set_yticks([0.0, 0.5, 1.0])
        distance = str(one["output_distance"].values) if "output_distance" in one.coords \
            else ""
        ax.set_title(output_title(output, wrap=True) + (f" ({distance})" if distance else ""),
                     fontsize=9)
        ax.set_ylabel("distance", fontsize=8)
        ax.tick_params(labelsize=8)
    if outputs:
        axes[0].legend(fontsize=7, loc="upper right")
    _suptitle(fig, title)
    return fig


@with_symbols
def morris_plane(case: xr.Dataset, title: str, outputs: list[str]):
    """One panel per output: each parameter at (mu_star, sigma), with mu_star's interval
    as a horizontal whisker and the parameter's symbol beside it, placed where it covers
    no other symbol or point (methods.morris); parameters at the origin are named in the
    axis label."""
    fig, axes = _figure(len(outputs), 3, 3.0, fixed=True, gap_y=1.0, bottom=0.6)
    renderer = fig.canvas.get_renderer()
    for ax, output in zip(axes, outputs):
        one = case.sel(output=output)
        x, err = one["morris_mu_star"].values, one["morris_mu_star_conf"].values
        y = one["morris_sigma"].values
        ax.errorbar(x, y, xerr=err, fmt="o", color=SERIES_COLOURS[0], markersize=4,
                    elinewidth=0.8, capsize=2)
        top = float(np.nanmax(np.r_[x + err, y])) if np.isfinite(x).any() else 1.0
        ax.set_xlim(0, 1.15 * top or 1.0)
        ax.set_ylim(0, 1.15 * top or 1.0)
        ax.plot([0, top], [0, top], color="0.7", linewidth=0.6, linestyle=":")
        idle, placed = [], []
        points = [ax.transData.transform((xi, yi)) for xi, yi in zip(x, y)
                  if np.isfinite(xi) and np.isfinite(yi)]
        for p, xi, yi in zip(one["param"].values, x, y):
            if max(xi, yi) <= 0.02 * top:  # at the origin: named in the axis label
                idle.append(labels.symbol(p))
                continue
            placed.append(_place_label(ax, labels.symbol(p), (xi, yi), placed, points,
                                       renderer))
        ax.set_title(output_title(output, wrap=True), fontsize=9)
        ax.set_xlabel(r"$\mu^*$" + (f"   (near 0: {', '.join(idle)})" if idle else ""),
                      fontsize=8)
        ax.set_ylabel(r"$\sigma$", fontsize=8)
        ax.tick_params(labelsize=8)
    _suptitle(fig, title)
    return fig


def _place_label(ax, text: str, xy, placed: list, points: list, renderer):
    """An annotation of `xy` at the first of a few offsets where it overlaps no label
    already placed and no point; returns its window extent."""
    offsets = [(4, 3), (4, -11), (-14, 3), (-14, -11), (4, 12), (-14, 12), (12, -3)]
    for dx, dy in offsets:
        note = ax.annotate(text, xy, textcoords="offset points", xytext=(dx, dy),
                           fontsize=8)
        box = note.get_window_extent(renderer)
        clear = not any(box.overlaps(other) for other in placed) and not any(
            box.x0 - 3 <= px <= box.x1 + 3 and box.y0 - 3 <= py <= box.y1 + 3
            for px, py in points)
        if clear or (dx, dy) == offsets[-1]:
            return box
        note.remove()


@with_symbols
def s2_heatmaps(case: xr.Dataset, title: str, outputs: list[str]):
    """One panel per output with second-order indices (aggregates of codes have none):
    S2[j, k] (j < k). Only a positive S2 whose interval leaves out 0 is coloured; a cell
    whose interval contains 0 or is unknown, or whose S2 is negative (no interaction
    explains a negative share), is left blank (hatched): no interaction can be told from
    none."""
    outputs = [o for o in outputs if np.isfinite(case["sobol_S2"].sel(output=o).values).any()]
    params = case["param"].values.tolist()
    fig, axes = _figure(len(outputs), 4, 2.6)
    s2_all = case["sobol_S2"].sel(output=outputs).values
    limit = max(0.05, float(np.nanmax(np.abs(s2_all)))) if np.isfinite(s2_all).any() else 1
    image = None
    for ax, output in zip(axes, outputs):
        s2 = case["sobol_S2"].sel(output=output).values
        conf = case["sobol_S2_conf"].sel(output=output).values
        unclear = np.isfinite(s2) & ~(s2 - conf > 0)  # NaN conf: unclear too
        image = ax.imshow(np.ma.masked_where(~np.isfinite(s2) | unclear, s2), cmap="PuOr",
                          vmin=-limit, vmax=limit)
        for j, k in zip(*np.nonzero(unclear)):
            ax.add_patch(Rectangle((k - 0.5, j - 0.5), 1, 1, fill=False, hatch="///",
                                   edgecolor="0.7", linewidth=0))
        ticks = [labels.symbol(p) for p in params]
        long = any(not t.startswith("$") and len(t) > 3 for t in ticks)  # group names
        ax.set_xticks(range(len(params)), ticks, fontsize=7, rotation=90 if long else 0)
        ax.set_yticks(range(len(params)), ticks, fontsize=7)
        ax.set_title(output_title(output, wrap=True), fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes[:len(outputs)], shrink=0.6, label="S2")
    fig.suptitle(f"{title}\nhatched: no interaction can be told (the interval contains 0 "
                 "or is unknown, or S2 < 0)", fontsize=10)
    return fig


def case_colours(n: int) -> list:
    """n distinct colours for n cases: SERIES_COLOURS, then matplotlib's tab20 for more
    (20 distinct), then tab20 again with a hatch to tell them apart."""
    if n <= len(SERIES_COLOURS):
        return list(SERIES_COLOURS[:n])
    tab = [plt.get_cmap("tab20")(i) for i in range(20)]
    return [tab[i % 20] for i in range(n)]


@with_symbols
def case_comparison(ds: xr.Dataset, cases: list[tuple[str, dict]], outputs: list[str],
                    title: str):
    """Cases side by side, one panel per output that some case has indices of: per
    parameter, one bar of ST per case with its interval, and S1 with its interval as a
    dot on the bar; a case without indices of the output is named under the panel with
    its reason ("n/a"). A colour per case, and the legend in rows within the canvas."""
    longest = max([len(f"ST, {name}") for name, _ in cases] + [1])
    per_row = max(1, min(4, int(FIG_WIDTH * 72 / (8 * 0.6 * longest + 40))))  # 8 pt text
    rows = math.ceil((len(cases) + 1) / per_row)
    fig, axes = _figure(len(outputs), 2, 3.1, fixed=True,
                        top=0.95 + 0.2 * rows)  # title, legend rows, two-line panel titles
    params = ds["param"].values.tolist()
    width = 0.8 / max(1, len(cases))
    x = np.arange(len(params))
    colours = case_colours(len(cases))
    hatches = ["" if i < 20 else "//" for i in range(len(cases))]
    handles = [Patch(facecolor=c, hatch=h, label=f"ST, {name}")
               for (name, _), c, h in zip(cases, colours, hatches)]
    for ax, output in zip(axes, outputs):
        missing = []
        for i, (name, where) in enumerate(cases):
            one = ds.sel(where).sel(output=output)
            reason = str(one["sobol_skip_reason"].values)
            if reason:
                missing.append(f"{name}: {reason}")
                continue
            offset = x + (i - (len(cases) - 1) / 2) * width
            ax.bar(offset, one["sobol_ST"].values, width, yerr=one["sobol_ST_conf"].values,
                   color=colours[i], hatch=hatches[i], capsize=1.5,
                   error_kw={"elinewidth": 0.7}, label=f"ST, {name}")
            ax.errorbar(offset, one["sobol_S1"].values, yerr=one["sobol_S1_conf"].values,
                        fmt="o", color="black", markersize=2.5, elinewidth=0.6, capsize=1)
        ax.set_xticks(x, [labels.symbol(p) for p in params])
        ax.set_ylim(-0.1, 1.1)
        ax.set_yticks([0.0, 0.5, 1.0])
        ax.axhline(0, color="0.4", linewidth=0.6)
        ax.set_title(output_title(output, wrap=True, ds=ds), fontsize=9)
        ax.tick_params(labelsize=8)
        if missing:  # above the bars, in room of its own
            note = textwrap.wrap("n/a: " + "; ".join(missing), 100)
            ax.set_ylim(-0.1, 1.15 + 0.1 * len(note))
            ax.text(0.01, 0.99, "\n".join(note), transform=ax.transAxes, fontsize=6,
                    va="top", color="0.3", gid="missing-cases")
    if outputs:
        handles.append(plt.Line2D([], [], color="black", marker="o", linestyle="",
                                  markersize=3, label="S1 (each case)"))
        fig.legend(handles=handles, fontsize=8, loc="upper center", ncols=per_row,
                   frameon=False, bbox_to_anchor=(0.5, 1 - 0.4 / fig.get_figheight()))
    _suptitle(fig, title)
    return fig


@with_symbols
def code_frequencies(summary: xr.Dataset, variable: str):
    """Bars of the fraction of rows per code of one code output, one bar group per case,
    a colour per case and the cases' legend beside the axes."""
    freq = summary[f"summary_{variable}_frequency"]
    code_dim = f"{variable}_code"
    meanings = summary[code_dim].attrs["flag_meanings"].split()
    case_dims = [d for d in freq.dims if d != code_dim]
    cases = freq.stack(case=case_dims) if case_dims else freq.expand_dims(case=[""])
    present = (cases > 0).any("case").values
    names = [labels.code_words(m) for m, keep in zip(meanings, present) if keep]
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 3.8), layout="constrained")
    n_cases = cases.sizes["case"]
    width = 0.8 / n_cases
    x = np.arange(len(names))
    colours = case_colours(n_cases)
    for i in range(n_cases):
        one = cases.isel(case=i)
        case = dict(zip(case_dims, np.atleast_1d(one["case"].values.item())))
        name = labels.case_words(case) if case_dims else "all rows"
        ax.bar(x + (i - (n_cases - 1) / 2) * width, one.values[present], width,
               color=colours[i], label=name)
    ax.set_xticks(x, ["\n".join(labels.wrap(n, 22)) for n in names], fontsize=8)
    ax.set_ylabel("fraction of sample rows")
    ax.set_title(f"How often each {variable} code occurs")
    if n_cases > 1:  # beside the bars, never over them
        fig.legend(fontsize=8, loc="outside right upper")
    return fig


@with_symbols
def convergence(conv: xr.Dataset, outputs: list[str] | None = None):
    """ST against N, with interval bands, one panel per output (one line per parameter)."""
    case_dims = [d for d in conv["sobol_ST"].dims if d not in ("N", "output", "param")]
    conv = conv.isel({d: 0 for d in case_dims})
    outputs = [o for o in (outputs or conv["output"].values.tolist())
               if np.isfinite(conv["sobol_ST"].sel(output=o).values).any()]
    fig, axes = _figure(len(outputs), 3, 2.4)
    N = conv["N"].values
    for ax, output in zip(axes, outputs):
        one = conv.sel(output=output)
        for j, param in enumerate(one["param"].values.tolist()):
            st, w = one["sobol_ST"].sel(param=param).values, \
                one["sobol_ST_conf"].sel(param=param).values
            colour = SERIES_COLOURS[j % len(SERIES_COLOURS)]
            ax.plot(N, st, marker="o", markersize=3, color=colour, label=labels.symbol(param))
            ax.fill_between(N, st - w, st + w, color=colour, alpha=0.2, linewidth=0)
        target = conv.attrs.get("target_ci")
        if target is not None:  # the target half-width as a scale bar at the right
            ax.errorbar([N.max() * 1.15], [0.5], yerr=[target], color="black", capsize=3,
                        linewidth=1.2, label=f"target ±{target:g}")
        ax.axhline(0, color="0.4", linewidth=0.6, gid="zero")
        ax.set_xscale("log", base=2)
        ax.set_xlim(N.min() / 1.3, N.max() * 1.45)
        ax.set_xlabel("base sample count N", fontsize=8)
        ax.set_ylabel("ST", fontsize=8)
        ax.set_title(output_title(output, wrap=True), fontsize=9)
        ax.tick_params(labelsize=8)
    if outputs:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                   ncols=len(conv["param"]) + 1, fontsize=8)
    fig.suptitle(f"Convergence of the total indices (target half-width "
                 f"{conv.attrs.get('target_ci', float('nan')):g})", fontsize=11)
    return fig


HEXBIN_FROM = 5000  # points from which a scatter panel is a hexbin of counts


@with_symbols
def scatter_matrix(params: dict, outputs: dict, title: str):
    """One panel per (output, parameter): the output's value on every kept sample row
    against the parameter's (a hexbin of counts from HEXBIN_FROM rows). params, outputs:
    {name: (rows,) values}; one row of panels per output that varies (the title names
    those with one value on every row, or none)."""
    names = list(params)
    finite = {o: y[np.isfinite(y)] for o, y in outputs.items()}
    constant = {o: y for o, y in finite.items() if not (y.size and np.ptp(y) > 0)}
    outputs = {o: y for o, y in outputs.items() if o not in constant}
    if constant:
        title += "\n" + "\n".join(textwrap.wrap("one value on every row: " + ", ".join(
            f"{o} = {y[0]:g}" if y.size else f"{o} (no value)" for o, y in constant.items()),
            110))
    fig, axes = _figure(len(outputs) * len(names), len(names), 1.7, fixed=True,
                        top=0.6 + 0.17 * title.count("\n"))
    rows = max([len(y) for y in outputs.values()] + [2])
    norm = LogNorm(vmin=1, vmax=rows)  # one colour scale for every hexbin panel
    hexbins = []
    for r, (output, y) in enumerate(outputs.items()):
        ok = np.isfinite(y)
        for c, name in enumerate(names):
            ax = axes[r * len(names) + c]
            x = params[name]
            if ok.sum() >= HEXBIN_FROM:
                hexbins.append(ax.hexbin(x[ok], y[ok], gridsize=30, cmap="cividis",
                                         mincnt=1, linewidths=0, norm=norm))
            else:
                ax.scatter(x[ok], y[ok], s=2, color=SERIES_COLOURS[0], alpha=0.4,
                           linewidths=0)
            ax.tick_params(labelsize=6)
            if r == len(outputs) - 1:
                ax.set_xlabel(labels.symbol(name), fontsize=8)
            if c == 0:
                ax.set_ylabel("\n".join(textwrap.wrap(output_title(output), 18)), fontsize=7)
    if hexbins:
        bar = fig.colorbar(hexbins[0], ax=axes[:len(outputs) * len(names)], shrink=0.8,
                           pad=0.01, aspect=40)
        bar.set_label("rows per hexagon", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    _suptitle(fig, title, 10)
    return fig


@with_symbols
def histograms(by_case: dict, outputs: list[str], title: str, marks=None):
    """One panel per output that varies: its distribution (density) over the kept sample
    rows, one step histogram per case. A spike (a bin far above the others, a point mass)
    is cut at the panel's top with its share written beside it, so that it does not
    squash the rest. by_case: {case name: {output: (rows,) values}}; marks: {output:
    ((value, label), ...)} reference values drawn as labelled dotted lines
    (registry.Words.marks)."""
    def varies(output):
        return any(np.ptp(v[output][np.isfinite(v[output])]) > 0
                   for v in by_case.values() if np.isfinite(v[output]).any())
    outputs = [o for o in outputs if varies(o)]
    fig, axes = _figure(len(outputs), 3, 2.2, fixed=True)
    colours = case_colours(len(by_case))
    for ax, output in zip(axes, outputs):
        values = [v[output][np.isfinite(v[output])] for v in by_case.values()]
        everything = np.concatenate(values) if values else np.array([])
        edges = np.histogram_bin_edges(everything, bins=40) if everything.size else 10
        heights = []
        for i, (name, v) in enumerate(zip(by_case, values)):
            h, _, _ = ax.hist(v, bins=edges, histtype="step", density=True, label=name,
                              color=colours[i])
            heights.append(np.asarray(h))
        tall = np.concatenate(heights) if heights else np.array([0.0])
        usual = np.quantile(tall[tall > 0], 0.9) if (tall > 0).any() else 1.0
        if tall.max() > 4 * usual:  # a spike: cut, and say its share
            ax.set_ylim(0, 4 * usual)
            width = np.diff(edges)
            notes = 0
            for i, h in enumerate(heights):
                j = int(np.argmax(h))
                if h[j] > 4 * usual:  # beside the spike, on the side with room; one line
                    right = j < len(h) / 2  # per case, in the case's colour
                    ax.annotate(f"{h[j] * width[j]:.0%} of rows",
                                (edges[j + 1] if right else edges[j], 4 * usual),
                                xytext=(2 if right else -2, -8 * notes),
                                textcoords="offset points", fontsize=6, color=colours[i],
                                ha="left" if right else "right", va="top", gid="spike")
                    notes += 1
        for k, (value, label) in enumerate((marks or {}).get(output, ())):
            ax.axvline(value, color="0.25", linestyle=":", linewidth=0.9, gid="mark")
            # labels of neighbouring marks at two heights, so that close ones stay legible
            ax.annotate(label, (value, 1.0 - 0.45 * (k % 2)),
                        xycoords=("data", "axes fraction"),
                        xytext=(2, -2), textcoords="offset points", rotation=90,
                        fontsize=6, color="0.25", ha="left", va="top")
        ax.set_title(output_title(output, wrap=True), fontsize=8)
        ax.set_ylabel("density", fontsize=7)
        ax.tick_params(labelsize=7)
    if outputs and len(by_case) > 1:
        axes[0].legend(fontsize=7)
    _suptitle(fig, title, 10)
    return fig


@with_symbols
def conditional_shares(params: dict, codes: np.ndarray, attrs: dict, title: str,
                       bins: int = 10):
    """One panel per parameter: the share of each code among the rows whose parameter
    falls in each of `bins` equal-width bins over its sampled range. codes: (rows,)
    values of a code output with flag_values/flag_meanings attrs."""
    fig, axes = _figure(len(params), 3, 2.4, fixed=True, bottom=0.5)
    colour_of = code_colours(attrs)
    meanings = dict(zip(attrs["flag_values"], attrs["flag_meanings"].split()))
    present = [c for c in attrs["flag_values"] if (codes == c).any()]
    for ax, (name, x) in zip(axes, params.items()):
        edges = np.linspace(np.nanmin(x), np.nanmax(x), bins + 1)
        which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
        rows = np.bincount(which, minlength=bins)
        centres = (edges[1:] + edges[:-1]) / 2
        for c in present:
            share = np.bincount(which, weights=codes == c, minlength=bins) / np.maximum(rows, 1)
            ax.plot(centres, share, marker="o", markersize=2.5, color=colour_of[c],
                    label=labels.code_words(meanings[c]))
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(labels.symbol(name), fontsize=8)
        ax.set_ylabel("share of rows", fontsize=7)
        ax.tick_params(labelsize=7)
    if params:
        axes[0].legend(fontsize=6, loc="best")
    _suptitle(fig, title, 10)
    return fig


def code_colours(attrs: dict) -> dict[int, str]:
    """{code: colour} by the code's place in flag_values."""
    return {int(v): CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
            for i, v in enumerate(attrs["flag_values"])}
