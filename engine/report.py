"""Reports of a results store: the ranking table and drivers (text, for the terminal),
and `reesens report`'s figures and Markdown summary (engine.figures draws)."""
from __future__ import annotations

import json
import math
from itertools import product
from pathlib import Path

import numpy as np
import xarray as xr

from reesens.engine import verify
from reesens.engine import store as store_module


def _cases(ds: xr.Dataset):
    """[(title, dataset of one case)] over every dim that is neither output nor param."""
    dims = [d for d in ds["sobol_ST"].dims if d not in ("output", "param")]
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


def table(ds: xr.Dataset) -> str:
    """For each case and output, the parameters ranked by ST, with S1 and intervals."""
    lines = []
    for title, case in _cases(ds):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<28} {'param':<8} {'ST':>14} {'S1':>14}")
        for output, one, reason in _outputs(case):
            if reason:
                lines.append(f"{output:<28} {'-':<8} no indices: {reason}")
                continue
            order = np.argsort(-one["sobol_ST"].values, kind="stable")
            for rank, j in enumerate(order):
                name = output if rank == 0 else ""
                lines.append(
                    f"{name:<28} {one['param'].values[j]:<8} "
                    f"{_value(one['sobol_ST'].values[j], one['sobol_ST_conf'].values[j])} "
                    f"{_value(one['sobol_S1'].values[j], one['sobol_S1_conf'].values[j])}")
    return "\n".join(lines)


def drivers(ds: xr.Dataset, code_output: str = "eq") -> str:
    """One line per case: which parameters drive the choice among the codes of `code_output`.

    Ranks parameters by the largest ST they reach over the indicators `code_output==k`.
    """
    prefix = f"{code_output}=="
    lines = []
    for title, case in _cases(ds):
        labels = [o for o in case["output"].values.tolist() if o.startswith(prefix)]
        if not labels:
            continue
        st = case["sobol_ST"].sel(output=labels).max("output", skipna=True).values
        order = np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
        ranked = ", ".join(f"{case['param'].values[j]} (ST up to {st[j]:.2f})"
                           for j in order if not np.isnan(st[j]))
        lines.append(f"{title + ': ' if title else ''}the equilibrium choice is driven by "
                     f"{ranked}")
    return "\n".join(lines)


# --- `reesens report`: figures and a Markdown summary -------------------------------------

AUDIT_OUTPUTS = ("sets_differ", "region", "disagreement_region")  # woods_audit bookkeeping
PHASE_PLANES = (("kappa", "p"), ("delta", "p"), ("A", "delta"))  # (x, y), where present


class ReportError(ValueError):
    """The store cannot be reported on."""


CLOSED_FORM_MODELS = ("woods", "woods_audit")  # mu_star = (A + gamma) / (gamma + delta)
MARKER = ".reesens-report"  # in a report directory: the files the report wrote
PROGRESS_CHUNKS = 64  # grid chunks from which counting codes shows progress


def default_report_dir(store: Path) -> Path:
    return store.with_name(store.name.removesuffix(".zarr") + "-report")


def write_report(store: Path, out: Path | None = None, progress: bool = False) -> list[Path]:
    """Figures (PNG) and summary.md for a Monte Carlo or grid store; returns the files.
    With `progress`, counting the codes of a large grid shows its progress."""
    store = Path(store)
    out = Path(out) if out is not None else default_report_dir(store)
    groups = set(verify.require_intact(store))
    root = store_module.root_attrs(store)
    _claim(out)
    files, lines = [], [f"# {root.get('title') or root.get('study', store.name)}", ""]
    if "sobol" in groups:
        more_files, more_lines = _sobol_report(store, out, "convergence" in groups)
        files += more_files
        lines += more_lines
    if "grid" in groups:
        more_files, more_lines = _grid_report(store, out, progress)
        files += more_files
        lines += more_lines
    lines += ["## Provenance", ""] + _provenance(root)
    summary = out / "summary.md"
    summary.write_text("\n".join(lines) + "\n")
    files.append(summary)
    (out / MARKER).write_text("".join(f"{f.name}\n" for f in files))
    return files


def _claim(out: Path) -> None:
    """Make `out` a report directory: a new one, or one a report wrote (its MARKER lists
    the files; those are removed, so no figure of an earlier report is left). Anything
    else is refused: a file, or a directory holding files reesens did not write."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out}: exists and is not a directory; choose another --out "
                          "(a report is a directory of figures and summary.md)")
    if out.is_dir():
        marker = out / MARKER
        ours = set(marker.read_text().split()) if marker.is_file() else set()
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ours | {MARKER})
        if foreign:
            raise ReportError(
                f"{out}: not a reesens report directory (it holds {', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); choose another --out")
        for name in ours:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text).split()) or "all"


def _ci(value: float, conf: float) -> str:
    return f"{value:.3f} ± {conf:.3f}"


def _sobol_report(store: Path, out: Path, has_convergence: bool):
    from reesens.engine import figures  # imports matplotlib: only for reports
    sobol_ds = verify.open_group(store, "sobol")
    summary = verify.open_group(store, "summary")
    files, lines = [], []
    rows = int(summary.attrs["rows"])
    lines += [f"Monte Carlo study, N = {sobol_ds.attrs['N']} base points ({rows:,} model "
              f"rows), {sobol_ds.attrs['estimator']} estimator, intervals at "
              f"{float(sobol_ds.attrs['conf_level']):.0%}.", ""]
    for title, case in _cases(sobol_ds):
        name = title or "all rows"
        files.append(figures.sobol_bars(case, f"Sobol' indices: {name}",
                                        out / f"sobol_{_slug(title)}.png"))
        if "sobol_S2" in case:
            files.append(figures.s2_heatmaps(case, f"Second-order indices: {name}",
                                             out / f"s2_{_slug(title)}.png"))
        lines += [f"## What drives the outputs{': ' + title if title else ''}", ""]
        lines += [f"- {sentence}" for sentence in _driver_sentences(case)] + [""]
    codes = [v.removeprefix("summary_").removesuffix("_frequency")
             for v in summary.data_vars if v.endswith("_frequency")]
    for variable in codes:
        files.append(figures.code_frequencies(summary, variable,
                                              out / f"frequency_{variable}.png"))
    lines += ["## Invalid and NaN rows", ""] + _invalid_sentences(summary, codes, rows) + [""]
    if "summary_sets_differ_frequency" in summary:
        lines += ["## Paper audit", ""] + _audit_sentences(summary, sobol_ds) + [""]
    if has_convergence:
        convergence = verify.open_group(store, "convergence")
        files.append(figures.convergence(convergence, out / "convergence.png"))
        lines += ["## Convergence", "", f"- {target_outcome(convergence.attrs)}", ""]
    return files, lines


def target_outcome(attrs: dict) -> str:
    """Whether a `--target-ci` run met its target, from the convergence group's attrs."""
    target, widest, N = attrs["target_ci"], attrs["widest_half_width"], attrs["N_reached"]
    if attrs["target_met"]:
        return (f"target ST half-width {target:g} met at N = {N} (widest half-width "
                f"{widest:.3g})")
    return (f"target ST half-width {target:g} NOT met: the widest half-width is {widest:.3g} "
            f"at N = {N}, the largest N allowed (--max-n); resume with a larger --max-n")


def _driver_sentences(case: xr.Dataset) -> list[str]:
    """'<output> is driven by p (ST 0.41 ± 0.01), ...' for each analysed output."""
    from reesens.engine import figures  # imports matplotlib: only for reports
    sentences = []
    for output, one, reason in _outputs(case):
        if reason:
            sentences.append(f"{output}: no indices ({reason}).")
            continue
        st, conf = one["sobol_ST"].values, one["sobol_ST_conf"].values
        order = [j for j in np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
                 if st[j] - conf[j] > 0.01][:3]
        what = ("the indicator " if "==" in output else "") + figures.output_title(output)
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
            share = float(invalid.max())
            lines.append(f"- {variable}: {share:.2%} of the rows are invalid (code -1)"
                         f"{' in the worst case' if invalid.size > 1 else ''}.")
    nan = summary["summary_nan_count"]
    worst = nan.max([d for d in nan.dims if d != "output"]) if nan.ndim > 1 else nan
    with_nan = [f"{o} ({int(n):,} rows, {int(n) / rows:.2%})"
                for o, n in zip(worst["output"].values.tolist(), worst.values) if n]
    lines.append("- NaN rows: " + (", ".join(with_nan) if with_nan else "none") + ".")
    return lines


def _audit_sentences(summary: xr.Dataset, sobol_ds: xr.Dataset) -> list[str]:
    """The paper audit in words: how often and where Theorem 4 differs, and why."""
    differ = float(summary["summary_sets_differ_frequency"].sel(sets_differ_code=1))
    region = summary["summary_region_frequency"]
    where = summary["summary_disagreement_region_frequency"]
    meanings = dict(zip(summary["region_code"].values.tolist(),
                        summary["region_code"].attrs["flag_meanings"].split()))
    lines = [f"- Woods (2025)'s Theorem 4 (`paper`) and the exact verifiable-disclosure set "
             f"differ on {differ:.1%} of the sampled rows."]
    shares = {}
    for code in summary["region_code"].values.tolist():
        size = float(region.sel(region_code=code))
        if code < 0 or size == 0:
            continue
        shares[meanings[code]] = float(where.sel(disagreement_region_code=code)) / size
        lines.append(f"- In region {meanings[code]} ({size:.1%} of the rows) they differ "
                     f"on {shares[meanings[code]]:.1%} of it.")
    lines += _always_never(shares)
    label = "sets_differ==differ"
    if label in sobol_ds["output"].values.tolist():
        case = _cases(sobol_ds)[0][1]
        lines += [f"- Disagreement indicator: {_driver_sentences(case.sel(output=[label]))[0]}"]
    return lines


def _grid_report(store: Path, out: Path, progress: bool = False):
    from reesens.engine import figures  # imports matplotlib: only for reports
    cube = verify.open_grid(store)
    root = store_module.root_attrs(store)
    fixed = json.loads(root.get("fixed_parameters", "{}"))
    axes = [d for d in cube.dims if d in cube.coords and cube[d].dtype.kind == "f"]
    case_dims = [d for d in cube.dims if d not in axes]
    code_vars = [v for v in cube.data_vars if "flag_values" in cube[v].attrs]
    panel_vars = [v for v in code_vars if v not in AUDIT_OUTPUTS]
    files = []
    lines = [f"Grid sweep: {grid_dims(cube)} = {int(root['cells']):,} cells.", ""]
    planes = [pl for pl in PHASE_PLANES if set(pl) <= set(axes)] or (
        [tuple(axes[-2:])] if len(axes) >= 2 else [])  # a 1-D grid gets the summary only
    for x, y in planes:
        middle = {d: cube.sizes[d] // 2 for d in axes if d not in (x, y)}
        if {"kappa", "phi_D"} <= set(middle):  # off the kappa == phi_D tie: kappa above
            middle["kappa"] = (3 * cube.sizes["kappa"]) // 4
        at = {d: float(cube[d].values[i]) for d, i in middle.items()}
        where = ", ".join(f"{figures.symbol(d)} = {v:.3g}" for d, v in at.items())
        sliced = cube.isel(middle).transpose(*case_dims, y, x)
        panels = []
        for variable in panel_vars:
            for index in np.ndindex(*(cube.sizes[d] for d in case_dims)):
                a = sliced[variable][index].load()
                label = " ".join(str(sliced[d].values[i]) for d, i in zip(case_dims, index))
                panels.append((f"{variable} {label}".strip(), a))
        values = {**fixed, **at}
        overlays = {}
        if panels and "mu_star" in sliced:  # the model's own threshold, as computed
            first = sliced["mu_star"][(0,) * len(case_dims)].load().values
            overlays = figures.woods_overlays(panels[0][1], values, mu_star=first)
        elif panels and root.get("model") in CLOSED_FORM_MODELS:
            overlays = figures.woods_overlays(panels[0][1], values)
        if panels:
            files.append(figures.phase_diagram(
                panels, overlays, "Phase diagram" + (f" at {where}" if where else ""),
                out / f"phase_{x}_{y}.png"))
        differ = _differ(sliced, case_dims)
        if differ:
            files.append(figures.disagreement_map(
                differ, overlays,
                "Where the classifications differ" + (f" ({where})" if where else ""),
                out / f"disagreement_{x}_{y}.png"))
    lines += ["## Equilibrium codes over the grid", ""]
    lines += [f"- {variable}: {shares}."
              for variable, shares in code_shares(cube, progress).items()]
    if {"sets_differ", "region"} <= set(cube.data_vars):
        lines += ["", "## Paper audit on the grid", ""] + _grid_audit(cube, progress)
    return files, lines + [""]


def grid_dims(cube: xr.Dataset) -> str:
    """'concept 2 x p 40 x ...' in the cube's order: swept options, then axes."""
    return " x ".join(f"{d} {n}" for d, n in cube.sizes.items())


def code_shares(cube: xr.Dataset, progress: bool = False) -> dict[str, str]:
    """{code output: 'meaning 41.0%, ...'}: the share of grid cells of each code."""
    shares = {}
    for variable in (v for v in cube.data_vars if "flag_values" in cube[v].attrs):
        counts = _code_counts(cube[variable], progress)
        meanings = dict(zip(cube[variable].attrs["flag_values"],
                            cube[variable].attrs["flag_meanings"].split()))
        total = sum(counts.values())
        shares[variable] = ", ".join(f"{meanings.get(c, c)} {n / total:.1%}"
                                     for c, n in sorted(counts.items()))
    return shares


def _differ(sliced: xr.Dataset, case_dims) -> list[tuple[str, xr.DataArray]]:
    """[(case label, bool (y, x))]: where the two classifications differ, one panel per
    combination of the other swept options ([] when there are not two classifications)."""
    if "sets_differ" in sliced:
        a, compared = sliced["sets_differ"] == 1, ""
    elif "concept" in sliced.dims and sliced.sizes["concept"] >= 2:
        name = "eq_set" if "eq_set" in sliced else "eq"
        a = sliced[name].isel(concept=0) != sliced[name].isel(concept=1)
        compared = " vs ".join(str(c) for c in sliced["concept"].values[:2])
    else:
        return []
    others = [d for d in case_dims if d in a.dims]
    panels = []
    for index in np.ndindex(*(a.sizes[d] for d in others)):
        label = " ".join([compared] + [f"{d} {a[d].values[i]}" for d, i in zip(others, index)])
        panels.append((label.strip(), a.isel(dict(zip(others, index))).load()))
    return panels


def _code_counts(a: xr.DataArray, progress: bool = False) -> dict[int, int]:
    """{code: cells} of an integer cube of any size (codes in [-512, 512)), read one stored
    chunk at a time (with `progress`, a line or bar per chunk when there are many)."""
    import dask.array as da

    from reesens.engine.parallel import Progress

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
            shares[meanings[code]] = joint.get(2 * code + 1, 0) / size
            lines.append(f"- Region {meanings[code]} ({size:,} cells, {size / total:.1%}): "
                         f"they differ on {shares[meanings[code]]:.1%} of it.")
    return lines + _always_never(shares)


def _always_never(shares: dict[str, float]) -> list[str]:
    """The audit's conclusion in words: regions where the sets always / never differ."""
    always = [r for r, s in shares.items() if s == 1.0]
    never = [r for r, s in shares.items() if s == 0.0]
    lines = []
    if always:
        lines.append(f"- In words: Theorem 4 misstates the equilibrium set everywhere in "
                     f"{', '.join(always)}" + (f", and gets it right everywhere in "
                                               f"{', '.join(never)}" if never else "") + ".")
    return lines


def _provenance(root: dict) -> list[str]:
    keys = ("study", "study_file", "model", "N", "estimator", "seed", "cells", "git_commit",
            "git_dirty", "command", "wall_time_s", "resumed")
    lines = [f"- {k}: {root[k]}" for k in keys if k in root]
    versions = json.loads(root.get("package_versions", "{}"))
    if versions:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    return lines
