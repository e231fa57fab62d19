"""The crash-safe part of a results store: one slot per block, filled once, flagged done.

A run first writes a template: the `blocks` group (each block's streaming statistics, see
kernels.saltelli, a `block_done` flag and the digests of what the block wrote) and, with
--keep-samples, the `samples` group, all chunked one block per chunk. Each finished block
is written into its own chunks with their digests and only then flagged done, so a killed
run leaves only whole blocks behind (zarr writes a chunk to a temporary file and renames
it), and a block that was damaged afterwards is found and recomputed (engine.integrity).
engine.ownership decides which paths may hold a store and keeps a second writer out.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
import zarr

from reesens.evaluate import cases as evaluate
from reesens.kernels.saltelli import STATISTICS_VERSION, Features
from reesens.methods import given_data
from reesens.store import integrity
from reesens.store import layout as store
from reesens.store.integrity import Units
from reesens.study.schema import Study

STATISTICS = ("block_feature_mean", "block_feature_comoment", "block_row_stats")
BOOTSTRAP = ("block_bootstrap_weight", "block_bootstrap_mean", "block_bootstrap_comoment")
VALUES = "block_series_values"
COUNTS = ("block_slice_counts", "block_slice_sums")  # engine.given_data
VALUES_SLICE = 16  # blocks of series values read at a time


def identity(study: Study, *, keep_samples: bool, total_blocks: int,
             replicates: int = 0, keep_values: bool = False, scramblings: int = 1) -> dict:
    """What must match for a store to be resumed: the study, its seeds, the block plan and
    the layout of the block statistics (with `replicates` bootstrap replicates per block,
    weighted by the analysis seed; with `keep_values`, every row's series values, which
    the SALib estimator reads; with `scramblings` > 1, that many independent designs of
    total_blocks / scramblings blocks each)."""
    return {"study_json": store.study_json(study), "statistics_version": STATISTICS_VERSION,
            "model": study.model.name, "seed": study.seed, "scramble": study.scramble,
            "second_order": study.second_order, "block_points": study.block_points,
            "total_blocks": total_blocks, "keep_samples": keep_samples,
            "bootstrap_replicates": replicates,
            "bootstrap_seed": study.analysis_seed if replicates else None,
            "series_values": keep_values, "scramblings": scramblings,
            "slice_counts": [study.slices, study.bins] if given_data.wanted(study) else None}


def block_units(study: Study, keep_samples: bool, replicates: int,
                keep_values: bool = False) -> Units:
    """The arrays a block fills, as paths from the store's root."""
    members = [f"blocks/{n}" for n in STATISTICS + (BOOTSTRAP if replicates else ())
               + ((VALUES,) if keep_values else ())
               + (COUNTS if given_data.wanted(study) else ())]
    if keep_samples:
        members += [f"samples/{n}" for n in (*study.sampled_names, *study.outputs)]
    return Units("blocks/block_done", "blocks/block_digest", tuple(members))


def write_template(path, study: Study, total_blocks: int, labels, keep_samples: bool,
                   replicates: int = 0, keep_values: bool = False,
                   edges: given_data.Edges | None = None):
    """The `blocks` group (and `samples` with keep_samples), every block still to do; with
    `replicates`, the blocks' bootstrap statistics too (kernels.bootstrap); with
    `keep_values`, every row's series values; with `edges`, the per-slice counts of
    engine.given_data and the edges themselves. Every array is checksummed; the
    coordinates' digests go to each group's attributes."""
    nb, n_series = total_blocks, len(labels)
    units = block_units(study, keep_samples, replicates, keep_values)
    ft = Features(len(study.columns), study.second_order)

    def per_block(dims, shape, attrs, fill=np.nan, dtype=np.float64):
        """An array with one chunk per block, on dims ("block", *dims)."""
        return store.Unwritten(("block", *dims), (nb, *shape), (1, *shape), dtype, fill,
                               attrs)

    unwritten = {
        "block_done": per_block((), (), {
            "long_name": "1 once the block's statistics are written", "units": "1"},
            0, np.int8),
        "block_digest": per_block(("block_member",), (len(units.members),), {
            "long_name": "blake2b digest of the block's region of each array it fills "
                         "(engine.integrity)", "units": "1"}, 0, np.uint64),
        "block_feature_mean": per_block(("series", "feature"), (n_series, ft.size), {
            "long_name": "mean of each Saltelli feature over the block's base points "
                         "(kernels.saltelli)", "units": "output units to the feature's power"}),
        "block_feature_comoment": per_block(("series", "feature_pair"), (n_series, ft.n_pairs), {
            "long_name": "centred co-moment sums of the feature pairs the estimators use",
            "units": "output units to the pair's power"}),
        "block_row_stats": per_block(("series", "row_stat"), (n_series, 5), {
            "long_name": "over all rows: non-NaN count, mean, M2, min, max",
            "units": "output units (count: 1)"}),
    }
    coords = {"block_member": ("block_member", np.array(units.members, dtype=object),
                               {"long_name": "array the block fills", "units": "1"}),
              "series": ("series", np.array(labels, dtype=object),
                         {"long_name": "case and analysed output", "units": "1"}),
              **{f"feature_pair_{end}": ("feature_pair", ft.pairs[i], {
                  "long_name": f"{end} feature of the pair (index on feature)", "units": "1"})
                 for i, end in enumerate(("first", "second"))},
              "row_stat": ("row_stat", np.array(["count", "mean", "m2", "min", "max"],
                                                dtype=object),
                           {"long_name": "row statistic", "units": "1"})}
    if replicates:
        B, P = ft.base.size, ft.base_pairs.shape[1]
        unwritten.update({
            "block_bootstrap_weight": per_block(("replicate",), (replicates,), {
                "long_name": "total Poisson(1) weight of the block's base points",
                "units": "1"}),
            "block_bootstrap_mean": per_block(
                ("replicate", "series", "base_feature"), (replicates, n_series, B), {
                    "long_name": "weighted mean of each base feature over the block",
                    "units": "output units"}),
            "block_bootstrap_comoment": per_block(
                ("replicate", "series", "base_pair"), (replicates, n_series, P), {
                    "long_name": "weighted centred co-moment sums of the base feature pairs",
                    "units": "output units squared"}),
        })
        pairs = ft.base[ft.base_pairs]
        coords["base_feature"] = ("base_feature", ft.base, {
            "long_name": "index on feature of the base feature", "units": "1"})
        coords.update({f"base_pair_{end}": ("base_pair", pairs[i], {
            "long_name": f"{end} feature of the pair (index on feature)", "units": "1"})
            for i, end in enumerate(("first", "second"))})
    if keep_values:
        rows = evaluate.rows_per_block(study)
        unwritten[VALUES] = per_block(("series", "block_row"), (n_series, rows), {
            "long_name": "the series' value on each of the block's rows, in Saltelli order",
            "units": "output units"})
    if edges is not None:
        _counts_template(study, edges, per_block, coords, unwritten)
    blocks = xr.Dataset(coords=coords,
                        attrs={"block_points": study.block_points, **units.attrs()})
    store.write_template_group(path, "blocks", blocks, unwritten)
    if keep_samples:
        store.write_template_group(path, "samples", *_samples_template(study, nb))


def _counts_template(study: Study, edges: given_data.Edges, per_block, coords: dict,
                     unwritten: dict) -> None:
    """Add the per-slice counts and power sums, and the edges, to the blocks template."""
    shape = (len(edges.codes), len(study.sampled_names), study.slices)
    unwritten[COUNTS[0]] = per_block(("measured", "param", "slice", "bin"),
                                     (*shape, edges.width), {
        "long_name": "A and B rows per parameter slice and output bin (or code)",
        "units": "1"}, 0, np.int64)
    unwritten[COUNTS[1]] = per_block(("measured", "param", "slice", "power"),
                                     (*shape, given_data.POWERS), {
        "long_name": "per-slice sums of the standardised output to the powers 1..4 "
                     "(continuous outputs)", "units": "1"}, 0.0)
    coords["measured"] = ("measured", np.array(
        [f"case {c} {name}" for c, name in given_data.measured_labels(study)], dtype=object),
        {"long_name": "case and measured output", "units": "1"})
    coords["measured_centre"] = ("measured", edges.centre, {
        "long_name": "pilot mean the power sums are centred on", "units": "output units"})
    coords["measured_scale"] = ("measured", edges.scale, {
        "long_name": "pilot standard deviation the power sums are scaled by",
        "units": "output units"})
    coords["slice_edge"] = (("scenario", "param", "inner_slice_edge"), edges.slices, {
        "long_name": "inner edges of the equiprobable parameter slices",
        "units": "parameter units"})
    coords["bin_edge"] = (("measured", "inner_bin_edge"), edges.bins, {
        "long_name": "inner edges of a continuous output's bins (pilot quantiles; +inf: "
                     "unused)", "units": "output units"})


def _samples_template(study: Study, nb: int) -> tuple[xr.Dataset, dict]:
    """(coordinates, {name: Unwritten}) of the parameter rows and raw outputs on a `sample`
    dim, one block per chunk."""
    _, coords = evaluate.case_coords(study)
    rows = evaluate.rows_per_block(study)
    n = nb * rows
    kept = [(d, len(values)) for d, values, k in evaluate.case_dims(study) if k]
    by_scenario = [(d, size) for d, size in kept if d == "scenario"]
    unwritten = {}
    for name in study.sampled_names:
        var = next(v for v in study.model.params if v.name == name)
        unwritten[name] = _per_block_rows(by_scenario, n, rows, np.float64, np.nan,
                                          var.attrs())
    for var in study.model.outputs:
        if var.name in study.outputs:
            fill = np.nan if np.dtype(var.dtype).kind == "f" else 0
            unwritten[var.name] = _per_block_rows(kept, n, rows, var.dtype, fill,
                                                  var.attrs())
    coords["sample"] = ("sample", np.arange(n), {"long_name": "row in Saltelli order",
                                                 "units": "1"})
    return evaluate.squeeze_cases(xr.Dataset(coords=coords), study), unwritten


def _per_block_rows(cases, n, rows, dtype, fill, attrs) -> store.Unwritten:
    """An array on the case dims `cases` [(dim, size)] and `sample` (n rows), one block's
    rows per chunk."""
    shape = tuple(size for _, size in cases)
    return store.Unwritten((*(d for d, _ in cases), "sample"), (*shape, n), (*shape, rows),
                           dtype, fill, attrs)


def write_block(path, study: Study, block: int, units: Units, stats, outputs=None,
                replicates=None, series_values=None, counts=None) -> None:
    """Write one block's statistics (its bootstrap replicates' (weight, mean, comoment),
    its rows: outputs with "_params", its series values (series, rows), its per-slice
    (counts, sums)) and their digests, then flag it done."""
    values = dict(zip((f"blocks/{n}" for n in STATISTICS), stats))
    if counts is not None:
        values.update(zip((f"blocks/{n}" for n in COUNTS), counts))
    if replicates is not None:
        values.update(zip((f"blocks/{n}" for n in BOOTSTRAP), replicates))
    if series_values is not None:
        values[f"blocks/{VALUES}"] = series_values
    if outputs is not None:
        kept = tuple(0 if not k else slice(None) for _, _, k in evaluate.case_dims(study))
        values.update({f"samples/{name}": outputs["_params"][:, :, j]
                       for j, name in enumerate(study.sampled_names)})
        values.update({f"samples/{name}": outputs[name][kept] for name in study.outputs})
    integrity.write_unit(path, units, block, values)


def read_series_values(path, n_blocks: int) -> np.ndarray:
    """float64 (series, rows): every row's series values of blocks [0, n_blocks), each block
    checked against its digest (IntegrityError otherwise)."""
    root = zarr.open_group(path, mode="r", use_consolidated=False)
    group, units, parts = root["blocks"], Units.of(root, "blocks"), []
    for start in range(0, n_blocks, VALUES_SLICE):
        blocks = slice(start, min(n_blocks, start + VALUES_SLICE))
        try:
            read = group[VALUES][blocks]
        except Exception as e:  # noqa: BLE001 (a chunk that fails its crc32c or decoding)
            raise integrity.IntegrityError(
                f"{path}: the series values of blocks {blocks.start}-{blocks.stop - 1} "
                f"cannot be read ({integrity._reason(e)}); resume the run to recompute "
                "them") from None
        bad = integrity.check_unit_rows(units, {f"blocks/{VALUES}": read}, start,
                                        group["block_digest"][blocks])
        if bad:
            raise integrity.IntegrityError(
                f"{path}: the series values of block {bad[0]} changed after they were "
                f"written ({len(bad)} block(s) in all); resume the run to recompute them")
        parts.append(read)
    values = np.concatenate(parts)  # (blocks, series, rows per block)
    return values.transpose(1, 0, 2).reshape(values.shape[1], -1)


def read_statistics(path, blocks: slice):
    """(mean, comoment, rows) of the blocks in `blocks`, stacked on a leading block axis,
    and their bootstrap (weight, mean, comoment), or None when the store has none.

    IntegrityError when a block's statistics do not match the digests written with them.
    """
    group = zarr.open_group(path, mode="r", use_consolidated=False)["blocks"]
    names = STATISTICS + (BOOTSTRAP if "block_bootstrap_weight" in group else ())
    values = read_checked(path, group, names, blocks, "statistics")
    return tuple(values[:3]), (tuple(values[3:]) if len(values) > 3 else None)


def read_counts(path, blocks: slice) -> tuple[np.ndarray, np.ndarray]:
    """(counts, sums) of engine.given_data summed over the blocks in `blocks` (counts
    exactly, sums in block order); IntegrityError as read_statistics."""
    group = zarr.open_group(path, mode="r", use_consolidated=False)["blocks"]
    counts, sums = read_checked(path, group, COUNTS, blocks, "slice counts")
    total = sums[0].copy()
    for b in range(1, sums.shape[0]):
        total += sums[b]
    return counts.sum(axis=0), total


def read_checked(path, group, names, blocks: slice, what: str) -> list[np.ndarray]:
    """The arrays `names` (one block per chunk of their leading axis) of the blocks in
    `blocks` of a blocks group, each block checked against its digests; IntegrityError
    naming `what` otherwise."""
    try:
        read = {f"blocks/{n}": group[n][blocks] for n in names}
    except Exception as e:  # noqa: BLE001 (a chunk that fails its crc32c or decoding)
        raise integrity.IntegrityError(
            f"{path}: the {what} of blocks {blocks.start}-{blocks.stop - 1} cannot be "
            f"read ({integrity._reason(e)}); resume the run to recompute them") from None
    units = Units.of(zarr.open_group(path, mode="r", use_consolidated=False), "blocks")
    bad = integrity.check_unit_rows(units, read, blocks.start,
                                    group["block_digest"][blocks])
    if bad:
        raise integrity.IntegrityError(
            f"{path}: the {what} of block {bad[0]} changed after they were written "
            f"({len(bad)} block(s) in all); resume the run to recompute them")
    return [read[f"blocks/{n}"] for n in names]


MERGE_SLICE = 64  # blocks read back from the store at a time while merging
