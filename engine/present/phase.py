"""Figures of a grid store: phase diagrams of the codes over two swept parameters, with
the model's overlays, and maps of where two classifications differ."""
from __future__ import annotations

import textwrap

import numpy as np
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from reesens.present.figures import CATEGORY_COLOURS, _figure, code_colours, plt, with_symbols
from reesens.study import labels


def cell_edges(values, tie: float | None = None) -> np.ndarray:
    """(n + 1,) edges of the cells of sorted grid values (n,): the midpoints between
    neighbours, and the first and last values themselves, so that the cells cover the
    grid's range exactly and a non-uniform grid gets cells of its own widths. A grid value
    equal to `tie` (a tie line across the slice) gets a cell of no width: its neighbours
    reach the tie, and the tie's own codes are drawn on the line (_tie_cells)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 1:
        half = 0.5 * (abs(v[0]) or 1.0)
        return np.array([v[0] - half, v[0] + half])
    edges = np.concatenate([v[:1], (v[1:] + v[:-1]) / 2, v[-1:]])
    for i in np.flatnonzero(v == tie) if tie is not None else ():
        edges[i] = edges[i + 1] = v[i]
    return edges


def _cell_panel(ax, name: str, a: xr.DataArray, index: np.ndarray, cmap, norm,
                overlays: dict) -> set:
    """One panel of a 2-D slice a (y, x): the cells (colour `index` (y, x) through cmap
    and norm) on their true edges, tie cells on their lines, the overlays, axis labels
    and title; returns the overlays drawn (_overlay)."""
    y, x = a.dims
    ties = overlays.get("ties", {})
    edges = {d: cell_edges(a[d].values, ties.get(d)) for d in (x, y)}
    ax.pcolormesh(edges[x], edges[y], index, cmap=cmap, norm=norm, shading="flat")
    _tie_cells(ax, a, edges, ties, [cmap(i) for i in range(cmap.N)], index)
    _label_axes(ax, a, x, y)  # the limits first: the overlay's labels are placed in them
    drawn = _overlay(ax, a, overlays)
    ax.set_title("\n".join(textwrap.wrap(name, 60)), fontsize=9)
    return drawn


def _tie_cells(ax, a: xr.DataArray, edges: dict, ties: dict, colours, index) -> None:
    """The codes of the cells on a tie line (of no width), as thick segments on it."""
    y, x = a.dims
    for axis, other in ((x, y), (y, x)):
        if axis not in ties:
            continue
        for i in np.flatnonzero(a[axis].values == ties[axis]):
            column = index[:, i] if axis == x else index[i, :]
            e = edges[other]
            segments = [[(ties[axis], e[j]), (ties[axis], e[j + 1])] if axis == x
                        else [(e[j], ties[axis]), (e[j + 1], ties[axis])]
                        for j in range(len(column))]
            ax.add_collection(LineCollection(segments, colors=[colours[c] for c in column],
                                             linewidths=5, gid=f"tie-cells-{axis}"))


@with_symbols
def phase_diagram(panels: list[tuple[str, xr.DataArray]], overlays: dict, title: str):
    """2-D slices of code outputs side by side, on their cells' true edges, with one
    shared legend of the codes drawn, in words.

    panels: [(panel title, 2-D code DataArray (y, x) with flag_values/flag_meanings and
    coordinates with long_name/units)]; overlays: from :func:`overlay_mesh`.
    """
    fig, axes = _figure(len(panels), min(2, len(panels)), 4.4)
    codes = sorted({int(c) for _, a in panels for c in np.unique(a.values)})
    meanings, colour_of = {}, {}
    for _, a in panels:
        meanings.update(zip(a.attrs["flag_values"], a.attrs["flag_meanings"].split()))
        colour_of.update(code_colours(a.attrs))
    colours = ListedColormap([colour_of.get(c, "white") for c in codes])
    norm = BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes))
    drawn = set()
    for ax, (name, a) in zip(axes, panels):
        drawn |= _cell_panel(ax, name, a, np.searchsorted(codes, a.values), colours, norm,
                             overlays)
    handles = [Patch(color=colours(i), label=labels.code_words(meanings.get(c, str(c))))
               for i, c in enumerate(codes)] + _line_handles(drawn, overlays)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)),
               fontsize=8)
    fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=10)
    return fig


@with_symbols
def value_maps(panels: list[tuple[str, xr.DataArray]], overlays: dict, title: str):
    """2-D slices of continuous outputs side by side, each cell on its true edges coloured
    by its value (one colour bar per panel; NaN cells blank), with the model's overlays.

    panels: [(panel title, 2-D float DataArray (y, x) with long_name/units, coordinates
    with long_name/units)]; overlays: from :func:`overlay_mesh`.
    """
    fig, axes = _figure(len(panels), min(2, len(panels)), 4.4)
    for ax, (name, a) in zip(axes, panels):
        y, x = a.dims
        edges = {d: cell_edges(a[d].values) for d in (x, y)}
        mesh = ax.pcolormesh(edges[x], edges[y], np.ma.masked_invalid(a.values),
                             cmap="viridis", shading="flat")
        bar = fig.colorbar(mesh, ax=ax)
        units = a.attrs.get("units", "")
        bar.set_label("" if units == "1" else units, fontsize=8)
        _label_axes(ax, a, x, y)
        _overlay(ax, a, overlays)
        ax.set_title("\n".join(textwrap.wrap(name, 60)), fontsize=9)
    fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=10)
    return fig


def _label_axes(ax, a: xr.DataArray, x: str, y: str) -> None:
    """Axis labels in symbol and words; limits: the grid's range, no more."""
    for name, set_label, set_lim in ((x, ax.set_xlabel, ax.set_xlim),
                                     (y, ax.set_ylabel, ax.set_ylim)):
        attrs = a[name].attrs
        set_label(labels.parameter_label(name, attrs.get("long_name", ""),
                                         attrs.get("units", "")), fontsize=9)
        edges = cell_edges(a[name].values)
        set_lim(edges[0], edges[-1])


def overlay_mesh(a: xr.DataArray, values: dict, overlay, points: int = 301) -> dict:
    """What a model draws over a 2-D slice (y, x) of its codes (kernels.registry.Words
    .overlay), on a fine mesh of `points` per axis over the slice's range so that the
    curves are smooth; values: {parameter: scalar} for those not on the slice's axes.
    {} when the model declares no overlay or it cannot be drawn here."""
    if overlay is None:
        return {}
    y, x = a.dims
    axes = {d: np.linspace(float(a[d].values.min()), float(a[d].values.max()), points)
            for d in (x, y)}
    X, Y = np.meshgrid(axes[x], axes[y])
    drawn = overlay(x, y, X, Y, values)
    return {"x": X, "y": Y, **drawn} if drawn else {}


CONTOURS = dict(color="0.35", linewidth=0.7)


def _line_handles(drawn: set, overlays: dict) -> list:
    """Legend entries of the overlays drawn: the contours, then each line."""
    handles = []
    if "contours" in drawn:
        handles.append(plt.Line2D([], [], **CONTOURS, label=overlays["contours"][0]))
    handles += [plt.Line2D([], [], color="black", linestyle=style, label=label)
                for key, label, style, _ in overlays.get("lines", ()) if key in drawn]
    return handles


def _overlay(ax, a: xr.DataArray, overlays: dict) -> set:
    """Draw the overlay's contours and its lines where they fall inside the slice;
    returns the keys drawn ("contours" and the lines'). Each contour's artist has the
    gid of its key."""
    if not overlays:
        return set()
    X, Y, drawn = overlays["x"], overlays["y"], set()
    if "contours" in overlays:
        field = overlays["contours"][1]
        levels = [v for v in np.round(np.arange(0.1, 1.0, 0.1), 1)
                  if field.min() < v < field.max()]
        if levels:
            lines = ax.contour(X, Y, field, levels=levels, colors=CONTOURS["color"],
                               linewidths=CONTOURS["linewidth"])
            lines.set_gid("contours")
            spots = _label_spots(ax, lines)
            for label in ax.clabel(lines, fontsize=7, fmt=lambda v: f"{v:.1f}",
                                   manual=spots) if spots else ():
                label.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 0.6,
                                "alpha": 0.8})
            drawn.add("contours")
    for key, _, style, gap in overlays.get("lines", ()):
        if np.ptp(gap) > 0 and gap.min() <= 0 <= gap.max():
            tie = ax.contour(X, Y, gap, levels=[0.0], colors="black", linestyles=style,
                             linewidths=1.4)
            tie.set_gid(key)
            drawn.add(key)
    return drawn


def _label_spots(ax, lines, reach: float = 15.0) -> list[tuple[float, float]]:
    """Where to label each contour level (data coordinates): a point of the level's line
    at least `reach` points (half a label's diagonal, with room to spare) inside every
    edge of the panel, so that the label, centred there, stays within it; in turn near a
    third, a half and two thirds of the width, so that labels of close levels do not
    stack. A level whose line never goes that far in gets no label."""
    to_axes = ax.transData + ax.transAxes.inverted()
    box = ax.get_position()  # figure fraction; a layout may yet shrink it a fifth
    size = 0.8 * 72 * np.array([box.width * ax.figure.get_figwidth(),
                                box.height * ax.figure.get_figheight()])
    margin = reach / size  # axes fraction, (x, y)
    spots = []
    for i, segments in enumerate(lines.allsegs):
        points = np.concatenate([s for s in segments if len(s)] or [np.empty((0, 2))])
        frac = to_axes.transform(points) if len(points) else np.empty((0, 2))
        inside = ((frac >= margin) & (frac <= 1 - margin)).all(axis=1)
        if inside.any():
            target = (1 / 3, 1 / 2, 2 / 3)[i % 3]
            score = np.where(inside, -np.abs(frac[:, 0] - target), -np.inf)
            spots.append(tuple(points[int(np.argmax(score))]))
    return spots


@with_symbols
def disagreement_map(panels: list[tuple[str, xr.DataArray]], overlays: dict, title: str):
    """Where two classifications differ (True), one 2-D slice (y, x) per panel:
    [(panel title, bool DataArray)], on the cells' true edges."""
    fig, axes = _figure(len(panels), min(2, len(panels)), 4.6)
    cmap = ListedColormap(["#EEEEEE", CATEGORY_COLOURS[1]])
    norm = BoundaryNorm([-0.5, 0.5, 1.5], 2)
    drawn = set()
    for ax, (name, differ) in zip(axes, panels):
        drawn |= _cell_panel(ax, name, differ, differ.values.astype(int), cmap, norm,
                             overlays)
    handles = [Patch(color=cmap(0), label="same set"), Patch(color=cmap(1), label="sets differ")]
    handles += _line_handles(drawn, overlays)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
