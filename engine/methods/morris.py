"""Morris screening (design = "morris"): mu, mu_star and sigma of the elementary effects of
every analysed output, with bootstrap intervals over the trajectories.

An elementary effect of parameter j in one trajectory is (y(x + e_j Delta) - y(x)) /
Delta, Delta = levels / (2 (levels - 1)) on the unit grid, from the two rows of the
trajectory that differ in x_j. mu is their mean, mu_star the mean of their absolute
values (Campolongo et al. 2007), sigma their standard deviation (ddof 1), as SALib's
`morris.analyze`. The intervals resample whole trajectories with replacement,
`resamples` times, drawn as SALib draws them for mu_star (so mu_star_conf is SALib's),
and give z * the standard deviation of each statistic over the resamples. The design and
its run are runs.morris's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reesens.core import intervals
from reesens.evaluate import cases as evaluate
from reesens.methods import tables
from reesens.study import labels
from reesens.study.registry import Method, register
from reesens.study.schema import Study

if TYPE_CHECKING:
    import xarray as xr

QUANTITIES = ("mu", "mu_star", "sigma")

WIDTH = tables.OUTPUT_WIDTH  # the terminal table's output column


def elementary_effects(x: np.ndarray, y: np.ndarray, levels: int) -> np.ndarray:
    """(..., D, trajectories): the elementary effects of rows x (trajectories * (D + 1),
    D) with outputs y (..., rows), each from the two rows of its trajectory that differ in
    that parameter, the higher x's output minus the lower's, over Delta."""
    D = x.shape[1]
    T = x.shape[0] // (D + 1)
    delta = levels / (2.0 * (levels - 1))
    steps = np.diff(x.reshape(T, D + 1, D), axis=1)  # (T, D steps, D params)
    moved = np.argmax(steps != 0, axis=2)  # (T, D steps): the parameter each step moves
    up = np.take_along_axis(steps, moved[..., None], axis=2)[..., 0] > 0
    change = np.diff(y.reshape(*y.shape[:-1], T, D + 1), axis=-1)  # (..., T, D steps)
    effect = np.where(up, change, -change) / delta  # the higher x's output minus the lower's
    out = np.empty((*y.shape[:-1], D, T))
    out[..., moved, np.arange(T)[:, None]] = effect
    return out


def statistics(ee: np.ndarray, resamples: int, conf_level: float, seed: int) -> dict:
    """{mu, mu_star, sigma and their _conf}: (D,) each, from elementary effects (D, T);
    the intervals over `resamples` resamples of the trajectories (SALib's draws)."""
    z = intervals.normal_quantile(conf_level)
    out = {"mu": np.average(ee, 1), "mu_star": np.average(np.abs(ee), 1),
           "sigma": np.std(ee, axis=1, ddof=1)}
    rng = np.random.default_rng(seed)
    conf = {q: np.empty(ee.shape[0]) for q in QUANTITIES}
    for j in range(ee.shape[0]):
        drawn = ee[j][rng.integers(ee.shape[1], size=(resamples, ee.shape[1]))]
        conf["mu"][j] = z * drawn.mean(axis=1).std(ddof=1)
        conf["mu_star"][j] = z * np.average(np.abs(drawn), axis=1).std(ddof=1)
        conf["sigma"][j] = z * drawn.std(axis=1, ddof=1).std(ddof=1)
    out.update({f"{q}_conf": c for q, c in conf.items()})
    return out


def morris_dataset(study: Study, spec, rows: np.ndarray, values: np.ndarray) -> xr.Dataset:
    """The `morris` group: mu, mu_star, sigma and their half-widths on (cases..., output,
    param), the outputs being the series that vary somewhere (an indicator of a code that
    never occurs is left out); and the design's rows."""
    import xarray as xr

    shape = evaluate.case_shape(study)
    D = len(study.sampled_names)
    values = values.reshape(*shape, len(spec), -1)
    combos = int(np.prod(shape[1:]))
    kept = [i for i, s in enumerate(spec) if s.code is None or (values[..., i, :] > 0).any()]
    arrays = {q: np.full((*shape, len(kept), D), np.nan)
              for q in QUANTITIES + tuple(f"{q}_conf" for q in QUANTITIES)}
    reasons = np.full((*shape, len(kept)), "", dtype=object)
    for case in np.ndindex(*shape):
        x = rows[int(np.ravel_multi_index(case, shape)) // combos]
        for k, i in enumerate(kept):
            y = values[case + (i,)]
            bad = int(np.count_nonzero(~np.isfinite(y)))
            if bad:
                reasons[case + (k,)] = f"{bad} NaN rows"
                continue
            found = statistics(elementary_effects(x, y, study.levels), study.resamples,
                               study.conf_level, study.analysis_seed)
            for q, a in found.items():
                arrays[q][case + (k,)] = a
    dims, coords = evaluate.case_coords(study)
    level = f"{100 * study.conf_level:g}%"
    texts = {"mu": "mean elementary effect (Morris)",
             "mu_star": "mean absolute elementary effect (Campolongo et al. 2007)",
             "sigma": "standard deviation of the elementary effects"}
    data = {}
    for q, a in arrays.items():
        base = q.removesuffix("_conf")
        long_name = texts[base] if q == base else (
            f"half-width of the {level} bootstrap interval (trajectories resampled) of the "
            f"{texts[base]}")
        data[f"morris_{q}"] = (dims + ["output", "param"], a, {
            "long_name": long_name, "units": "output units per unit of the parameter's "
                                             "unit-cube coordinate"})
    data["morris_skip_reason"] = (dims + ["output"], reasons, {
        "long_name": "why the output has no measures (empty: it has them)", "units": "1"})
    data["morris_rows"] = (("scenario", "row", "param"), rows, {
        "long_name": "the design's parameter rows, trajectory by trajectory",
        "units": "parameter units"})
    coords.update({"output": np.array([spec[i].label for i in kept], dtype=object),
                   "param": np.array(study.sampled_names, dtype=object)})
    coords["output_long_name"] = ("output", np.array([spec[i].attrs["long_name"]
                                                      for i in kept], dtype=object),
                                  {"long_name": "meaning of the output", "units": "1"})
    return evaluate.squeeze_cases(xr.Dataset(data, coords=coords), study)


def morris_table(ds: xr.Dataset) -> str:
    """For each case and output of a Morris store, the parameters ranked by mu_star, with
    mu and sigma, each with its bootstrap interval."""
    lines = [f"Morris screening: {ds.attrs.get('trajectories')} trajectories on "
             f"{ds.attrs.get('levels')} levels; elementary effects per unit of the "
             "parameter's unit-cube coordinate"]
    P = tables.param_width(ds)
    for title, case in tables.cases(ds, "morris_mu_star"):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<{WIDTH}} {'param':<{P}} {'mu_star':>16} "
                     f"{'mu':>16} {'sigma':>16}")
        for output in case["output"].values.tolist():
            one = case.sel(output=output)
            names = tables.wrap(output, WIDTH)
            reason = str(one["morris_skip_reason"].values)
            if reason:
                lines.append(f"{names[0]:<{WIDTH}} {'-':<{P}} no measures: {reason}")
                continue
            order = np.argsort(-one["morris_mu_star"].values, kind="stable")
            for rank, j in enumerate(order):
                name = names[rank] if rank < len(names) else ""
                cells = " ".join(f"{_morris_value(one, q, j):>16}"
                                 for q in ("mu_star", "mu", "sigma"))
                lines.append(f"{name:<{WIDTH}} {one['param'].values[j]:<{P}} {cells}")
    return "\n".join(lines)


def _morris_value(one: xr.Dataset, q: str, j: int) -> str:
    """A Morris statistic with its half-width, to 4 significant digits (they have the
    output's units)."""
    value, conf = float(one[f"morris_{q}"].values[j]), float(one[f"morris_{q}_conf"].values[j])
    return f"{value:.4g} ±{conf:.2g}"


def report(page) -> list[str]:
    """The mu_star-sigma plane per case and the ranking by mu_star of a Morris store."""
    ds = page.open("morris")
    chosen = page.chosen(ds["output"].values.tolist())
    T = int(ds.attrs["trajectories"])
    lines = [f"Morris screening, {T} trajectories on {ds.attrs['levels']} levels "
             f"({T * (ds.sizes['param'] + 1):,} rows per case); intervals at "
             f"{float(ds.attrs['conf_level']):.0%} from {ds.attrs['resamples']} resamples "
             "of the trajectories.", ""]
    for title, case in tables.cases(ds, "morris_mu_star"):
        name = labels.case_words(tables.case_of(case, ds, "morris_mu_star")) or "all rows"
        outputs = [o for o in chosen
                   if not str(case["morris_skip_reason"].sel(output=o).values)]
        page.figure(page.figures.morris_plane(case, f"Morris screening: {name}", outputs),
                  f"morris_{tables.slug(title)}",
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


def show(groups: dict, options: dict) -> str:
    return morris_table(groups["morris"])


MORRIS = register(Method(
    name="morris", order=5, title="Morris screening", groups=("morris",), design="morris",
    export={"morris": {f"morris_{q}": f"morris_{q}" for q in ("mu_star", "mu", "sigma")}},
    show=show, report=report))
