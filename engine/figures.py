"""Figures of a results store (matplotlib, Agg): Sobol' charts, code frequencies,
convergence, phase diagrams and disagreement maps.

Each function draws one PNG of a fixed size (FIG_WIDTH inches wide, DPI) and returns its
path. Colours are colour-blind safe (Okabe-Ito for categories, cividis / PuOr for
values); parameter names are typeset as symbols (SYMBOLS) with their units.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

DPI = 150
FIG_WIDTH = 11.0  # inches: every figure is 1650 px wide
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#999999", "#000000")
SYMBOLS = {"A": "$A$", "gamma": r"$\gamma$", "delta": r"$\delta$", "phi_D": r"$\phi_D$",
           "kappa": r"$\kappa$", "p": "$p$", "mu_star": r"$\mu^*$", "rho_C": r"$\rho_C$",
           "rho_F": r"$\rho_F$", "S": "$S$"}


def symbol(name: str) -> str:
    """A parameter or output name as the symbol the paper uses (else the name itself)."""
    return SYMBOLS.get(name, name.replace("_", " "))


def axis_label(name: str, units: str) -> str:
    """'symbol (units)', with dimensionless quantities unlabelled."""
    return symbol(name) if units in ("", "1") else f"{symbol(name)} ({units})"


def _figure(n_panels: int, ncols: int, panel_height: float, *, fixed: bool = False):
    """A figure of n_panels axes in rows of ncols, panel_height inches per row. `fixed`
    places the panels with fixed margins (room for a two-line title and tick labels)
    instead of matplotlib's constrained layout, whose cost grows with the panel count."""
    nrows = math.ceil(n_panels / ncols)
    if fixed:
        top, bottom, left, right, gap_x, gap_y = 0.75, 0.35, 0.6, 0.12, 0.6, 0.7  # inches
        axis_w = (FIG_WIDTH - left - right - (ncols - 1) * gap_x) / ncols
        axis_h = panel_height - gap_y
        height = nrows * axis_h + (nrows - 1) * gap_y + top + bottom
        fig, axes = plt.subplots(nrows, ncols, figsize=(FIG_WIDTH, height), squeeze=False,
                                 gridspec_kw={"left": left / FIG_WIDTH,
                                              "right": 1 - right / FIG_WIDTH,
                                              "top": 1 - top / height, "bottom": bottom / height,
                                              "wspace": gap_x / axis_w, "hspace": gap_y / axis_h})
    else:
        fig, axes = plt.subplots(nrows, ncols, figsize=(FIG_WIDTH, panel_height * nrows),
                                 layout="constrained", squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def analysed_outputs(case: xr.Dataset) -> list[str]:
    """The outputs of a sobol dataset that have indices (no skip reason)."""
    return [o for o in case["output"].values.tolist()
            if not str(case["sobol_skip_reason"].sel(output=o).values)]


def output_title(label: str, wrap: bool = False) -> str:
    """'eq==pool_nd_hedge' -> '1{eq = pool_nd_hedge}' (on two lines when long and `wrap`);
    continuous outputs unchanged."""
    if "==" not in label:
        return label
    output, code = label.split("==")
    return f"1{{{output} =" + ("\n" if wrap and len(label) > 36 else " ") + f"{code}}}"


def sobol_bars(case: xr.Dataset, title: str, path: Path) -> Path:
    """One panel per output: S1 and ST bars with interval whiskers, parameters by ST."""
    outputs = analysed_outputs(case)
    fig, axes = _figure(len(outputs), 3, 2.4, fixed=True)
    width = 0.38
    for ax, output in zip(axes, outputs):
        one = case.sel(output=output)
        st = one["sobol_ST"].values
        order = np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
        x = np.arange(len(order))
        for k, (q, colour) in enumerate((("S1", OKABE_ITO[4]), ("ST", OKABE_ITO[0]))):
            ax.bar(x + (k - 0.5) * width, one[f"sobol_{q}"].values[order], width,
                   yerr=one[f"sobol_{q}_conf"].values[order], color=colour, capsize=2,
                   error_kw={"elinewidth": 0.8}, label=q)
        ax.set_xticks(x, [symbol(p) for p in one["param"].values[order]])
        ax.set_ylim(min(0.0, float(np.nanmin(one["sobol_S1"].values)) - 0.05), 1.05)
        ax.set_yticks([0.0, 0.5, 1.0])  # fewer tick artists: most of a panel's drawing
        ax.set_title(output_title(output, wrap=True), fontsize=9)
        ax.set_ylabel("Sobol' index", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.axhline(0, color="0.4", linewidth=0.6)
    if outputs:
        axes[0].legend(fontsize=8, loc="upper right")
    fig.suptitle(title, fontsize=11, y=1 - 0.1 / fig.get_figheight(), va="top")
    return _save(fig, path)


def s2_heatmaps(case: xr.Dataset, title: str, path: Path) -> Path:
    """One panel per output: the second-order indices S2[j, k] (j < k)."""
    outputs = analysed_outputs(case)
    params = case["param"].values.tolist()
    fig, axes = _figure(len(outputs), 4, 2.6)
    limit = max(0.05, float(np.nanmax(np.abs(case["sobol_S2"].sel(output=outputs).values))))
    image = None
    for ax, output in zip(axes, outputs):
        s2 = case["sobol_S2"].sel(output=output).values
        image = ax.imshow(s2, cmap="PuOr", vmin=-limit, vmax=limit)
        ticks = [symbol(p) for p in params]
        ax.set_xticks(range(len(params)), ticks, fontsize=7)
        ax.set_yticks(range(len(params)), ticks, fontsize=7)
        ax.set_title(output_title(output, wrap=True), fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes[:len(outputs)], shrink=0.6, label="S2")
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def code_frequencies(summary: xr.Dataset, variable: str, path: Path) -> Path:
    """Bars of the fraction of rows per code of one code output, one bar group per case."""
    freq = summary[f"summary_{variable}_frequency"]
    code_dim = f"{variable}_code"
    meanings = summary[code_dim].attrs["flag_meanings"].split()
    case_dims = [d for d in freq.dims if d != code_dim]
    cases = freq.stack(case=case_dims) if case_dims else freq.expand_dims(case=[""])
    present = (cases > 0).any("case").values
    labels = [m for m, keep in zip(meanings, present) if keep]
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 3.6), layout="constrained")
    n_cases = cases.sizes["case"]
    width = 0.8 / n_cases
    x = np.arange(len(labels))
    for i in range(n_cases):
        one = cases.isel(case=i)
        name = " ".join(str(v) for v in np.atleast_1d(one["case"].values.item())) \
            if case_dims else "all rows"
        ax.bar(x + (i - (n_cases - 1) / 2) * width, one.values[present], width,
               color=OKABE_ITO[i % len(OKABE_ITO)], label=name)
    ax.set_xticks(x, labels, fontsize=8, rotation=20, ha="right")
    ax.set_ylabel("fraction of sample rows")
    ax.set_title(f"How often each {variable} code occurs")
    ax.legend(fontsize=8)
    return _save(fig, path)


def convergence(conv: xr.Dataset, path: Path) -> Path:
    """ST against N, with interval bands, one panel per output (one line per parameter)."""
    case_dims = [d for d in conv["sobol_ST"].dims if d not in ("N", "output", "param")]
    conv = conv.isel({d: 0 for d in case_dims})
    outputs = [o for o in conv["output"].values.tolist()
               if np.isfinite(conv["sobol_ST"].sel(output=o).values).any()]
    fig, axes = _figure(len(outputs), 3, 2.4)
    N = conv["N"].values
    for ax, output in zip(axes, outputs):
        one = conv.sel(output=output)
        for j, param in enumerate(one["param"].values.tolist()):
            st, w = one["sobol_ST"].sel(param=param).values, \
                one["sobol_ST_conf"].sel(param=param).values
            colour = OKABE_ITO[j % len(OKABE_ITO)]
            ax.plot(N, st, marker="o", markersize=3, color=colour, label=symbol(param))
            ax.fill_between(N, st - w, st + w, color=colour, alpha=0.2, linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_xlim(N.min() / 1.3, N.max() * 1.3)
        ax.set_xlabel("base sample count N", fontsize=8)
        ax.set_ylabel("ST", fontsize=8)
        ax.set_title(output_title(output, wrap=True), fontsize=9)
        ax.tick_params(labelsize=8)
    if outputs:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                   ncols=len(conv["param"]), fontsize=8)
    fig.suptitle(f"Convergence of the total indices (target half-width "
                 f"{conv.attrs.get('target_ci', float('nan')):g})", fontsize=11)
    return _save(fig, path)


def phase_diagram(panels: list[tuple[str, xr.DataArray]], overlays: dict, title: str,
                  path: Path) -> Path:
    """2-D slices of code outputs side by side, with one shared legend.

    panels: [(panel title, 2-D code DataArray (y, x) with flag_values/flag_meanings)];
    overlays: from :func:`woods_overlays` (mu_star mesh, tie lines).
    """
    fig, axes = _figure(len(panels), min(3, len(panels)), 4.2)
    codes = sorted({int(c) for _, a in panels for c in np.unique(a.values)})
    meanings, colour_of = {}, {}
    for _, a in panels:  # a code keeps its colour in every figure: its place in the flags
        for i, (value, meaning) in enumerate(zip(a.attrs["flag_values"],
                                                 a.attrs["flag_meanings"].split())):
            meanings[value], colour_of[value] = meaning, OKABE_ITO[i % len(OKABE_ITO)]
    colours = ListedColormap([colour_of.get(c, "white") for c in codes])
    norm = BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes))
    drawn = set()
    for ax, (name, a) in zip(axes, panels):
        y, x = a.dims
        index = np.searchsorted(codes, a.values)
        ax.pcolormesh(a[x].values, a[y].values, index, cmap=colours, norm=norm,
                      shading="nearest")
        drawn |= _overlay(ax, a, overlays)
        ax.set_xlabel(axis_label(x, a[x].attrs.get("units", "")))
        ax.set_ylabel(axis_label(y, a[y].attrs.get("units", "")))
        ax.set_title(name, fontsize=10)
    handles = [Patch(color=colours(i), label=meanings.get(c, str(c)))
               for i, c in enumerate(codes)] + _line_handles(drawn)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(5, len(handles)),
               fontsize=8)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def woods_overlays(a: xr.DataArray, values: dict, mu_star=None) -> dict:
    """mu_star, p and kappa - phi_D over a 2-D slice (y, x), for the overlays.

    values: {parameter: scalar} for those not on the slice's axes. mu_star: the model's
    own mu_star on the slice (2-D, as `a`), or None for the woods models' closed form
    (A + gamma) / (gamma + delta). Empty when mu_star cannot be had or p is unknown.
    """
    y, x = a.dims
    mesh = np.meshgrid(a[x].values, a[y].values)
    coords = {x: mesh[0], y: mesh[1]}
    get = lambda n: coords.get(n, values.get(n))  # noqa: E731
    if mu_star is None and any(get(n) is None for n in ("A", "gamma", "delta")):
        return {}
    if get("p") is None:
        return {}
    ones = np.ones_like(mesh[0])
    if mu_star is None:
        mu_star = (get("A") + get("gamma")) / (get("gamma") + get("delta")) * ones
    kappa, phi = get("kappa"), get("phi_D")
    return {"mu_star": np.asarray(mu_star, dtype=np.float64), "p": get("p") * ones,
            "kappa_minus_phi": None if kappa is None or phi is None else (kappa - phi) * ones}


_LINES = {"p": dict(color="black", linestyle="--", label=r"$p = \mu^*$"),
          "kappa": dict(color="black", linestyle=":", label=r"$\kappa = \phi_D$"),
          "mu": dict(color="0.35", linewidth=0.7, label=r"$\mu^*$ contours")}


def _line_handles(drawn: set) -> list:
    return [plt.Line2D([], [], **_LINES[k]) for k in ("p", "kappa", "mu") if k in drawn]


def _overlay(ax, a: xr.DataArray, overlays: dict) -> set:
    """Draw mu_star contours and the p = mu_star and kappa = phi_D lines where they fall
    inside the slice; returns which of "mu", "p", "kappa" it drew."""
    if not overlays:
        return set()
    y, x = a.dims
    X, Y = np.meshgrid(a[x].values, a[y].values)
    mu, drawn = overlays["mu_star"], set()
    levels = [v for v in np.round(np.arange(0.1, 1.0, 0.1), 1) if mu.min() < v < mu.max()]
    if levels:
        lines = ax.contour(X, Y, mu, levels=levels, colors="0.35", linewidths=0.7)
        for label in ax.clabel(lines, fontsize=7, fmt=lambda v: f"{v:.1f}"):
            label.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 0.6,
                            "alpha": 0.8})
        drawn.add("mu")
    for key, gap in (("p", overlays["p"] - mu), ("kappa", overlays["kappa_minus_phi"])):
        if gap is not None and np.ptp(gap) > 0 and gap.min() <= 0 <= gap.max():
            ax.contour(X, Y, gap, levels=[0.0], colors="black",
                       linestyles=_LINES[key]["linestyle"], linewidths=1.4)
            drawn.add(key)
    return drawn


def disagreement_map(panels: list[tuple[str, xr.DataArray]], overlays: dict, title: str,
                     path: Path) -> Path:
    """Where two classifications differ (True), one 2-D slice (y, x) per panel:
    [(panel title, bool DataArray)]."""
    fig, axes = _figure(len(panels), min(3, len(panels)), 4.6)
    cmap = ListedColormap(["#f0f0f0", OKABE_ITO[5]])
    drawn = set()
    for ax, (name, differ) in zip(axes, panels):
        y, x = differ.dims
        ax.pcolormesh(differ[x].values, differ[y].values, differ.values.astype(int),
                      cmap=cmap, vmin=0, vmax=1, shading="nearest")
        drawn |= _overlay(ax, differ, overlays)
        ax.set_xlabel(axis_label(x, differ[x].attrs.get("units", "")))
        ax.set_ylabel(axis_label(y, differ[y].attrs.get("units", "")))
        ax.set_title(name, fontsize=10)
    handles = [Patch(color=cmap(0), label="same set"), Patch(color=cmap(1), label="differ")]
    handles += _line_handles(drawn)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)
