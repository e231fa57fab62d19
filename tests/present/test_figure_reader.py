"""Figures read as a reader reads them: their artists, not their pixels."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import reesens
from reesens.present import figures
from tests.interface.test_cli import BASELINE


def test_histograms_leave_out_constants_label_density_and_cut_a_spike():
    rng = np.random.default_rng(1)
    spiky = np.where(rng.uniform(size=4000) < 0.6, 0.5, rng.normal(size=4000))
    by_case = {"a": {"x": rng.normal(size=4000), "one": np.ones(4000), "spiky": spiky},
               "b": {"x": rng.normal(size=4000), "one": np.ones(4000), "spiky": spiky}}
    fig = figures.histograms(by_case, ["x", "one", "spiky"], "h")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["x", "spiky"]  # `one` never varies
    assert all(ax.get_ylabel() == "density" for ax in panels)
    spike = panels[1]
    notes = [t for t in spike.texts if t.get_gid() == "spike"]
    assert notes and notes[0].get_text().endswith("of rows")
    share = float(notes[0].get_text().split("%")[0]) / 100
    assert share == pytest.approx(0.6, abs=0.05)
    assert spike.get_ylim()[1] < max(p.get_path().vertices[:, 1].max()
                                     for p in spike.patches)
    figures.plt.close(fig)


def test_the_convergence_plot_draws_zero_and_the_target():
    N = np.array([256, 512, 1024])
    st = np.array([[[0.5, 0.4, 0.42], [0.0, 0.01, -0.01]]]).transpose(0, 2, 1)  # (o, N, p)
    conv = xr.Dataset({"sobol_ST": (("output", "N", "param"), st),
                       "sobol_ST_conf": (("output", "N", "param"), np.full_like(st, 0.05))},
                      coords={"output": ["y"], "N": N, "param": ["a", "b"]},
                      attrs={"target_ci": 0.05})
    fig = figures.convergence(conv, ["y"])
    ax = fig.axes[0]
    assert any(line.get_gid() == "zero" for line in ax.lines)
    assert any(c.get_label() == "target ±0.05" for c in ax.containers)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "target ±0.05" in labels
    lo, hi = ax.get_ylim()
    assert lo < 0 < hi
    figures.plt.close(fig)


def test_the_delta_figure_names_the_distance_delta_reads(tmp_path):
    study = reesens.load_study(BASELINE, N=256, methods=["sobol", "delta", "pawn"])
    groups = reesens.run(study, out=tmp_path / "s.zarr")
    delta, pawn = groups["delta"], groups["pawn"]
    assert set(delta["output_distance"].values) == {"total variation"}
    assert pawn["output_distance"].sel(output="mu_star").item() == "Kolmogorov-Smirnov"
    fig = figures.measure_bars(delta, "delta", ["mu_star"])
    assert fig.axes[0].get_title().endswith("(total variation)")
    figures.plt.close(fig)


def test_morris_panels_keep_their_titles_and_symbols_apart(tmp_path):
    import tomllib

    from tests.interface.test_cli import ROOT
    table = tomllib.loads((ROOT / "studies" / "screening.toml").read_text())
    table["sampling"] = {**table["sampling"], "trajectories": 40}
    groups = reesens.run(reesens.load_study(table), out=tmp_path / "m.zarr")
    ds = groups["morris"]
    outputs = [o for o in ds["output"].values.tolist()
               if not str(ds["morris_skip_reason"].sel(output=o).values)][:9]
    fig = figures.morris_plane(ds, "Morris", outputs)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    for ax in panels:
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), \
            ax.get_title()
    canvas = fig.bbox
    for ax in panels:  # every label inside the canvas
        for label in (ax.xaxis.label, ax.yaxis.label, ax.title):
            box = label.get_window_extent(renderer)
            assert canvas.x0 <= box.x0 and box.x1 <= canvas.x1 and canvas.y0 <= box.y0, \
                label.get_text()
    for upper, lower in zip(panels, panels[3:]):  # a title below another panel's labels
        above = upper.get_tightbbox(renderer)
        assert not lower.title.get_window_extent(renderer).overlaps(above)
    figures.plt.close(fig)


def test_group_names_on_the_axis_do_not_collide(tmp_path):
    from tests.interface.test_cli import ROOT
    study = reesens.load_study(ROOT / "studies" / "baseline_groups.toml", N=256)
    ds = reesens.run(study, out=tmp_path / "g.zarr")["sobol"]
    assert any(len(p) > 8 for p in ds["param"].values.tolist())  # long group names
    outputs = figures.analysed_outputs(ds)[:6]
    fig = figures.sobol_bars(ds, "groups", outputs)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in (a for a in fig.axes if a.get_visible()):
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert len(boxes) == ds.sizes["param"]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        assert ax.xaxis.get_tightbbox(renderer).y0 >= fig.bbox.y0
    figures.plt.close(fig)


def test_the_code_frequency_legend_covers_no_bar():
    from matplotlib.patches import Rectangle
    concepts, selections = ["paper", "verifiable", "mimicable"], ["china", "foreign", "hedge"]
    rng = np.random.default_rng(4)
    freq = rng.dirichlet(np.ones(4), size=(3, 3))
    summary = xr.Dataset(
        {"summary_eq_frequency": (("concept", "selection", "eq_code"), freq)},
        coords={"concept": concepts, "selection": selections,
                "eq_code": ("eq_code", [0, 1, 2, 3], {
                    "flag_values": [0, 1, 2, 3],
                    "flag_meanings": "none pool_nd_hedge pool_nd_press separating"})})
    fig = figures.code_frequencies(summary, "eq")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 36
    assert not any(legend.overlaps(b.get_window_extent(renderer)) for b in bars)
    assert legend.x1 <= fig.bbox.x1
    assert len({tuple(np.round(b.get_facecolor(), 3)) for b in bars}) == 9
    figures.plt.close(fig)


def test_a_single_output_fills_its_figure(tmp_path):
    study = reesens.load_study(BASELINE, N=256)
    ds = reesens.run(study, out=tmp_path / "s.zarr")["sobol"]
    fig = figures.sobol_bars(ds, "one output", ["mu_star"])
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 1 == len(fig.axes)
    box = panels[0].get_position()  # in figure fractions
    assert box.width > 0.6, box.width
    figures.plt.close(fig)
