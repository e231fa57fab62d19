"""Figures of where each region lies (methods.prim): PRIM's trajectories and the regions
over the two dimensions their boxes restrict first, with the boxes drawn."""
from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.patches import Rectangle

from reesens.present.figures import _figure, _suptitle, output_title, with_symbols
from reesens.study import labels


def _region_panels(case: xr.Dataset, height: float):
    """(regions with a box, figure, axes): a panel per region, three to a row."""
    regions = [r for r in case["output"].values.tolist()
               if not str(case["prim_skip_reason"].sel(output=r).values)]
    fig, axes = _figure(max(1, len(regions)), 3, height, fixed=True, top=0.85, gap_y=0.9,
                        bottom=0.5)
    return regions, fig, axes


def _colour_bar(fig, mappable, axes, label: str) -> None:
    bar = fig.colorbar(mappable, ax=axes, shrink=0.8, aspect=40)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)


def _axis_words(ax, title: str, x: str, y: str) -> None:
    ax.set_title(output_title(title, wrap=True), fontsize=8)
    ax.set_xlabel(x, fontsize=8)
    ax.set_ylabel(y, fontsize=8)
    ax.tick_params(labelsize=7)


@with_symbols
def prim_tradeoff(case: xr.Dataset, title: str):
    """One panel per region with a box: PRIM's trajectory as coverage (x) against density
    (y), each box coloured by its restricted dimensions, the chosen box circled."""
    regions, fig, axes = _region_panels(case, 2.8)
    top = int(np.nanmax(case["prim_step_restricted"].values)) if regions else 1
    for ax, region in zip(axes, regions):
        one = case.sel(output=region)
        coverage, density = one["prim_step_coverage"].values, one["prim_step_density"].values
        ok = np.isfinite(coverage)
        points = ax.scatter(coverage[ok], density[ok], c=one["prim_step_restricted"].values[ok],
                            cmap="cividis", vmin=0, vmax=max(top, 1), s=12)
        step = int(one["prim_chosen"])
        ax.scatter([coverage[step]], [density[step]], s=90, facecolors="none",
                   edgecolors="#D55E00", linewidths=1.5, label="chosen box")
        _axis_words(ax, region, "coverage", "density")
        ax.legend(fontsize=7, loc="lower left")
    if regions:
        _colour_bar(fig, points, axes[:len(regions)], "restricted dimensions")
    _suptitle(fig, title)
    return fig


@with_symbols
def region_boxes(case: xr.Dataset, reservoir: xr.Dataset, title: str):
    """One panel per region with a box: the reservoir rows over the two dimensions the
    chosen box restricts first (by quasi-p value; the first dimensions where it restricts
    fewer), hexagons coloured by the share of rows inside the region, the box drawn."""
    regions, fig, axes = _region_panels(case, 3.0)
    names = case["param"].values.tolist()
    for ax, region in zip(axes, regions):
        one = case.sel(output=region)
        qp = np.fmin(one["prim_qp_lower"].values, one["prim_qp_upper"].values)
        first = np.argsort(np.where(np.isnan(qp), np.inf, qp), kind="stable")[:2]
        dims = [names[j] for j in first]
        x, y = (reservoir["reservoir_x"].sel(param=d).values for d in dims)
        inside = reservoir["reservoir_inside"].sel(output=region).values
        ok = np.isfinite(inside)
        mesh = ax.hexbin(x[ok], y[ok], C=inside[ok], reduce_C_function=np.mean, gridsize=25,
                         cmap="cividis", vmin=0, vmax=1, linewidths=0)
        low, high = (one[f"prim_{side}"].sel(param=dims).values for side in ("lower", "upper"))
        ax.add_patch(Rectangle(tuple(low), *(high - low), fill=False, edgecolor="#D55E00",
                               linewidth=1.5))
        _axis_words(ax, region, labels.symbol(dims[0]), labels.symbol(dims[1]))
    if regions:
        _colour_bar(fig, mesh, axes[:len(regions)], "share of rows inside the region")
    _suptitle(fig, title)
    return fig
