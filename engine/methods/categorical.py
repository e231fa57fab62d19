"""The categorical aggregate: one set of Sobol' indices per code output, for "which
parameters drive the choice among the codes" as one number per parameter."""
from __future__ import annotations

import numpy as np

from reesens.core import intervals
from reesens.evaluate.series import Series
from reesens.study import labels
from reesens.study.schema import Study


def categorical(study: Study, spec: list[Series], arrays: dict, reasons: np.ndarray):
    """The aggregated indices of each code output, one more series per code output
    (labelled with the output's name, before its indicators), for "which parameters
    drive the choice among the codes" as one number per parameter.

    For a code output Y with indicators I_k = 1{Y = k} (Gamboa, Janon, Klein & Lagnoux
    2013, indices of a multivariate output): S1 = sum_k V_k S1_k / sum_k V_k, likewise ST,
    V_k the variance of I_k over the A and B rows: the share of the one-hot vector's total
    variance that each parameter explains. Intervals: with bootstrap replicates or
    independent scramblings, the same ratio in each replicate or design (exact); with the
    delta method or SALib's bootstrap, whose indicators' errors are known only one by one,
    the bound sum_k w_k (h_k + |S_k - S| h_Vk / V_k) (w_k = V_k / sum V; h the indicators'
    and their variances' half-widths), which holds whatever their correlation: those
    intervals are conservative. No S2 (NaN).

    spec, arrays ({quantity: (*cases, series, D[, D])}, with "V" (*cases, series) and one
    of "boot", "designs", "V_conf"), reasons (*cases, series) of the kept series; returns
    the three extended.
    """
    z = intervals.normal_quantile(study.conf_level)
    groups = {}
    for i, series in enumerate(spec):
        if series.code is not None:
            groups.setdefault(series.output, []).append(i)
    plan = []  # ("aggregate", output) before each code output's first indicator, ("series", i)
    for i, series in enumerate(spec):
        if series.code is not None and groups[series.output][0] == i:
            plan.append(("aggregate", series.output))
        plan.append(("series", i))
    aggregated = {o: _aggregate(arrays, reasons[..., members], members, z, study)
                  for o, members in groups.items()}
    order = [Series(x, x, None, {"long_name": labels.AGGREGATE.format(x), "units": "1"})
             if kind == "aggregate" else spec[x] for kind, x in plan]
    out = {}
    for q in (q for q in arrays if q in ("S1", "ST", "S1_conf", "ST_conf", "S2", "S2_conf")):
        axis = -3 if q.startswith("S2") else -2
        parts = []
        for kind, x in plan:
            if kind == "series":
                parts.append(np.take(arrays[q], [x], axis=axis))
            elif q.startswith("S2"):
                parts.append(np.full_like(np.take(arrays[q], [0], axis=axis), np.nan))
            else:
                parts.append(aggregated[x][0][q][..., None, :])
        out[q] = np.concatenate(parts, axis=axis)
    merged = np.stack([aggregated[x][1] if kind == "aggregate" else reasons[..., x]
                       for kind, x in plan], axis=-1)
    return order, out, merged


def _aggregate(arrays: dict, member_reasons: np.ndarray, members: list[int], z: float,
               study: Study):
    """({S1, ST, S1_conf, ST_conf}: (*cases, D), reasons (*cases)) of the aggregate of
    the indicators `members`, whose own reasons are member_reasons (*cases, members). A
    code that never occurs in a case (its indicator constant there) adds nothing."""
    absent = member_reasons == "constant output"

    def drop(a, trailing: int = 0):  # a (..., members[, D]): 0 where the code is absent
        return np.where(absent[(...,) + (None,) * trailing], 0.0, a)

    def ratio(V, S):  # V (..., members), S (..., members, D)
        with np.errstate(invalid="ignore", divide="ignore"):
            V, S = drop(V), drop(S, 1)
            return (V[..., None] * S).sum(axis=-2) / V.sum(axis=-1)[..., None]

    out = {}
    if "designs" in arrays:  # independent scramblings: the ratio in each design
        d = arrays["designs"]
        for q in ("S1", "ST"):
            out[q], out[f"{q}_conf"] = intervals.student(
                ratio(d["V"][:, ..., members], d[q][:, ..., members, :]), study.conf_level)
    else:
        V = arrays["V"][..., members]
        out = {q: ratio(V, arrays[q][..., members, :]) for q in ("S1", "ST")}
        for q in ("S1", "ST"):
            if "boot" in arrays:  # every replicate weights all series' rows alike
                b = arrays["boot"]
                with np.errstate(invalid="ignore"):
                    out[f"{q}_conf"] = z * np.std(
                        ratio(b["V"][:, ..., members], b[q][:, ..., members, :]), axis=0,
                        ddof=1)
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    w = drop(V) / drop(V).sum(axis=-1, keepdims=True)
                    bound = arrays[f"{q}_conf"][..., members, :] + np.abs(
                        arrays[q][..., members, :] - out[q][..., None, :]) * (
                        arrays["V_conf"][..., members] / V)[..., None]
                    out[f"{q}_conf"] = (w[..., None] * drop(bound, 1)).sum(axis=-2)
    bad = ~np.isfinite(out["S1"]).all(axis=-1)
    reasons = np.full(member_reasons.shape[:-1], "", dtype=object)
    for index in np.ndindex(*reasons.shape):
        given = [r for r in member_reasons[index] if r and r != "constant output"]
        if len(members) - int(absent[index].sum()) < 2:  # one code at most occurs here
            reasons[index] = "constant output"
        elif given:
            reasons[index] = f"an indicator has no indices ({given[0]})"
        elif bad[index]:
            reasons[index] = "estimates not finite"
    return out, reasons
