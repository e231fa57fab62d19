"""What the terminal says about a store: how its intervals were had, why an output has no
indices, where a grid store goes by default."""
from __future__ import annotations

import pytest

import reesens
from reesens.present import report
from reesens.runs import grid
from reesens.study.parse import parse
from tests.interface.test_cli import BASELINE


@pytest.mark.parametrize("intervals, words", [
    ("delta", "95% intervals: delta method (asymptotic normal)"),
    ("bootstrap", "95% intervals: Poisson bootstrap (100 replicates)"),
    ("replicates", "95% intervals: Student t over 8 independent scramblings (N split among "
                   "them)"),
])
def test_show_says_how_the_intervals_were_had(tmp_path, intervals, words):
    study = reesens.load_study(BASELINE, N=256, intervals=intervals)
    groups = reesens.run(study, out=tmp_path / "s.zarr")
    text = report.show(groups)
    assert text.splitlines()[0] == f"Sobol' indices at N = 256, streaming estimator, {words}"
    # `agreement` is 1 on every baseline row (docs/model.md): said, not only "constant"
    assert "agreement                    -        no indices: constant output (1 on every " \
           "row)" in text


def test_a_grid_study_named_grid_gets_no_second_grid_in_its_store_name():
    table = {"name": "baseline_grid", "parameters": {
        n: {"value": 0.5} for n in ("A", "gamma", "delta", "phi_D", "kappa")},
        "grid": {"p": {"linspace": [0.0, 1.0, 3]}}}
    assert grid.default_store(parse(table)).name == "baseline_grid.zarr"
    assert grid.default_store(parse({**table, "name": "tour"})).name == "tour-grid.zarr"


def _s2_case():
    """One output's S2 over three parameters: a clear positive pair, a negative pair whose
    interval leaves out 0, and a pair without an interval."""
    import numpy as np
    import xarray as xr
    params = ["A", "p", "kappa"]
    s2 = np.full((1, 3, 3), np.nan)
    conf = np.full((1, 3, 3), np.nan)
    s2[0, 0, 1], conf[0, 0, 1] = 0.20, 0.05   # clear
    s2[0, 0, 2], conf[0, 0, 2] = -0.013, 0.011  # negative: noise
    s2[0, 1, 2], conf[0, 1, 2] = -0.0001, np.nan  # no interval
    return xr.Dataset(
        {"sobol_S2": (("output", "param_0", "param_1"), s2),
         "sobol_S2_conf": (("output", "param_0", "param_1"), conf),
         "sobol_ST": (("output", "param"), np.full((1, 3), 0.3)),
         "sobol_skip_reason": (("output",), np.array([""], dtype=object))},
        coords={"output": ["leverage"], "param": params, "param_0": params,
                "param_1": params}, attrs={"N": 4096, "conf_level": 0.95})


def test_a_negative_or_unknown_s2_is_never_marked_as_an_interaction():
    from reesens.methods.sobol import text
    lines = text.second_order_table(_s2_case()).splitlines()
    import re
    rows = {"".join(re.search(r"(\w+) x (\w+)", line).groups()): line.rstrip()
            for line in lines if " x " in line}
    assert rows["Ap"].endswith("*")
    assert not rows["Akappa"].endswith("*") and "-0.013" in rows["Akappa"]
    assert "± nan" not in "\n".join(lines) and "±  n/a" in rows["pkappa"]
    assert not rows["pkappa"].endswith("*") and len(rows) == 3


def test_the_s2_figure_colours_only_clear_positive_interactions():
    import numpy as np

    from reesens.present import figures
    fig = figures.s2_heatmaps(_s2_case(), "S2", ["leverage"])
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    coloured = {(j, k) for j, k in zip(*np.nonzero(~np.ma.getmaskarray(shown)))}
    assert coloured == {(0, 1)}
    hatched = {(int(p.get_y() + 0.5), int(p.get_x() + 0.5)) for p in ax.patches
               if p.get_hatch()}
    assert hatched == {(0, 2), (1, 2)}
    figures.plt.close(fig)


def test_cases_side_by_side_keep_every_output_some_case_has(tmp_path):
    """Swept concepts x selections (9 cases): the comparison figure and table have every
    output that some case has indices of (the payoffs are NaN under `paper`), a case
    without one says n/a with its reason, every case has its own colour and the legend
    lies inside the canvas."""
    import tomllib

    import numpy as np
    from matplotlib.patches import Rectangle

    from reesens.present import figures
    table = tomllib.loads(BASELINE.read_text())
    table["model"] = {"concepts": ["paper", "verifiable", "mimicable"],
                      "selections": ["china", "foreign", "hedge"]}
    table["sampling"] = {"N": 256, "seed": 2}
    groups = reesens.run(parse(table), out=tmp_path / "s.zarr")
    sobol = groups["sobol"]
    reasons = sobol["sobol_skip_reason"]
    somewhere = [o for o, has in zip(reasons["output"].values.tolist(),
                                     (reasons == "").any(["concept", "selection"]).values)
                 if has]
    first = [o for o in sobol["output"].values.tolist()
             if not str(reasons.isel(concept=0, selection=0).sel(output=o).values)]
    assert set(first) < set(somewhere)  # the first case lacks some outputs
    from reesens.methods.sobol import text
    from reesens.study import labels
    compared = [(labels.case_words(where), where) for where in (
        {"concept": c, "selection": s} for c in ("paper", "verifiable", "mimicable")
        for s in ("china", "foreign", "hedge"))]
    side = "\n".join(text._comparison_table(sobol, compared, somewhere))
    for output in somewhere:
        assert f"| {labels.output_words(output)} |" in side, output
    assert "n/a (" in side
    fig = figures.case_comparison(sobol, compared, somewhere, "cases")
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(somewhere)
    colours = {tuple(np.round(p.get_facecolor(), 3)) for ax in panels for p in ax.patches
               if isinstance(p, Rectangle) and p.get_height() != 0}
    assert len(colours) == 9
    notes = [t for ax in panels for t in ax.texts if t.get_gid() == "missing-cases"]
    assert notes
    for note in notes:  # within its panel, over no bar
        box, panel = note.get_window_extent(), note.axes.get_window_extent()
        assert box.x1 <= panel.x1 and box.y0 >= panel.y0
        assert not any(box.overlaps(bar.get_window_extent()) for bar in note.axes.patches
                       if isinstance(bar, Rectangle) and bar.get_height() > 0)
    legend = fig.legends[0].get_window_extent()
    canvas = fig.bbox
    assert legend.x0 >= canvas.x0 and legend.x1 <= canvas.x1 and legend.y1 <= canvas.y1
    assert len(fig.legends[0].get_texts()) == 10  # nine cases and S1
    assert not fig._suptitle.get_window_extent().overlaps(legend)
    figures.plt.close(fig)
