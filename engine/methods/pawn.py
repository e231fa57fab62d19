"""PAWN (Pianosi & Wagener 2015, 2018), read from the per-slice counts (methods.counts).

For each output and parameter: the distance between the output's unconditional
distribution and its distribution within each slice of the parameter, summarised over
the slices by median, mean and max (Kolmogorov-Smirnov for a continuous output, total
variation for a code output), with the null level a parameter the output ignores reads.
"""
from __future__ import annotations

from reesens.evaluate import cases as evaluate
from reesens.methods import counts, measures, tables
from reesens.study.registry import Method, register

QUANTITIES = ("median", "mean", "max")


def results(plan, merged, level) -> dict:
    ds = counts.distance_group(
        plan, level.contexts[counts.Counts.name], merged[counts.Counts.name], level.N,
        {f"pawn_{q}": (q, f"PAWN index: {q} over the slices of the distance to the "
                          "unconditional distribution",
                       f"PAWN {q} a parameter the output does not depend on reads "
                       "at most, but for 1 - conf_level of iid designs (null level)")
         for q in QUANTITIES}, "pawn")
    ds.attrs = {**ds.attrs, **counts.common_attrs(plan.study, level.N),
                "method": "PAWN (Pianosi & Wagener)"}
    return {"pawn": evaluate.squeeze_cases(ds, plan.study)}


def show(groups: dict, options: dict) -> str:
    """Per case and output, the parameters ranked by PAWN's median, with its max."""
    ds = groups["pawn"]
    return tables.ranked(ds, "pawn_median", [("PAWN med", "pawn_median", None),
                                             ("PAWN max", "pawn_max", None)],
                         "pawn_skip_reason", measures.heading(ds, "PAWN"))


def report(page) -> list[str]:
    return measures.report_section(page, "pawn", "pawn_median", "PAWN",
                                   "The PAWN median (max over slices: tick)")


PAWN = register(Method(
    name="pawn", order=2, title="PAWN", groups=("pawn",), statistic=counts.Counts.name,
    reads=("null_levels",), export={"pawn": {f"pawn_{q}": f"pawn_{q}" for q in QUANTITIES}},
    check=counts.check, results=results, show=show, report=report,
    result_size=counts.result_size))
