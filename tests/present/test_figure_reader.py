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


def test_histograms_mark_the_models_reference_values():
    """A model's Words.marks are dotted lines at their values, each labelled."""
    rng = np.random.default_rng(2)
    by_case = {"a": {"x": rng.uniform(size=2000), "y": rng.uniform(size=2000)}}
    fig = figures.histograms(by_case, ["x", "y"], "h",
                             {"x": ((0.402, "published"), (0.4, "set 4:5:1"))})
    x, y = [ax for ax in fig.axes if ax.get_visible()]
    lines = [line for line in x.lines if line.get_gid() == "mark"]
    assert [line.get_xdata()[0] for line in lines] == [0.402, 0.4]
    assert [t.get_text() for t in x.texts] == ["published", "set 4:5:1"]
    assert len({t.xyann[1] for t in x.texts} | {t.xy[1] for t in x.texts}) > 1  # 2 heights
    assert not [line for line in y.lines if line.get_gid() == "mark"]
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


# --- every figure kind of every report, read as a reader reads it ------------------------

def problems(fig) -> list[str]:
    """What a reader trips over in a drawn figure: a text, a panel or a legend outside
    the canvas; a panel's title or axis label over another panel; the figure's title over
    a panel; tick labels on top of each other; a symbol written as plain text (φ_D)
    where the axes write it as a symbol."""
    import matplotlib.text
    fig.canvas.draw()
    renderer, canvas = fig.canvas.get_renderer(), fig.bbox

    def outside(box):
        return (box.x0 < canvas.x0 - 1 or box.x1 > canvas.x1 + 1 or box.y0 < canvas.y0 - 1
                or box.y1 > canvas.y1 + 1)

    found = []
    panels = [ax for ax in fig.axes if ax.get_visible()]
    ticks = {id(t) for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()}
    for text in fig.findobj(matplotlib.text.Text):
        shown = text.get_text()
        if not (text.get_visible() and shown.strip()):
            continue
        if id(text) not in ticks and outside(text.get_window_extent(renderer)):
            found.append(f"text outside the canvas: {shown!r}")
        ax = text.axes
        if ax is not None and id(text) not in ticks and text not in (
                ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label) \
                and ax.get_label() != "<colorbar>" and ax.get_legend() is None:
            box, frame = text.get_window_extent(renderer), ax.get_window_extent(renderer)
            if not (frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1
                    and frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1):
                found.append(f"a note or label cut at its panel's edge: {shown!r}")
        if any(plain in shown for plain in ("φ_D", "ρ_C", "ρ_F")):
            found.append(f"a symbol as plain text: {shown!r}")
    legends = fig.legends + [ax.get_legend() for ax in panels if ax.get_legend()]
    found += ["legend outside the canvas" for legend in legends
              if outside(legend.get_window_extent(renderer))]
    title = fig._suptitle
    tight = {ax: ax.get_tightbbox(renderer) for ax in panels}  # each once: they are slow
    found += [f"the figure's legend over the panel {ax.get_title()!r}"
              for legend in fig.legends for ax in panels
              if legend.get_window_extent(renderer).overlaps(tight[ax])]
    for ax in panels:
        if outside(tight[ax]):
            found.append(f"panel outside the canvas: {ax.get_title()!r}")
        if ax.get_label() == "<colorbar>":
            continue
        own = [(t.get_text(), t.get_window_extent(renderer))
               for t in (ax.title, ax.xaxis.label, ax.yaxis.label) if t.get_text()]
        found += [f"{text!r} over another panel" for other in panels
                  if other is not ax and other.get_label() != "<colorbar>"
                  for text, box in own if box.overlaps(tight[other])]
        if title is not None and title.get_window_extent(renderer).overlaps(tight[ax]):
            found.append(f"the figure's title over the panel {ax.get_title()!r}")
        notes = [t.get_window_extent(renderer) for t in ax.texts
                 if t.get_visible() and t.get_text()]
        if any(a.overlaps(b) for i, a in enumerate(notes) for b in notes[i + 1:]):
            found.append(f"notes on top of each other in {ax.get_title()!r}")
        for labels_ in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [t.get_window_extent(renderer) for t in labels_
                     if t.get_visible() and t.get_text()]
            if any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]):
                found.append(f"tick labels collide in {ax.get_title()!r}")
    return sorted(set(found))


def test_the_reader_check_sees_what_a_reader_would():
    fig, (left, right) = figures.plt.subplots(1, 2, figsize=(4, 2))
    left.set_title("a title far too long for its panel, so that it runs over the next one")
    left.set_xticks([0, 0.01], ["first label", "second label"])
    right.text(1.5, 0.5, "beyond the canvas", transform=right.transAxes)
    right.set_title("right")
    right.text(0.95, 0.5, "a note cut at the edge", transform=right.transAxes)
    right.text(0.1, 0.2, "one note", transform=right.transAxes)
    right.text(0.1, 0.2, "another note", transform=right.transAxes)
    fig.suptitle("at φ_D = 0.5", y=0.8)
    fig.legend(handles=[figures.Patch(label="over the panels")], loc="center")
    found = problems(fig)
    assert "text outside the canvas: 'beyond the canvas'" in found
    assert "a symbol as plain text: 'at φ_D = 0.5'" in found
    assert "a note or label cut at its panel's edge: 'a note cut at the edge'" in found
    assert any(f.endswith("over another panel") for f in found)
    assert any(f.startswith("the figure's title over") for f in found)
    assert any(f.startswith("tick labels collide") for f in found)
    assert "notes on top of each other in 'right'" in found
    assert any(f.startswith("the figure's legend over the panel") for f in found)
    figures.plt.close(fig)


def test_every_figure_kind_reads_cleanly(tmp_path, monkeypatch):
    """Reports of a Monte Carlo store with nine cases (three concepts x three selections),
    second-order indices, PAWN, delta, regional sensitivity, PRIM and kept samples; of a
    convergence run; of a Morris screening; and of a grid of two concepts: every figure
    of each is read, and every figure kind that present.figures, present.phase and
    present.where draw is among them."""
    import tomllib

    from reesens.present import phase, report, where
    from reesens.runs import grid
    from reesens.runs import montecarlo as run
    from reesens.study.parse import parse
    from tests.interface.test_cli import ROOT
    from tests.runs.test_grid import _grid_table
    from tests.runs.test_pipeline import _woods_table

    kinds = {name: f for module in (figures, phase, where) for name, f in vars(module).items()
             if callable(f) and hasattr(f, "__wrapped__")}
    seen, read = set(), {}
    for module in (figures, phase, where):
        for name, f in kinds.items():
            if getattr(module, name, None) is f:
                def counted(*args, _f=f, _name=name, **kwargs):
                    seen.add(_name)
                    return _f(*args, **kwargs)
                monkeypatch.setattr(module, name, counted)
    real = figures.save

    kept = {}

    def save(fig, path, dpi=figures.DPI):
        read[f"{path.parent.name}/{path.name}"] = problems(fig)
        kept[f"{path.parent.name}/{path.name}"] = fig
        return real(fig, path, dpi)

    monkeypatch.setattr(figures, "save", save)
    model = {"name": "woods", "concepts": ["verifiable", "paper", "mimicable"],
             "selections": ["china", "foreign", "hedge"]}
    table = _woods_table(model=model, sampling={"N": 64, "block_points": 64, "seed": 3,
                                                "second_order": True})
    table["analysis"]["methods"] = ["sobol", "pawn", "delta", "rsa", "prim"]
    run.run(parse(table), out=tmp_path / "cases.zarr", progress=False, keep_samples=True)
    report.write_report(tmp_path / "cases.zarr", tmp_path / "cases",
                        outputs=["eq", "mu_star", "china_payoff", "agreement"])
    run.run(parse(_woods_table()), out=tmp_path / "conv.zarr", progress=False,
            target_ci=0.2, max_N=512)
    report.write_report(tmp_path / "conv.zarr", tmp_path / "conv", outputs=["eq", "mu_star"])
    screening = tomllib.loads((ROOT / "studies" / "screening.toml").read_text())
    screening["sampling"] = {**screening["sampling"], "trajectories": 40}
    run.run(parse(screening), out=tmp_path / "morris.zarr", progress=False)
    report.write_report(tmp_path / "morris.zarr", tmp_path / "morris")
    grid.run_grid(parse(_grid_table()), out=tmp_path / "grid.zarr", progress=False)
    report.write_report(tmp_path / "grid.zarr", tmp_path / "grid")
    assert seen == set(kinds), f"figure kinds no report drew: {set(kinds) - seen}"
    # the nine cases: each in every legend of cases, each in a colour of its own
    from matplotlib.colors import to_hex
    for name in ("cases/compare_cases.png", "cases/frequency_eq.png", "cases/histograms.png"):
        fig = kept[name]
        legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
        entries = [(t.get_text(), to_hex(h.get_facecolor() if hasattr(h, "get_facecolor")
                                         and h.get_facecolor()[3] else h.get_edgecolor()))
                   for t, h in zip(legend.get_texts(), legend.legend_handles)
                   if "S1" not in t.get_text()]
        assert len(entries) == 9 and len({c for _, c in entries}) == 9, (name, entries)
    assert len(read) > 30
    assert {f: p for f, p in read.items() if p} == {}
    # cases side by side whose legend is one row: it stays clear of the panel titles
    sobol = xr.open_zarr(tmp_path / "cases.zarr", group="sobol")
    few = [("A", {"concept": "verifiable", "selection": "china"}),
           ("B", {"concept": "paper", "selection": "china"})]
    fig = figures.case_comparison(sobol, few, ["mu_star", "china_payoff"], "two cases")
    assert problems(fig) == []
    figures.plt.close(fig)


@pytest.mark.parametrize("points", [4, 6, 8])
def test_contour_labels_stay_inside_their_panels(tmp_path, monkeypatch, points):
    """The shipped grid study at a few points per axis: every contour label of every
    phase diagram lies within its panel (matplotlib's own placement cuts some at an
    edge: 0.9 at 4 points, 0.2 and 0.8 at 6)."""
    import tomllib

    from reesens.present import report
    from reesens.runs import grid
    from tests.interface.test_cli import ROOT
    table = tomllib.loads((ROOT / "studies" / "baseline_grid.toml").read_text())
    for axis in table["grid"].values():
        if isinstance(axis, dict):
            axis["linspace"][2] = points
    grid.run_grid(reesens.load_study(table), out=tmp_path / "g.zarr", progress=False)
    read, real = {}, figures.save

    def save(fig, path, dpi=figures.DPI):
        contours = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "contours"]
        read[path.name] = (problems(fig), sum(len(c.labelTexts) for c in contours))
        return real(fig, path, dpi)

    monkeypatch.setattr(figures, "save", save)
    report.write_report(tmp_path / "g.zarr", tmp_path / "r")
    assert sum(labelled for _, labelled in read.values()) >= 5  # labels were drawn
    assert {name: found for name, (found, _) in read.items() if found} == {}
