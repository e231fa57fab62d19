"""What the Sobol' indices read of each block: streaming statistics of its rows.

`Moments`: each series' Saltelli feature means and co-moments and its row statistics
(kernels.saltelli), and with bootstrap intervals the Poisson-weighted replicates'
(kernels.bootstrap). `SeriesValues`: every row's series values, which SALib's estimator
reads. Both are per-block accumulators (study.registry.Statistic): evaluated
EVAL_POINTS base points at a time and merged in order, so the bytes depend on the block
size only.
"""
from __future__ import annotations

import math
from functools import cache

import numpy as np

from reesens.core.needs import BYTE_S, READ_S, Need
from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.kernels.bootstrap import replicate_moments
from reesens.evaluate import fused
from reesens.kernels.saltelli import (STATISTICS_VERSION, SUBSAMPLE_EVERY, SUBSAMPLE_RUN,
                                      Accumulator, Features)
from reesens.methods.sobol.streaming import Moments as MomentSums
from reesens.methods.sobol.streaming import Replicates, Subsample, merge_all
from reesens.study.registry import BlockArray, Plan, Statistic

STATISTICS = ("block_base_mean", "block_base_comoment", "block_row_stats")
DELTA = ("block_delta_points", "block_delta_mean", "block_delta_comoment")
BOOTSTRAP = ("block_bootstrap_weight", "block_bootstrap_mean", "block_bootstrap_comoment")
VALUES = "block_series_values"
ROW_STATS = ("count", "mean", "m2")
# seconds per unit of work (2-core AMD EPYC VM, 2026-12-03, rounded up; measured in brackets)
SERIES_S = 1e-9  # a row's series: its value and Saltelli sums (0.7 ns, fused, 22 series)
COMOMENT_S = 20e-9  # a subsample row's series: its feature co-moments (20-22 ns)
BOOT_S = 0.03e-9  # a row, series, bootstrap replicate and base feature or pair (0.02 ns)
SALIB_S = 40e-9  # SALib's analyze: a resample of a base point, parameter (second order:
#                  and pair) and series, on one worker (docs/performance.md: 42 ns)


def replicates(plan: Plan) -> int:
    """Bootstrap replicates per block: the study's resamples with bootstrap intervals of
    the streaming estimator, else 0."""
    streaming = plan.estimator == "streaming" and plan.study.intervals == "bootstrap"
    return plan.study.resamples if streaming else 0


def delta(plan: Plan) -> bool:
    """Whether the run takes the delta method's subsample co-moments: the streaming
    estimator's delta-method intervals."""
    return plan.estimator == "streaming" and plan.study.intervals == "delta"


def features(plan: Plan) -> Features:
    """The Saltelli features of the plan's design (built once per layout: every chunk of
    every block asks)."""
    return _features(len(plan.study.columns), plan.study.second_order)


@cache
def _features(D: int, second_order: bool) -> Features:
    return Features(D, second_order)


class Moments(Statistic):
    """Per block: each case's series' base feature means and co-moments and row
    statistics (kernels.saltelli), with delta intervals the subsample's co-moments, and
    with bootstrap intervals the replicates' (weight, mean, comoment). Merged:
    (MomentSums, Replicates or None).

    A study whose model has a scalar row function and uniform parameters adds whole
    blocks in one fused call (evaluate.fused); any other adds evaluated chunks."""

    name, what, order = "moments", "statistics", 1

    def identity(self, plan: Plan) -> dict:
        R = replicates(plan)
        return {"statistics_version": STATISTICS_VERSION, "bootstrap_replicates": R,
                "bootstrap_seed": plan.study.analysis_seed if R else None,
                "delta_subsample": delta(plan)}

    def names(self, plan: Plan) -> tuple[str, ...]:
        return STATISTICS + (DELTA if delta(plan) else ()) + \
            (BOOTSTRAP if replicates(plan) else ())

    def prepare(self, plan: Plan):
        """The fused path's arrays (evaluate.fused.Design), or None."""
        return None if replicates(plan) else fused.design(plan.study, plan.spec)

    def template(self, plan: Plan, context):
        ft, n = features(plan), len(plan.labels)
        B, P = ft.base.size, ft.base_pairs.shape[1]
        arrays = {
            "block_base_mean": BlockArray(("series", "base_feature"), (n, B), np.float64,
                                          np.nan, {
                "long_name": "mean of each base Saltelli feature over the block's base "
                             "points (kernels.saltelli)", "units": "output units"}),
            "block_base_comoment": BlockArray(("series", "base_pair"), (n, P), np.float64,
                                              np.nan, {
                "long_name": "centred co-moment sums of the base feature pairs",
                "units": "output units squared"}),
            "block_row_stats": BlockArray(("series", "row_stat"), (n, 3), np.float64, np.nan, {
                "long_name": "over all rows: non-NaN count, mean, M2 (sum of squared "
                             "deviations from the mean)",
                "units": "output units (count: 1)"}),
        }
        pairs = ft.base[ft.base_pairs]
        coords = {"series": ("series", np.array(plan.labels, dtype=object),
                             {"long_name": "case and analysed output", "units": "1"}),
                  "base_feature": ("base_feature", ft.base, {
                      "long_name": "index on feature of the base feature", "units": "1"}),
                  **{f"base_pair_{end}": ("base_pair", pairs[i], {
                      "long_name": f"{end} feature of the pair (index on feature)",
                      "units": "1"}) for i, end in enumerate(("first", "second"))},
                  "row_stat": ("row_stat", np.array(ROW_STATS, dtype=object),
                               {"long_name": "row statistic", "units": "1"})}
        if delta(plan):
            arrays.update({
                "block_delta_points": BlockArray(("series",), (n,), np.float64, np.nan, {
                    "long_name": "base points of the block in the delta method's subsample",
                    "units": "1"}),
                "block_delta_mean": BlockArray(("series", "feature"), (n, ft.size),
                                               np.float64, np.nan, {
                    "long_name": "mean of each Saltelli feature over the subsample",
                    "units": "output units to the feature's power"}),
                "block_delta_comoment": BlockArray(("series", "feature_pair"),
                                                   (n, ft.n_pairs), np.float64, np.nan, {
                    "long_name": "centred co-moment sums over the subsample of the feature "
                                 "pairs the delta method uses",
                    "units": "output units to the pair's power"}),
            })
            coords.update({f"feature_pair_{end}": ("feature_pair", ft.pairs[i], {
                "long_name": f"{end} feature of the pair (index on feature)", "units": "1"})
                for i, end in enumerate(("first", "second"))})
        R = replicates(plan)
        if R:
            arrays.update({
                "block_bootstrap_weight": BlockArray(("replicate",), (R,), np.float64, np.nan,
                                                     {"long_name": "total Poisson(1) weight "
                                                      "of the block's base points", "units": "1"}),
                "block_bootstrap_mean": BlockArray(
                    ("replicate", "series", "base_feature"), (R, n, B), np.float64, np.nan, {
                        "long_name": "weighted mean of each base feature over the block",
                        "units": "output units"}),
                "block_bootstrap_comoment": BlockArray(
                    ("replicate", "series", "base_pair"), (R, n, P), np.float64, np.nan, {
                        "long_name": "weighted centred co-moment sums of the base feature "
                                     "pairs", "units": "output units squared"}),
            })
        return arrays, coords

    def start(self, plan: Plan, context):
        """The block's sums (kernels.saltelli.Accumulator, opened at its first chunk) and
        bootstrap replicates."""
        return [None, []]

    def _opened(self, state, plan: Plan, start: int):
        if state[0] is None:
            study = plan.study
            state[0] = Accumulator(len(plan.labels), len(study.columns), study.second_order,
                                   start, study.block_points, delta(plan))
        return state[0]

    def fused(self, plan: Plan, context) -> bool:
        return context is not None

    def add_block(self, state, plan: Plan, context, start: int, points: int) -> None:
        """Add base points [start, start + points) in one fused call."""
        fused.add_block(context, plan.study, self._opened(state, plan, start), start, points)

    def add(self, state, plan: Plan, context, chunk) -> None:
        study = plan.study
        series = chunk.series.reshape(-1, chunk.series.shape[-1])
        self._opened(state, plan, chunk.start).add_series(series, chunk.start)
        R = replicates(plan)
        if R:
            state[1].append(Replicates(features(plan), *replicate_moments(
                series, len(study.columns), study.second_order, first_point=chunk.start,
                seed=study.analysis_seed, replicates=R)))

    def stored(self, state, plan: Plan, context) -> dict:
        mean, comoment, rows, sub = state[0].finish()
        out = dict(zip(STATISTICS, (mean, comoment, rows)))
        if sub is not None:
            out.update(zip(DELTA, (np.full(len(plan.labels), float(state[0].subsampled)),
                                   *sub)))
        if state[1]:
            boot = merge_all(state[1])
            out.update(zip(BOOTSTRAP, (boot.weight, boot.mean, boot.comoment)))
        return out

    def merge(self, plan: Plan, context, blocks: dict, merged=None):
        total, boot = merged or (None, None)
        ft, bp = features(plan), plan.study.block_points
        for b in range(blocks[STATISTICS[0]].shape[0]):
            sub = Subsample(ft, blocks[DELTA[0]][b][:, None], blocks[DELTA[1]][b],
                            blocks[DELTA[2]][b]) if DELTA[0] in blocks else None
            one = MomentSums(ft, bp, *(blocks[n][b] for n in STATISTICS), sub)
            total = one if total is None else total.merge(one)
            if BOOTSTRAP[0] in blocks:
                one = Replicates(ft, *(blocks[n][b] for n in BOOTSTRAP))
                boot = one if boot is None else boot.merge(one)
        return total, boot

    def seconds(self, plan: Plan, *, N: int, workers: int, blocks: int):
        """Each row's series sums (delta: and the subsample's co-moments; bootstrap: the
        replicates), reading them back."""
        ft, series = features(plan), len(plan.labels)
        per_row = SERIES_S * series + BOOT_S * series * replicates(plan) * (
            ft.base.size + ft.base_pairs.shape[1])
        if delta(plan):
            per_row += COMOMENT_S * series * SUBSAMPLE_RUN / SUBSAMPLE_EVERY
        size = ft.base.size + ft.base_pairs.shape[1] + (
            ft.size + ft.n_pairs if delta(plan) else 0)
        return per_row, 0.0, READ_S * blocks * 8 * series * size

    def needs(self, plan: Plan, *, N: int, workers: int, todo: int, merging: int) -> list:
        """The blocks' statistics and bootstrap replicates: their disk, and memory while
        a block is reduced and while blocks merge."""
        study, ft = plan.study, features(plan)
        series = len(plan.labels)
        size = ft.base.size + ft.base_pairs.shape[1] + 5
        if delta(plan):
            size += 1 + ft.size + ft.n_pairs
        stats = 8 * series * size
        R = replicates(plan)
        fewer = "a smaller N" + (" or fewer scramblings" if study.scramblings > 1 else "")
        needs = [Need("memory", "merging block statistics",
                      (2 * merging + study.scramblings) * stats, "sampling.N", fewer, "merge"),
                 Need("disk", "block statistics", todo * stats, "sampling.N", fewer)]
        if delta(plan):
            k = sampling.rows_per_point(len(study.columns), study.second_order)
            sub = min(study.block_points,
                      (study.block_points // SUBSAMPLE_EVERY + 1) * SUBSAMPLE_RUN)
            needs.append(Need("memory", "the delta method's subsample rows (per worker)",
                              workers * 8 * sub * k * series, "sampling.block_points",
                              "a smaller block_points", "blocks"))
        if R:
            boot = 8 * R * (1 + series * (ft.base.size + ft.base_pairs.shape[1]))
            chunk = min(study.block_points, evaluate.EVAL_POINTS)
            per_chunk = 8 * chunk * R + boot
            fix = 'fewer resamples, or intervals = "delta"'
            needs += [Need("memory", "bootstrap replicates (per worker)",
                           workers * (per_chunk + math.ceil(study.block_points / chunk) * boot),
                           "analysis.resamples", fix, "blocks"),
                      Need("memory", "merging bootstrap replicates", 2 * merging * boot,
                           "analysis.resamples", fix, "merge"),
                      Need("disk", "bootstrap replicates", todo * boot, "analysis.resamples",
                           fix)]
        return needs


class SeriesValues(Statistic):
    """Every row's series values (series, rows per block), which SALib's estimator reads.
    Merged: float64 (series, rows) of the blocks in order."""

    name, what, read_slice, order = "series_values", "series values", 16, 1.5

    def wanted(self, plan: Plan) -> bool:
        return plan.estimator == "salib"

    def identity(self, plan: Plan) -> dict:
        return {"series_values": self.wanted(plan)}

    def names(self, plan: Plan) -> tuple[str, ...]:
        return (VALUES,)

    def seconds(self, plan: Plan, *, N: int, workers: int, blocks: int):
        """Writing every row's values, and SALib's analysis of them."""
        study, series = plan.study, len(plan.labels)
        P = len(study.sampled_names)
        salib = SALIB_S * study.resamples * N * P * series * (
            2 + (P if study.second_order else 0)) / max(1, min(workers, series))
        return BYTE_S * 8 * series, 0.0, salib

    def template(self, plan: Plan, context):
        rows = evaluate.rows_per_block(plan.study)
        return {VALUES: BlockArray(("series", "block_row"), (len(plan.labels), rows),
                                   np.float64, np.nan, {
            "long_name": "the series' value on each of the block's rows, in Saltelli order",
            "units": "output units"})}, {}

    def start(self, plan: Plan, context):
        return []

    def add(self, state, plan: Plan, context, chunk) -> None:
        state.append(chunk.series.reshape(-1, chunk.series.shape[-1]))

    def stored(self, state, plan: Plan, context) -> dict:
        return {VALUES: np.concatenate(state, axis=-1)}

    def merge(self, plan: Plan, context, blocks: dict, merged=None):
        values = blocks[VALUES]  # (blocks, series, rows per block)
        values = values.transpose(1, 0, 2).reshape(values.shape[1], -1)
        return values if merged is None else np.concatenate([merged, values], axis=-1)

    def needs(self, plan: Plan, *, N: int, workers: int, todo: int, merging: int) -> list:
        """Every row of every series: on disk, in memory while a block is reduced, and in
        memory for SALib's analysis."""
        study = plan.study
        k = sampling.rows_per_point(len(study.columns), study.second_order)
        series, bp = len(plan.labels), study.block_points
        return [Need("memory", "a block's series values kept in memory (per worker)",
                     workers * bp * k * series * 8, "sampling.block_points",
                     "a smaller block_points", "blocks"),
                Need("memory", "the SALib estimator's rows and bootstrap",
                     salib_memory(plan, N, workers) + 2 * N * k * series * 8,
                     "analysis.estimator", 'estimator = "streaming"', "merge"),
                Need("disk", "every row's series values (the SALib estimator)",
                     todo * bp * k * series * 8, "analysis.estimator",
                     'estimator = "streaming"')]


def salib_memory(plan: Plan, N: int, workers: int) -> int:
    """Bytes the SALib estimator needs: every row of every series, and SALib's bootstrap."""
    study = plan.study
    k = sampling.rows_per_point(len(study.columns), study.second_order)
    series = len(plan.labels)
    bootstrap = (96 if study.second_order else 64) * N * study.resamples  # SALib 1.6
    return N * k * series * 8 + min(workers, series) * bootstrap
