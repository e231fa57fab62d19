"""How Sobol' indices read: the ranking table, the drivers of each code output, second-order
pairs, and the report's section."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from reesens.methods import tables
from reesens.study import labels

if TYPE_CHECKING:
    import xarray as xr

WIDTH = tables.OUTPUT_WIDTH  # the terminal table's output column


def _outputs(case: xr.Dataset):
    """(output, its indices, skip reason or "") for each output of one case."""
    for output in case["output"].values.tolist():
        one = case.sel(output=output)
        yield output, one, str(one["sobol_skip_reason"].values)


def complements(summary: xr.Dataset | None) -> dict[str, str]:
    """{dropped series: the one kept} for code outputs of which exactly two codes occur
    (in every case together): the indicators of the two codes sum to 1, so they and the
    output's aggregate (methods.categorical) have the same indices. The later code's
    indicator is kept (sets_differ==differ over ==same and over sets_differ)."""
    if summary is None:
        return {}
    dropped = {}
    for name in summary.data_vars:
        if not (name.startswith("summary_") and name.endswith("_frequency")):
            continue
        variable = name.removeprefix("summary_").removesuffix("_frequency")
        code_dim = f"{variable}_code"
        freq = summary[name]
        present = (freq > 0).any([d for d in freq.dims if d != code_dim]).values
        if present.sum() == 2:
            meanings = summary[code_dim].attrs["flag_meanings"].split()
            first, second = (meanings[i] for i in np.flatnonzero(present))
            dropped[f"{variable}=={first}"] = dropped[variable] = f"{variable}=={second}"
    return dropped


def table(ds: xr.Dataset, summary: xr.Dataset | None = None) -> str:
    """For each case and output, the parameters ranked by ST, with S1 and intervals; of
    two complementary indicators (complements) only one, and a line saying so."""
    dropped = complements(summary)
    lines, P = [], tables.param_width(ds)
    for title, case in tables.cases(ds):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<{WIDTH}} {'param':<{P}} {'ST':>14} {'S1':>14}")
        for output, one, reason in _outputs(case):
            if output in dropped:
                continue
            names = tables.wrap(output, WIDTH)
            if reason:
                reason += _constant_value(summary, tables.case_of(case, ds), output, reason)
                lines.append(f"{names[0]:<{WIDTH}} {'-':<{P}} no indices: {reason}")
                lines += names[1:]
                continue
            v = {n: one[n].values for n in ("sobol_ST", "sobol_ST_conf", "sobol_S1",
                                            "sobol_S1_conf", "param")}
            order = np.argsort(-v["sobol_ST"], kind="stable")
            for rank, j in enumerate(order):
                name = names[rank] if rank < len(names) else ""
                ST = tables.value(v["sobol_ST"][j], v["sobol_ST_conf"][j])
                S1 = tables.value(v["sobol_S1"][j], v["sobol_S1_conf"][j])
                lines.append(f"{name:<{WIDTH}} {v['param'][j]:<{P}} {ST} {S1}")
            lines += names[len(order):]
    lines += [f"({d} left out: the same indices as {k}, only two codes occur)"
              for d, k in dropped.items() if d in ds["output"].values.tolist()]
    return "\n".join(lines)


def second_order_table(ds: xr.Dataset, summary: xr.Dataset | None = None) -> str:
    """For each case and output, every S2[j, k] with its interval, largest |S2| first;
    '*' marks a positive S2 whose interval leaves out 0 (a negative one is noise: no
    interaction explains a negative share)."""
    if "sobol_S2" not in ds:
        return "no second-order indices in this store (run with --second-order)"
    dropped = complements(summary)
    params = ds["param"].values.tolist()
    W = max(16, 2 * tables.param_width(ds) + 3)
    lines = [f"S2 with {float(ds.attrs.get('conf_level', 0.95)):.0%} intervals at N = "
             f"{ds.attrs.get('N')}; * : S2 > 0 and its interval leaves out 0"]
    for title, case in tables.cases(ds):
        if title:
            lines.append(f"== {title}")
        lines.append(f"{'output':<{WIDTH}} {'pair':<{W}} {'S2':>14}")
        for output, one, reason in _outputs(case):
            s2, conf = one["sobol_S2"].values, one["sobol_S2_conf"].values
            if reason or output in dropped or not np.isfinite(s2).any():
                continue
            pairs = [(j, k) for j in range(len(params)) for k in range(j + 1, len(params))]
            pairs.sort(key=lambda jk: -np.nan_to_num(abs(s2[jk]), nan=-1.0))
            names = tables.wrap(output, WIDTH)
            for rank, (j, k) in enumerate(pairs):
                name = names[rank] if rank < len(names) else ""
                clear = "*" if s2[j, k] - conf[j, k] > 0 else " "  # NaN: unknown
                lines.append(f"{name:<{WIDTH}} {params[j] + ' x ' + params[k]:<{W}} "
                             f"{tables.value(s2[j, k], conf[j, k])} {clear}")
    return "\n".join(lines)


def drivers(ds: xr.Dataset, code_output: str | None = None) -> str:
    """One line per case: which parameters drive the choice among the codes of
    `code_output` (default: the model's `choice`, kernels.registry.Words), ranked by the
    aggregated total index of all its codes at once (methods.categorical), with
    intervals."""
    if code_output is None:
        code_output = labels.words_of(ds.attrs.get("model", "")).choice
    lines = []
    for title, case in tables.cases(ds):
        if code_output not in case["output"].values.tolist():
            continue
        one = case.sel(output=code_output)
        if str(one["sobol_skip_reason"].values):
            continue
        st, conf = one["sobol_ST"].values, one["sobol_ST_conf"].values
        order = np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
        ranked = ", ".join(f"{case['param'].values[j]} (ST {st[j]:.2f} ± {conf[j]:.2f})"
                           for j in order if not np.isnan(st[j]))
        lines.append(f"{title + ': ' if title else ''}the equilibrium choice is driven by "
                     f"{ranked} (all {code_output} codes at once)")
    return "\n".join(lines)


def report(page) -> list[str]:
    """The Sobol' indices' figures per case and the report's sections on what drives the
    outputs, the cases side by side, invalid and NaN rows and the convergence."""
    sobol_ds, summary = page.open("sobol"), page.open("summary")
    rows, N = int(summary.attrs["rows"]), sobol_ds.attrs["N"]
    dropped = complements(summary)
    chosen = page.chosen(sobol_ds["output"].values.tolist())
    conf = f"{float(sobol_ds.attrs['conf_level']):.0%}"
    lines = [f"Monte Carlo study, N = {N} base points ({rows:,} model rows), "
             f"{sobol_ds.attrs['estimator']} estimator, intervals at {conf}.", ""]
    if "param_members" in sobol_ds.coords:  # a grouped study: indices per group
        groups = [f"{g} ({m.replace(' ', ', ')})" for g, m in zip(
            sobol_ds["param"].values.tolist(), sobol_ds["param_members"].values.tolist())
            if g != m]
        lines += [f"Sobol' indices are per group of parameters: {'; '.join(groups)}; the "
                  "other parameters are groups of their own.", ""]
    lines += [f"Left out of tables and figures: {d}, which has the same indices as {k} "
              "(only two codes occur: their indicators sum to 1)."
              for d, k in dropped.items() if d in chosen] + ([""] if dropped else [])
    cases = tables.cases(sobol_ds)
    for title, case in cases:
        name = labels.case_words(tables.case_of(case, sobol_ds)) or "all rows"
        outputs = [o for o in page.figures.analysed_outputs(case)
                   if o in chosen and o not in dropped]
        page.figure(page.figures.sobol_bars(case, f"Sobol' indices: {name} (N = {N})", outputs),
                  f"sobol_{tables.slug(title)}",
                  f"First-order (S1) and total (ST) Sobol' indices of each output, {name}, "
                  f"with {conf} intervals; N = {N}.")
        if "sobol_S2" in case:
            page.figure(page.figures.s2_heatmaps(case, f"Second-order indices: {name} (N = {N})",
                                          outputs), f"s2_{tables.slug(title)}",
                      f"Second-order indices S2 of each pair of parameters, {name}; "
                      f"hatched: the {conf} interval contains 0; N = {N}.")
        lines += [f"## What drives the outputs{': ' + name if title else ''}", ""]
        lines += [f"- In short: {line}." for line in drivers(case).splitlines()]
        lines += [f"- {line}." for line in stated_values(summary,
                                                         tables.case_of(case, sobol_ds))]
        lines += [f"- {sentence}" for sentence in _driver_sentences(case, outputs)] + [""]
    if len(cases) > 1:
        # an output belongs in the comparison if any case has indices of it
        reasons = sobol_ds["sobol_skip_reason"]
        somewhere = (reasons == "").any([d for d in reasons.dims if d != "output"])
        outputs = [o for o, has in zip(reasons["output"].values.tolist(), somewhere.values)
                   if has and o in chosen and o not in dropped]
        compared = [(labels.case_words(tables.case_of(case, sobol_ds)),
                     tables.case_of(case, sobol_ds))
                    for _, case in cases]
        page.figure(page.figures.case_comparison(sobol_ds, compared, outputs,
                                          f"The cases side by side (N = {N})"),
                  "compare_cases", "Total indices ST (bars) and first-order indices S1 "
                  f"(dots) of each output per case, with {conf} intervals; N = {N}.")
        lines += ["## The cases side by side", ""] + _comparison_table(sobol_ds, compared,
                                                                         outputs) + [""]
    codes = [v.removeprefix("summary_").removesuffix("_frequency")
             for v in summary.data_vars if v.endswith("_frequency")]
    for variable in codes:
        page.figure(page.figures.code_frequencies(summary, variable), f"frequency_{variable}",
                  f"Share of the {rows:,} model rows per code of {variable}, per case.")
    lines += ["## Invalid and NaN rows", ""] + _invalid_sentences(summary, codes, rows) + [""]
    audit = labels.words_of(sobol_ds.attrs.get("model", "")).audit
    if audit and f"summary_{audit.flag}_frequency" in summary:
        lines += [f"## {audit.title}", ""] + _audit_sentences(summary, sobol_ds, audit) + [""]
    if "convergence" in page.groups:
        convergence = page.open("convergence")
        shown = [o for o in chosen if o not in dropped]
        page.figure(page.figures.convergence(convergence, shown),
                  "convergence", "Total indices ST against the base sample count N, with "
                  "interval bands, as the run doubled N towards its target.")
        lines += ["## Convergence", "", f"- {target_outcome(convergence.attrs)}", ""]
    return lines


def _comparison_table(ds: xr.Dataset, cases, outputs) -> list[str]:
    """Markdown: per output and parameter, ST and S1 with their intervals in each case
    ("n/a (reason)" in a case without indices of the output)."""
    head = "| output | param | " + " | ".join(name for name, _ in cases) + " |"
    lines = [head, "|" + "---|" * (2 + len(cases))]
    for output in outputs:
        for param in ds["param"].values.tolist():
            cells = []
            for _, where in cases:
                one = ds.sel(where).sel(output=output, param=param)
                reason = str(one["sobol_skip_reason"].values)
                if reason:
                    cells.append(f"n/a ({reason})")
                    continue
                ST = tables.ci(float(one["sobol_ST"]), float(one["sobol_ST_conf"]))
                S1 = tables.ci(float(one["sobol_S1"]), float(one["sobol_S1_conf"]))
                cells.append(f"ST {ST}, S1 {S1}")
            lines.append(f"| {labels.output_words(output)} | {param} | " + " | ".join(cells)
                         + " |")
    return lines


def target_outcome(attrs: dict) -> str:
    """Whether a `--target-ci` run met its target, from the convergence group's attrs."""
    target, widest, N = attrs["target_ci"], attrs["widest_half_width"], attrs["N_reached"]
    if attrs["target_met"]:
        return (f"target ST half-width {target:g} met at N = {N} (widest half-width "
                f"{widest:.3g})")
    return (f"target ST half-width {target:g} NOT met: the widest half-width is {widest:.3g} "
            f"at N = {N}, the largest N allowed (--max-n); resume with a larger --max-n")


def _driver_sentences(case: xr.Dataset, outputs=None) -> list[str]:
    """'<output> is driven by p (ST 0.41 ± 0.01), ...' for each output (of `outputs`)."""
    sentences = []
    for output, one, reason in _outputs(case):
        if outputs is not None and output not in outputs and not reason:
            continue
        whole = labels.is_aggregate(str(one["output_long_name"].values))
        what = ("the indicator " if "==" in output else "") + labels.output_words(output) + (
            " (all its codes at once)" if whole else "")
        if reason:
            if outputs is None or output.split("==")[0] in {o.split("==")[0] for o in outputs}:
                sentences.append(f"{what}: no indices ({reason}).")
            continue
        st, conf = one["sobol_ST"].values, one["sobol_ST_conf"].values
        order = [j for j in np.argsort(-np.nan_to_num(st, nan=-1.0), kind="stable")
                 if st[j] - conf[j] > 0.01][:3]
        if not order:
            sentences.append(f"{what}: no parameter's ST is clearly above 0.01.")
            continue
        s1, s1_conf = one["sobol_S1"].values, one["sobol_S1_conf"].values
        top = ", ".join(f"{one['param'].values[j]} (ST {tables.ci(st[j], conf[j])}, "
                        f"S1 {tables.ci(s1[j], s1_conf[j])})" for j in order)
        sentences.append(f"{what} is driven most by {top}.")
    return sentences


def _invalid_sentences(summary: xr.Dataset, codes, rows: int) -> list[str]:
    lines = []
    for variable in codes:
        if -1 in summary[f"{variable}_code"]:
            invalid = summary[f"summary_{variable}_frequency"].sel({f"{variable}_code": -1})
            n = int(round(float(invalid.max()) * rows))
            lines.append(f"- {variable}: {labels.share(n, rows, 'rows')} of the rows are "
                         f"invalid (code -1){' in the worst case' if invalid.size > 1 else ''}.")
    nan = summary["summary_nan_count"]
    worst = nan.max([d for d in nan.dims if d != "output"]) if nan.ndim > 1 else nan
    with_nan = [f"{o} ({int(n):,} rows, {labels.share(int(n), rows, 'rows')})"
                for o, n in zip(worst["output"].values.tolist(), worst.values) if n]
    lines.append("- NaN rows: " + (", ".join(with_nan) if with_nan else "none") + ".")
    return lines


def _audit_sentences(summary: xr.Dataset, sobol_ds: xr.Dataset, audit) -> list[str]:
    """The model's audit in words (kernels.registry.Audit): how often and where its two
    classifications differ."""
    rows = int(summary.attrs["rows"])
    differ = float(summary[f"summary_{audit.flag}_frequency"].sel({f"{audit.flag}_code": 1}))
    region = summary[f"summary_{audit.region}_frequency"]
    where = summary[f"summary_{audit.where}_frequency"]
    codes = summary[f"{audit.region}_code"]
    meanings = dict(zip(codes.values.tolist(), codes.attrs["flag_meanings"].split()))
    lines = [f"- {audit.compared} differ on {labels.share(round(differ * rows), rows, 'rows')}"
             " of the sampled rows."]
    shares = {}
    for code in codes.values.tolist():
        size = float(region.sel({f"{audit.region}_code": code}))
        if code < 0 or size == 0:
            continue
        words = labels.code_words(meanings[code])
        shares[words] = float(where.sel({f"{audit.where}_code": code})) / size
        lines.append(f"- In region {words} ({labels.share(round(size * rows), rows, 'rows')} "
                     f"of the rows) they differ on {shares[words]:.1%} of it.")
    lines += tables.always_never(shares, audit.misstates)
    flag = summary[f"{audit.flag}_code"]
    label = f"{audit.flag}==" + dict(zip(flag.values.tolist(),
                                         flag.attrs["flag_meanings"].split()))[1]
    if label in sobol_ds["output"].values.tolist():
        case = tables.cases(sobol_ds)[0][1]
        lines += [f"- Disagreement indicator: {_driver_sentences(case.sel(output=[label]))[0]}"]
    return lines


def stated_values(summary, where: dict | None = None) -> list[str]:
    """The model's rates and means (registry.Words.rates, .means) in words, from the
    summary group (a case `where` of it): "words: 0.09% of the rows (95% interval 0.02% to
    0.16%)", "words: 0.298 (95% interval 0.296 to 0.300)"."""
    if summary is None:
        return []
    words_ = labels.words_of(summary.attrs.get("model", ""))
    level = f"{float(summary.attrs.get('conf_level', 0.95)):.0%}"
    lines = []
    for output, words, rate in [(o, w, True) for o, w in words_.rates.items()] + \
            [(o, w, False) for o, w in words_.means.items()]:
        if output not in summary["output"].values.tolist():
            continue
        one = summary.sel(where or {}).sel(output=output)
        mean = float(one["summary_mean"])
        conf = float(one["summary_mean_conf"]) if "summary_mean_conf" in one else math.nan
        if rate:
            low, high = max(mean - conf, 0.0), min(mean + conf, 1.0)
            shown = [f"{x:.2%}" for x in (mean, low, high)]
            shown[0] += " of the rows"
        else:  # to the half-width's second significant digit
            places = max(3, 1 - math.floor(math.log10(conf))) if conf > 0 else 3
            shown = [f"{x:.{places}f}" for x in (mean, mean - conf, mean + conf)]
        interval = f" ({level} interval {shown[1]} to {shown[2]})" if math.isfinite(conf) \
            else ""
        lines.append(f"{words}: {shown[0]}{interval}")
    return lines


def _constant_value(summary, where: dict, output: str, reason: str) -> str:
    """" (1 on every row)" for a constant output whose value the summary holds, else ""."""
    if reason != "constant output" or summary is None or \
            output not in summary["output"].values.tolist():
        return ""
    value = float(summary["summary_mean"].sel(where).sel(output=output))
    return f" ({value:.6g} on every row)"


def heading(attrs: dict) -> str:
    """What the indices are and how their intervals were had, in one line: "Sobol' indices
    at N = 4096 (57,344 rows), streaming estimator, 95% intervals: delta method"."""
    kind = attrs.get("intervals")
    R = int(attrs.get("scramblings", 1))
    how = {"salib bootstrap": f"SALib's bootstrap ({attrs.get('resamples')} resamples)",
           "bootstrap": f"Poisson bootstrap ({attrs.get('resamples')} replicates)",
           "replicates": f"Student t over {R} independent scramblings (N split among "
                         "them)",
           "delta": "delta method (asymptotic normal)"}.get(kind, str(kind))
    return (f"Sobol' indices at N = {attrs.get('N')}, {attrs.get('estimator')} estimator, "
            f"{float(attrs.get('conf_level', 0.95)):.0%} intervals: {how}")


def show(groups: dict, options: dict) -> str:
    """The ranking table, the drivers of each code output, with `second_order` the S2
    pairs, and whether a --target-ci run met its target."""
    sobol_ds, summary = groups["sobol"], groups.get("summary")
    parts = [heading(sobol_ds.attrs), table(sobol_ds, summary), drivers(sobol_ds)]
    for title, case in tables.cases(sobol_ds):
        parts += [f"{title + ': ' if title else ''}{line}"
                  for line in stated_values(summary, tables.case_of(case, sobol_ds))]
    if options.get("second_order"):
        parts.append(second_order_table(sobol_ds, summary))
    if "convergence" in groups:
        parts.append(target_outcome(groups["convergence"].attrs))
    return "\n".join(p for p in parts if p)
