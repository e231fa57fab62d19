"""Borgonovo's moment-independent delta (2007), read from the per-slice counts
(methods.counts): half the expected L1 distance between the output's unconditional and
conditional distributions, sum_m (n_m / n) TV_m, with histogram (continuous) or exact
(code) distributions (the given-data estimator of Plischke, Borgonovo & Smith 2013), and
the null level a parameter the output ignores reads.
"""
from __future__ import annotations

from reesens.evaluate import cases as evaluate
from reesens.methods import counts, measures, tables
from reesens.study.registry import Method, register


def results(plan, merged, level) -> dict:
    ds = counts.distance_group(
        plan, level.contexts[counts.Counts.name], merged[counts.Counts.name], level.N,
        {"delta": ("delta", "Borgonovo's moment-independent delta",
                   "delta a parameter the output does not depend on reads at most, "
                   "but for 1 - conf_level of iid designs (null level)")}, "delta",
        ks=False)
    ds.attrs = {**ds.attrs, **counts.common_attrs(plan.study, level.N),
                "method": "Borgonovo's delta (histogram given-data estimator)"}
    return {"delta": evaluate.squeeze_cases(ds, plan.study)}


def show(groups: dict, options: dict) -> str:
    """Per case and output, the parameters ranked by delta."""
    ds = groups["delta"]
    return tables.ranked(ds, "delta", [("delta", "delta", None)], "delta_skip_reason",
                         measures.heading(ds, "Borgonovo's delta"))


def report(page) -> list[str]:
    return measures.report_section(page, "delta", "delta", "Borgonovo's delta",
                                   "Borgonovo's delta")


DELTA = register(Method(
    name="delta", order=3, title="Borgonovo's delta", groups=("delta",),
    statistic=counts.Counts.name,
    reads=("null_levels",), export={"delta": {"delta": "delta"}}, check=counts.check,
    results=results, show=show, report=report,
    result_size=counts.result_size))
