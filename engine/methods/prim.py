"""Where in the box each region lies: PRIM boxes (Friedman & Fisher 1999) with quasi-p
values (Bryant & Lempert 2010), and the rules of a depth-limited classification tree.

Both read a reservoir: the A and B rows of the first `reservoir_points` base points of
the first design (a Sobol' prefix, the same rows whatever the block size or the
workers), with the sampled parameters and the model's derived quantities
(registry.Model.derived, e.g. woods' margin = p - mu_star) as the box's dimensions. The
reservoir is its own result group, checksummed as every group is.

PRIM, per case and region (study.conditions), on the rows where the region is defined:
peeling removes, in the one dimension and direction that raises the share of rows inside
the region most per row removed (the EMA Workbench's "lenient1" objective; ties go to
the box with fewer restricted dimensions, then to the first dimension, upper before
lower), the peel_alpha quantile of the box's rows, while the box keeps at least mass_min
of the rows; pasting then widens the box back by paste_alpha quantiles while that raises
the share inside. The trajectory holds every box: coverage (share of the region's rows in
the box), density (share of the box's rows in the region), mass and restricted dimensions.
The chosen box is the one of largest coverage with density >= prim_threshold (else the
densest). Its quasi-p value per restricted limit is the one-sided binomial test of its
density against the box with that limit dropped. Quantiles are the EMA Workbench's
(sdtoolkit's): the mean of the two order statistics around the quantile, moved off ties.

Rules: per code output, and per study region as inside/outside, a classification tree of
depth tree_depth (scikit-learn, a fixed random_state, leaves of at least LEAF_SHARE of the
rows) on the same rows; each leaf is a rule, the conjunction of its path's limits, with
its class, purity and share of rows.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.methods import tables
from reesens.study import conditions, labels
from reesens.study.registry import Method, register


LEAF_SHARE = 0.005  # rows a rule's leaf holds at least, as a share of the rows: no rule of
#                   a handful of rows


def dimensions(study) -> list[str]:
    """The box's dimensions: the sampled parameters, then the model's derived quantities."""
    return list(study.sampled_names) + [d for d in study.model.derived
                                        if d in study.model.output_names]


def reservoir(study, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(X float64 (cases, rows, dims), inside float64 (cases, regions, rows)): the A and B
    rows of the first points / scramblings base points of each independent design (all
    `points` of the one design without them), design by design; only those rows are
    evaluated."""
    derived = [d for d in dimensions(study) if d not in study.sampled_names]
    wide = replace(study, outputs=tuple(dict.fromkeys(study.outputs + tuple(derived))))
    each = points // study.scramblings
    k = sampling.rows_per_point(len(study.columns), study.second_order)
    params = np.concatenate([sampling.ab_rows(evaluate.parameter_rows(
        replace(study, seed=sampling.scrambling_seed(study.seed, r)), 0, each), k, axis=1)
        for r in range(study.scramblings)], axis=1)  # (scenarios, rows, D)
    out = evaluate.evaluate_rows(wide, params)
    n_cases = int(np.prod(evaluate.case_shape(study)))
    per = n_cases // len(study.scenario_items())
    regions = conditions.study_regions(study)
    D = len(study.sampled_names)
    X = np.empty((n_cases, params.shape[1], D + len(derived)))
    inside = np.empty((n_cases, len(regions), params.shape[1]))
    for c in range(n_cases):
        X[c, :, :D] = params[c // per]
        case = {n: out[n].reshape(n_cases, -1)[c] for n in wide.outputs}
        for j, name in enumerate(derived):
            X[c, :, D + j] = case[name]
        inside[c] = conditions.indicators(regions, case)
    return X, inside


def quantile(data: np.ndarray, q: float) -> float:
    """The EMA Workbench's (sdtoolkit's) quantile: the mean of the order statistics at
    floor and ceil of (n - 1) q, the outer one moved to the next distinct value on a tie
    (down for q > 0.5, up otherwise)."""
    return quantiles(data, (q,))[0]


def quantiles(data: np.ndarray, qs) -> list[float]:
    """quantile() of `data` at each of `qs`, from one partition."""
    n = data.size
    at = [(math.floor((n - 1) * q), math.ceil((n - 1) * q)) for q in qs]
    part = np.partition(data, sorted({i for pair in at for i in pair}))
    out, ordered = [], None
    for q, (lo, hi) in zip(qs, at):
        a, b = part[lo], part[hi]
        if a == b:
            ordered = np.sort(data) if ordered is None else ordered
            if q > 0.5:
                a = ordered[max(int(np.searchsorted(ordered, b, "left")) - 1, 0)]
            else:
                b = ordered[min(int(np.searchsorted(ordered, a, "right")), n - 1)]
        out.append((a + b) / 2)
    return out


def _objective(hits_old: int, n_old: int, hits_new: int, n_new: int) -> float:
    """Lenient1, the gain in the share inside per row removed (or added), from the rows
    inside and in all before and after (a mean of 0/1 values is their count over n, as
    numpy's mean of them is)."""
    mean_old = hits_old / n_old
    mean_new = hits_new / n_new if n_new else 0.0
    if mean_old == mean_new:
        return 0.0
    return (mean_new - mean_old) / abs(n_old - n_new)


class Prim:
    """PRIM on rows X (n, D) and a 0/1 region y (n,); `trajectory` lists every box as
    (lims (2, D), indices of its rows)."""

    def __init__(self, X, y, *, peel_alpha, paste_alpha, mass_min):
        self.X, self.y = X, y
        self.peel_alpha, self.paste_alpha, self.mass_min = peel_alpha, paste_alpha, mass_min
        self.init = np.stack([X.min(0), X.max(0)])
        self.n, self.t_coi = y.size, int(y.sum())
        self.trajectory = [(self.init.copy(), np.arange(y.size))]
        self._peel()
        self._paste()

    def restricted(self, lims) -> np.ndarray:
        return np.flatnonzero((lims != self.init).any(axis=0))

    def _best(self, candidates, idx):
        """The candidate (lims, indices) of highest objective, then fewest restricted
        dimensions, then first; with its objective."""
        best, key = None, None
        hits = int(self.y[idx].sum())
        for lims, new in candidates:
            score = (_objective(hits, idx.size, int(self.y[new].sum()), new.size),
                     self.X.shape[1] - self.restricted(lims).size)
            if key is None or score > key:
                best, key = (lims, new), score
        return best, key[0]

    def _peel(self):
        """Peel while a peel gains: each dimension's upper then lower peel scored from
        counts on the box's own rows (a contiguous copy, shrunk with the box)."""
        lims, idx = self.trajectory[-1]
        rows, inside = np.asfortranarray(self.X[idx]), self.y[idx] == 1
        D = self.X.shape[1]
        while True:
            n_old, hits_old = idx.size, int(np.count_nonzero(inside))
            restricted = (lims != self.init).any(axis=0)
            best, key = None, None
            for j in range(D):
                xj = rows[:, j]
                upper, lower = quantiles(xj, (1 - self.peel_alpha, self.peel_alpha))
                for side, value in ((1, upper), (0, lower)):
                    keep = xj <= value if side else xj >= value
                    n_new = int(np.count_nonzero(keep))
                    hits = int(np.count_nonzero(keep & inside))
                    obj = _objective(hits_old, n_old, hits, n_new)
                    free = D - int(np.count_nonzero(restricted)) - int(
                        not restricted[j] and value != self.init[side, j])
                    if key is None or (obj, free) > key:
                        best, key = (j, side, value), (obj, free)
            j, side, value = best
            keep = rows[:, j] <= value if side else rows[:, j] >= value
            n_new = int(np.count_nonzero(keep))
            if n_new / self.n >= self.mass_min and n_new < n_old and key[0] > 0:
                lims = lims.copy()
                lims[side, j] = value
                idx, rows, inside = idx[keep], rows[keep], inside[keep]
                self.trajectory.append((lims, idx))
            else:
                return

    def _inside(self, lims, dims) -> np.ndarray:
        x = self.X[:, dims]
        return ((lims[0, dims] <= x) & (x <= lims[1, dims])).all(axis=1)

    def _paste(self):
        while True:
            lims, idx = self.trajectory[-1]
            res = self.restricted(lims)
            candidates = []
            for u in res:
                for side in (0, 1):  # lower, then upper
                    strip = lims.copy()
                    strip[:, u] = (self.init[0, u], lims[0, u]) if side == 0 else \
                        (lims[1, u], self.init[1, u])
                    data = self.X[self._inside(strip, res), u]
                    if data.size:
                        value = quantile(data, 1 - self.paste_alpha if side == 0
                                         else self.paste_alpha)
                    else:
                        value = self.init[side, u]
                    box = lims.copy()
                    box[side, u] = value
                    candidates.append((box, np.flatnonzero(self._inside(box, res))))
            if not candidates:
                return
            (box, new), obj = self._best(candidates, idx)
            if new.size / self.n >= self.mass_min and new.size > idx.size and obj > 0 \
                    and self.y[new].mean() > self.y[idx].mean():
                self.trajectory.append((box, new))
            else:
                return

    def stats(self) -> np.ndarray:
        """float64 (steps, 4): coverage, density, mass, restricted dimensions."""
        return np.array([[self.y[i].sum() / self.t_coi, self.y[i].mean(), i.size / self.n,
                          self.restricted(lims).size] for lims, i in self.trajectory])

    def quasi_p(self, step: int) -> np.ndarray:
        """float64 (2, D): each restricted limit's quasi-p value (NaN: not restricted)."""
        from scipy.stats import binomtest
        lims, idx = self.trajectory[step]
        res = self.restricted(lims)
        hits, total = int(self.y[idx].sum()), idx.size
        out = np.full((2, self.X.shape[1]), np.nan)
        for u in res:
            for side in (0, 1):
                if lims[side, u] != self.init[side, u]:
                    box = lims.copy()
                    box[side, u] = self.init[side, u]
                    y = self.y[self._inside(box, res)]
                    out[side, u] = binomtest(hits, total, y.sum() / y.size,
                                             alternative="greater").pvalue
        return out


def chosen_box(X: np.ndarray, y: np.ndarray, settings: dict):
    """(trajectory stats (steps, 4), chosen step, whether it meets the threshold, its
    limits (2, D), their quasi-p values (2, D)) of PRIM on rows X and a 0/1 region y,
    with the study's settings (Study.where)."""
    found = Prim(X, y, peel_alpha=settings["peel_alpha"],
                 paste_alpha=settings["paste_alpha"], mass_min=settings["mass_min"])
    stats = found.stats()
    step, met = choose(stats, settings["prim_threshold"])
    return stats, step, met, found.trajectory[step][0], found.quasi_p(step)


def choose(stats: np.ndarray, threshold: float) -> tuple[int, bool]:
    """(step, met): the box of largest coverage with density >= threshold (the later
    one on a tie), else the densest."""
    met = np.flatnonzero(stats[:, 1] >= threshold)
    if met.size:
        best = met[stats[met, 0] == stats[met, 0].max()]
        return int(best[-1]), True
    return int(np.flatnonzero(stats[:, 1] == stats[:, 1].max())[-1]), False


def tree_rules(X, y, names, depth: int, class_names: dict) -> list[tuple[str, str, float,
                                                                             float]]:
    """[(rule, class, purity, share)] of each leaf of a classification tree of `depth` on
    X (n, D) and labels y (n,), leaves in the tree's order; class_names {label: words}."""
    from sklearn.tree import DecisionTreeClassifier
    tree = DecisionTreeClassifier(max_depth=depth, random_state=0,
                                  min_samples_leaf=max(1, math.ceil(LEAF_SHARE * y.size))
                                  ).fit(X, y).tree_
    classes = np.unique(y)
    out = []

    def walk(node, bounds):
        if tree.children_left[node] < 0:
            counts = tree.value[node][0]
            k = int(np.argmax(counts))
            parts = [f"{low:.4g} < {names[j]} <= {high:.4g}" if None not in (low, high)
                     else f"{names[j]} > {low:.4g}" if low is not None
                     else f"{names[j]} <= {high:.4g}"
                     for j, (low, high) in bounds.items()]  # in the path's order
            out.append((" and ".join(parts) or "every row", class_names[classes[k].item()],
                        float(counts[k] / counts.sum()),
                        float(tree.n_node_samples[node] / tree.n_node_samples[0])))
            return
        j, t = int(tree.feature[node]), float(tree.threshold[node])
        low, high = bounds.get(j, (None, None))
        walk(tree.children_left[node],
             {**bounds, j: (low, t if high is None else min(high, t))})
        walk(tree.children_right[node], {**bounds, j: (t if low is None else max(low, t),
                                                       high)})

    walk(0, {})
    return out


def results(plan, merged, level) -> dict:
    """The reservoir, prim and rules groups."""
    import xarray as xr

    study = plan.study
    where = study.where
    points = min(study.N, where["reservoir_points"])
    X, inside = reservoir(study, points)
    regions = conditions.study_regions(study)
    dims_, coords = evaluate.case_coords(study)
    shape = evaluate.case_shape(study)
    names = dimensions(study)
    keep = [r.label in study.regions or (inside[:, i] == 1).any()
            for i, r in enumerate(regions)]
    regions = [r for r, k in zip(regions, keep) if k]
    inside = inside[:, keep]
    C, R, D = X.shape[0], len(regions), len(names)
    trajectories, chosen, met, qp, lims = [], np.zeros((C, R), np.int64), \
        np.zeros((C, R), bool), np.full((C, R, 2, D), np.nan), np.full((C, R, 2, D), np.nan)
    reasons = np.full((C, R), "", dtype=object)
    for c in range(C):
        for r in range(R):
            defined = np.isfinite(inside[c, r])
            y = inside[c, r][defined]
            if y.sum() == 0 or y.sum() == y.size:
                reasons[c, r] = "no row inside the region" if y.sum() == 0 else \
                    "every row inside the region"
                trajectories.append(np.full((1, 4), np.nan))
                continue
            stats, chosen[c, r], met[c, r], lims[c, r], qp[c, r] = chosen_box(
                X[c][defined], y, where)
            trajectories.append(stats)
    steps = max(t.shape[0] for t in trajectories)
    traj = np.full((C * R, steps, 4), np.nan)
    for i, t in enumerate(trajectories):
        traj[i, :t.shape[0]] = t
    traj = traj.reshape(C, R, steps, 4)
    pick = np.take_along_axis(traj, chosen[:, :, None, None], axis=2)[:, :, 0]

    def var(a, extra, long_name, units="1"):
        return (dims_ + ["output"] + extra, a.reshape(*shape, R, *a.shape[2:]),
                {"long_name": long_name, "units": units})

    region_coords = {
        "output": np.array([r.label for r in regions], dtype=object),
        "condition": ("output", np.array([r.condition for r in regions], dtype=object),
                      {"long_name": "the region's condition", "units": "1"}),
        "param": np.array(names, dtype=object)}
    prim = xr.Dataset({
        "prim_step_coverage": var(traj[..., 0], ["step"], "coverage of each box on the "
                                  "trajectory: share of the region's rows in it"),
        "prim_step_density": var(traj[..., 1], ["step"], "density of each box: share of "
                                 "its rows in the region"),
        "prim_step_mass": var(traj[..., 2], ["step"], "share of the rows in each box"),
        "prim_step_restricted": var(traj[..., 3], ["step"], "restricted dimensions of "
                                    "each box"),
        "prim_chosen": var(chosen, [], "step of the chosen box"),
        "prim_threshold_met": var(met, [], "whether the chosen box's density reaches "
                                  "prim_threshold"),
        "prim_coverage": var(pick[..., 0], [], "coverage of the chosen box"),
        "prim_density": var(pick[..., 1], [], "density of the chosen box"),
        "prim_mass": var(pick[..., 2], [], "share of the rows in the chosen box"),
        "prim_lower": var(lims[:, :, 0], ["param"], "the chosen box's lower limit",
                          "parameter units"),
        "prim_upper": var(lims[:, :, 1], ["param"], "the chosen box's upper limit",
                          "parameter units"),
        "prim_qp_lower": var(qp[:, :, 0], ["param"], "quasi-p value of the lower limit "
                             "(NaN: not restricted)"),
        "prim_qp_upper": var(qp[:, :, 1], ["param"], "quasi-p value of the upper limit "
                             "(NaN: not restricted)"),
        "prim_restricted": var(np.isfinite(qp).any(2), ["param"],
                               "whether the chosen box restricts the dimension"),
        "prim_skip_reason": var(reasons, [], "why the region has no box (empty: it has "
                                "one)"),
    }, coords={**coords, **region_coords}, attrs={
        "rows": X.shape[1], "reservoir_points": points, **where,
        "method": "PRIM (Friedman & Fisher 1999), the EMA Workbench's objective lenient1"})
    rules = _rules(study, X, inside, regions, names, dims_, coords, shape)
    res = xr.Dataset({"reservoir_x": (dims_ + ["row", "param"],
                                      X.reshape(*shape, *X.shape[1:]),
                                      {"long_name": "the reservoir's parameters and "
                                       "derived quantities", "units": "parameter units"}),
                      "reservoir_inside": (dims_ + ["output", "row"],
                                           inside.reshape(*shape, *inside.shape[1:]),
                                           {"long_name": "1 inside the region, 0 outside, "
                                            "NaN undefined", "units": "1"})},
                     coords={**coords, **{k: region_coords[k] for k in ("output", "param")}},
                     attrs={"reservoir_points": points,
                            "rows": "the A and B rows of the first reservoir_points / "
                                    "scramblings base points of each design"})
    return {name: evaluate.squeeze_cases(ds, study)
            for name, ds in (("prim", prim), ("rules", rules), ("reservoir", res))}


def _rules(study, X, inside, regions, names, dims_, coords, shape):
    """The rules group: per case and tree (each code output, each study region), each
    leaf's rule, class, purity and share of rows."""
    import xarray as xr

    variables = {v.name: v for v in study.model.outputs}
    trees = [o for o in study.outputs if variables[o].flag_values] + list(study.regions)
    depth = study.where["tree_depth"]
    leaves = 2 ** depth
    C = X.shape[0]
    text = np.full((C, len(trees), leaves), "", dtype=object)
    label = np.full((C, len(trees), leaves), "", dtype=object)
    purity = np.full((C, len(trees), leaves), np.nan)
    share = np.full((C, len(trees), leaves), np.nan)
    by_label = {r.label: i for i, r in enumerate(regions)}
    for c in range(C):
        for t, tree in enumerate(trees):
            if tree in study.regions:  # the study's own regions are always kept
                y = inside[c, by_label[tree]]
                defined = np.isfinite(y)
                rows, y = X[c][defined], y[defined].astype(np.int64)
                words = {0: f"outside {tree}", 1: tree}
            else:
                codes = [(i, r) for i, r in enumerate(regions)
                         if r.label not in study.regions and r.tree.output == tree]
                y = np.full(X.shape[1], -1, dtype=np.int64)
                words = {}
                for i, r in codes:
                    y[inside[c, i] == 1] = int(r.tree.value)
                    words[int(r.tree.value)] = r.label.split("==", 1)[1]
                rows = X[c]
                if not codes:
                    continue
            if np.unique(y).size < 2:
                continue
            for leaf, (rule, cls, pure, part) in enumerate(tree_rules(rows, y, names, depth,
                                                                      words)):
                text[c, t, leaf], label[c, t, leaf] = rule, cls
                purity[c, t, leaf], share[c, t, leaf] = pure, part

    def var(a, long_name):
        return (dims_ + ["tree", "leaf"], a.reshape(*shape, *a.shape[1:]),
                {"long_name": long_name, "units": "1"})

    return xr.Dataset({
        "rules_rule": var(text, "the leaf's rule: its path's limits ('' : no leaf)"),
        "rules_class": var(label, "the leaf's class (its most frequent code or side)"),
        "rules_purity": var(purity, "share of the leaf's rows in its class"),
        "rules_share": var(share, "share of the rows in the leaf")},
        coords={**coords, "tree": np.array(trees, dtype=object),
                "leaf": np.arange(leaves)},
        attrs={"tree_depth": depth, "method": "classification tree (scikit-learn, gini)"})


def box_words(one) -> str:
    """The chosen box of one region (of the prim group) in words: "margin >= -0.0012 and
    kappa <= 0.41"."""
    return limits_words(one["param"].values.tolist(), one["prim_lower"].values,
                        one["prim_upper"].values, np.stack([one["prim_qp_lower"].values,
                                                            one["prim_qp_upper"].values]))


def limits_words(names, lower, upper, qp) -> str:
    """A box's restricted limits in words, from its limits (D,) each and their quasi-p
    values (2, D) (NaN where a limit is not restricted)."""
    parts = []
    for j, p in enumerate(names):
        low, high = np.isfinite(qp[:, j])
        if low and high:
            parts.append(f"{lower[j]:.4g} <= {p} <= {upper[j]:.4g}")
        elif low:
            parts.append(f"{p} >= {lower[j]:.4g}")
        elif high:
            parts.append(f"{p} <= {upper[j]:.4g}")
    return " and ".join(parts) or "the whole box"


def describe_cells(X: np.ndarray, names: list[str], codes: dict[str, np.ndarray],
                   meanings: dict[str, dict], settings: dict) -> list[str]:
    """Boxes and rules of a grid's cells: X (cells, D) the swept parameters' values,
    codes {output: (cells,) int codes}, meanings {output: {code: words}}; one sentence
    per code that some cell holds and not every cell, then each output's rules."""
    lines = []
    for output, y_codes in codes.items():
        for code, words in meanings[output].items():
            y = (y_codes == code).astype(np.float64)
            if not 0 < y.sum() < y.size:
                continue
            stats, step, met, lims, qp = chosen_box(X, y, settings)
            box = limits_words(names, lims[0], lims[1], qp)
            lines.append(f"{output}=={words}: {box} "
                         f"(coverage {stats[step, 0]:.0%}, density {stats[step, 1]:.0%}"
                         + ("" if met else f"; no box reaches density "
                                           f"{settings['prim_threshold']:.0%}") + ")")
        if np.unique(y_codes).size > 1:
            lines += [f"{output}: {rule} -> {cls} (purity {pure:.1%}, {part:.1%} of cells)"
                      for rule, cls, pure, part in tree_rules(
                          X, y_codes, names, settings["tree_depth"],
                          {int(c): w for c, w in meanings[output].items()})]
    return lines


def quasi_p_words(one) -> str:
    """Each restricted limit's quasi-p value: "margin lower 1e-300, p upper 0.38"."""
    parts = []
    for p in one["param"].values.tolist():
        for side in ("lower", "upper"):
            qp = float(one[f"prim_qp_{side}"].sel(param=p))
            if np.isfinite(qp):
                parts.append(f"{p} {side} {qp:.2g}")
    return ", ".join(parts)


def sentences(prim, quasi_p: bool = False) -> list[str]:
    """One sentence per case and region: "eq==pool_nd_hedge: margin >= -0.0004 (coverage
    99%, density 99%)", with each restricted limit's quasi-p value where `quasi_p`."""
    out = []
    for title, case in tables.cases(prim, "prim_coverage"):
        for region in case["output"].values.tolist():
            one = case.sel(output=region)
            head = f"{region}{' (' + title + ')' if title else ''}"
            reason = str(one["prim_skip_reason"].values)
            if reason:
                out.append(f"{head}: no box ({reason})")
                continue
            threshold, mass_min = prim.attrs["prim_threshold"], prim.attrs["mass_min"]
            share = float(one["prim_step_density"].isel(step=0))  # the whole reservoir
            if not bool(one["prim_threshold_met"]) and share / mass_min < threshold:
                out.append(f"{head}: no box (the region holds {share:.2%} of the rows, so "
                           f"no box of mass_min {mass_min:g} or more is denser than "
                           f"{share / mass_min:.1%}; a mass_min below {share:.1g} lets "
                           "PRIM look for one)")
                continue
            below = "" if bool(one["prim_threshold_met"]) else \
                f"; no box reaches density {threshold:.0%}"
            out.append(f"{head}: {box_words(one)} (coverage "
                       f"{float(one['prim_coverage']):.0%}, density "
                       f"{float(one['prim_density']):.0%}{below})"
                       + (f"; quasi-p: {quasi_p_words(one)}" if quasi_p else ""))
    return out


def rule_lines(prim, rules) -> list[str]:
    """Each case's trees' leaves: "eq: margin > 0.0003 -> pool_nd_hedge (purity 100%, 52%
    of rows)"."""
    out = []
    for title, one_case in tables.cases(prim, "prim_coverage"):
        case = rules.sel(tables.case_of(one_case, prim, "prim_coverage"))
        for tree in case["tree"].values.tolist():
            one = case.sel(tree=tree)
            for leaf in one["leaf"].values.tolist():
                rule = str(one["rules_rule"].sel(leaf=leaf).values)
                if not rule:
                    continue
                out.append(f"{tree}{' (' + title + ')' if title else ''}: {rule} -> "
                           f"{one['rules_class'].sel(leaf=leaf).values} (purity "
                           f"{float(one['rules_purity'].sel(leaf=leaf)):.1%}, "
                           f"{float(one['rules_share'].sel(leaf=leaf)):.1%} of rows)")
    return out


def show(groups: dict, options: dict) -> str:
    prim = groups["prim"]
    lines = [f"PRIM boxes from {int(prim.attrs['rows']):,} reservoir rows (threshold "
             f"{prim.attrs['prim_threshold']:.0%}, peel {prim.attrs['peel_alpha']:g}, "
             f"paste {prim.attrs['paste_alpha']:g}, mass_min {prim.attrs['mass_min']:g}):"]
    lines += [f"  {s}" for s in sentences(prim, quasi_p=True)]
    if "rules" in groups:
        lines += [f"Rules (classification trees of depth {groups['rules'].attrs['tree_depth']}"
                  "):"] + [f"  {s}" for s in rule_lines(prim, groups["rules"])]
    return "\n".join(lines)


def report(page) -> list[str]:
    prim = page.open("prim")
    rules = page.open("rules")
    res = page.open("reservoir")
    for title, case in tables.cases(prim, "prim_coverage"):
        words = labels.case_words(tables.case_of(case, prim, "prim_coverage")) or "all rows"
        where = tables.case_of(case, prim, "prim_coverage")
        page.figure(page.where.prim_tradeoff(case, f"PRIM trade-off: {words}"),
                    f"prim_{tables.slug(title)}",
                    f"Each region's PRIM trajectory ({words}): coverage against density, "
                    "coloured by the number of restricted dimensions; the chosen box "
                    "circled.")
        page.figure(page.where.region_boxes(case, res.sel(where) if where else res,
                                              f"Where each region lies: {words}"),
                    f"where_{tables.slug(title)}",
                    f"Each region over the two dimensions its box restricts first "
                    f"({words}): hexagons coloured by the share of reservoir rows inside "
                    "the region; the chosen box drawn.")
    return (["## Where in the box", ""]
            + [f"- {s}." for s in sentences(prim)]
            + ["", "Rules of a classification tree per code output and region:", ""]
            + [f"- {s}" for s in rule_lines(prim, rules)] + [""])


def result_size(plan, target: bool) -> tuple[int, int]:
    """(groups, bytes) of the reservoir, prim and rules groups, at most: the reservoir's
    rows (dimensions and region flags), each box's trajectory and limits, each leaf."""
    study = plan.study
    cases = int(np.prod(evaluate.case_shape(study)))
    rows = 2 * min(study.N, study.where["reservoir_points"])
    D = len(dimensions(study))
    R = len(conditions.study_regions(study))
    steps = math.ceil(math.log(study.where["mass_min"]) / math.log(1 - study.where[
        "peel_alpha"])) * 2 + 2  # peeling to mass_min, and as many pastes
    leaves = 2 ** study.where["tree_depth"] * (R + len(study.outputs))
    return 3, 8 * cases * (rows * (D + R) + R * (4 * steps + 6 * D) + 4 * leaves) \
        + 256 * cases * leaves


PRIM = register(Method(
    name="prim", order=5, title="PRIM boxes and rules", groups=("prim", "rules", "reservoir"),
    export={"prim": {"prim_lower": "lower", "prim_upper": "upper",
                     "prim_qp_lower": "qp_lower", "prim_qp_upper": "qp_upper",
                     "prim_coverage": "coverage", "prim_density": "density"}},
    results=results, show=show, report=report, result_size=result_size))
