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

from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from reesens.engine import evaluate, integrity, store
from reesens.engine.integrity import Units
from reesens.engine.sobol import squeeze_cases
from reesens.engine.study import Study
from reesens.kernels.saltelli import STATISTICS_VERSION, Features

STATISTICS = ("block_feature_mean", "block_feature_comoment", "block_row_stats")
BOOTSTRAP = ("block_bootstrap_weight", "block_bootstrap_mean", "block_bootstrap_comoment")
VALUES = "block_series_values"
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
            "series_values": keep_values, "scramblings": scramblings}


def block_units(study: Study, keep_samples: bool, replicates: int,
                keep_values: bool = False) -> Units:
    """The arrays a block fills, as paths from the store's root."""
    members = [f"blocks/{n}" for n in STATISTICS + (BOOTSTRAP if replicates else ())
               + ((VALUES,) if keep_values else ())]
    if keep_samples:
        members += [f"samples/{n}" for n in (*study.sampled_names, *study.outputs)]
    return Units("blocks/block_done", "blocks/block_digest", tuple(members))


def write_template(path, study: Study, total_blocks: int, labels, keep_samples: bool,
                   replicates: int = 0, keep_values: bool = False):
    """The `blocks` group (and `samples` with keep_samples), every block still to do; with
    `replicates`, the blocks' bootstrap statistics too (kernels.bootstrap); with
    `keep_values`, every row's series values. Every array is checksummed; the
    coordinates' digests go to each group's attributes."""
    nb, n_series = total_blocks, len(labels)
    units = block_units(study, keep_samples, replicates, keep_values)
    ft = Features(len(study.sampled_names), study.second_order)
    nan = {"fill": np.nan, "dtype": np.float64}

    def lazy(shape, fill, dtype):
        return da.full(shape, fill, dtype=dtype, chunks=(1, *shape[1:]))

    blocks = xr.Dataset({
        "block_done": (("block",), lazy((nb,), 0, np.int8),
                       {"long_name": "1 once the block's statistics are written", "units": "1"}),
        "block_digest": (("block", "block_member"),
                         lazy((nb, len(units.members)), 0, np.uint64),
                         {"long_name": "blake2b digest of the block's region of each array "
                                       "it fills (engine.integrity)", "units": "1"}),
        "block_feature_mean": (("block", "series", "feature"),
                               lazy((nb, n_series, ft.size), **nan),
                               {"long_name": "mean of each Saltelli feature over the block's "
                                             "base points (kernels.saltelli)",
                                "units": "output units to the feature's power"}),
        "block_feature_comoment": (("block", "series", "feature_pair"),
                                   lazy((nb, n_series, ft.n_pairs), **nan),
                                   {"long_name": "centred co-moment sums of the feature "
                                                 "pairs the estimators use",
                                    "units": "output units to the pair's power"}),
        "block_row_stats": (("block", "series", "row_stat"), lazy((nb, n_series, 5), **nan),
                            {"long_name": "over all rows: non-NaN count, mean, M2, min, max",
                             "units": "output units (count: 1)"}),
    }, coords={"block_member": ("block_member", np.array(units.members, dtype=object),
                                {"long_name": "array the block fills", "units": "1"}),
               "series": ("series", np.array(labels, dtype=object),
                          {"long_name": "case and analysed output", "units": "1"}),
               **{f"feature_pair_{end}": ("feature_pair", ft.pairs[i], {
                   "long_name": f"{end} feature of the pair (index on feature)", "units": "1"})
                  for i, end in enumerate(("first", "second"))},
               "row_stat": ("row_stat", np.array(["count", "mean", "m2", "min", "max"],
                                                 dtype=object),
                            {"long_name": "row statistic", "units": "1"})})
    if replicates:
        blocks = blocks.merge(_bootstrap_template(ft, nb, n_series, replicates))
    if keep_values:
        rows = evaluate.rows_per_block(study)
        blocks[VALUES] = (("block", "series", "block_row"), lazy((nb, n_series, rows), **nan),
                          {"long_name": "the series' value on each of the block's rows, in "
                                        "Saltelli order", "units": "output units"})
    blocks.attrs.update({"block_points": study.block_points, **units.attrs()})
    groups = {"blocks": blocks}
    if keep_samples:
        groups["samples"] = _samples_template(study, nb)
    for name, ds in groups.items():
        ds.to_zarr(path, group=name, mode="w", compute=False, consolidated=False,
                   encoding=integrity.encoding(ds))
        whole = [n for n in ds.variables if not isinstance(ds[n].data, da.Array)]
        group = zarr.open_group(Path(path) / name, mode="r+", use_consolidated=False)
        group.update_attributes({integrity.DIGESTS: integrity.group_digests(group, whole)})


def _bootstrap_template(ft: Features, nb: int, n_series: int, replicates: int) -> xr.Dataset:
    """Per block and replicate: total Poisson weight, weighted means of the base features
    and weighted centred co-moment sums of their pairs (kernels.bootstrap)."""
    B, P = ft.base.size, ft.base_pairs.shape[1]

    def lazy(shape):
        return da.full(shape, np.nan, chunks=(1, *shape[1:]))

    pairs = ft.base[ft.base_pairs]
    return xr.Dataset({
        "block_bootstrap_weight": (("block", "replicate"), lazy((nb, replicates)), {
            "long_name": "total Poisson(1) weight of the block's base points",
            "units": "1"}),
        "block_bootstrap_mean": (("block", "replicate", "series", "base_feature"),
                                 lazy((nb, replicates, n_series, B)), {
            "long_name": "weighted mean of each base feature over the block",
            "units": "output units"}),
        "block_bootstrap_comoment": (("block", "replicate", "series", "base_pair"),
                                     lazy((nb, replicates, n_series, P)), {
            "long_name": "weighted centred co-moment sums of the base feature pairs",
            "units": "output units squared"}),
    }, coords={"base_feature": ("base_feature", ft.base, {
        "long_name": "index on feature of the base feature", "units": "1"}),
        **{f"base_pair_{end}": ("base_pair", pairs[i], {
            "long_name": f"{end} feature of the pair (index on feature)", "units": "1"})
           for i, end in enumerate(("first", "second"))}})


def _samples_template(study: Study, nb: int) -> xr.Dataset:
    """Parameter rows and raw outputs on a `sample` dim, one block per chunk."""
    dims, coords = evaluate.case_coords(study)
    rows = evaluate.rows_per_block(study)
    n = nb * rows
    scenarios = len(study.scenario_items())
    shape = evaluate.case_shape(study)
    data = {}
    for name in study.sampled_names:
        var = next(v for v in study.model.params if v.name == name)
        data[name] = (["scenario", "sample"], da.full((scenarios, n), np.nan,
                                                      chunks=(scenarios, rows)), var.attrs())
    for var in study.model.outputs:
        if var.name in study.outputs:
            fill = np.nan if np.dtype(var.dtype).kind == "f" else 0
            data[var.name] = (dims + ["sample"], da.full((*shape, n), fill, dtype=var.dtype,
                                                         chunks=(*shape, rows)), var.attrs())
    coords["sample"] = ("sample", np.arange(n), {"long_name": "row in Saltelli order",
                                                 "units": "1"})
    return squeeze_cases(xr.Dataset(data, coords=coords), study)


def write_block(path, study: Study, block: int, units: Units, stats, outputs=None,
                replicates=None, series_values=None) -> None:
    """Write one block's statistics (its bootstrap replicates' (weight, mean, comoment),
    its rows: outputs with "_params", its series values (series, rows)) and their
    digests, then flag it done."""
    values = dict(zip((f"blocks/{n}" for n in STATISTICS), stats))
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
    group = zarr.open_group(path, mode="r", use_consolidated=False)["blocks"]
    units, parts = Units.of(group), []
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
    try:
        read = {f"blocks/{n}": group[n][blocks] for n in names}
    except Exception as e:  # noqa: BLE001 (a chunk that fails its crc32c or decoding)
        raise integrity.IntegrityError(
            f"{path}: the statistics of blocks {blocks.start}-{blocks.stop - 1} cannot be "
            f"read ({integrity._reason(e)}); resume the run to recompute them") from None
    bad = integrity.check_unit_rows(Units.of(group), read, blocks.start,
                                    group["block_digest"][blocks])
    if bad:
        raise integrity.IntegrityError(
            f"{path}: the statistics of block {bad[0]} changed after they were written "
            f"({len(bad)} block(s) in all); resume the run to recompute them")
    values = [read[f"blocks/{n}"] for n in names]
    return tuple(values[:3]), (tuple(values[3:]) if len(values) > 3 else None)
