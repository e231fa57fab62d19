"""The crash-safe part of a results store: one slot per block, filled once, flagged done.

A run first writes a template: the `blocks` group (each block's streaming statistics, see
kernels.saltelli, a `block_done` flag and the digests of what the block wrote) and, with
--keep-samples, the `samples` group, all chunked one block per chunk. Each finished block
is written into its own chunks with their digests and only then flagged done, so a killed
run leaves only whole blocks behind (zarr writes a chunk to a temporary file and renames
it), and a block that was damaged afterwards is found and recomputed (store.integrity).
store.ownership decides which paths may hold a store and keeps a second writer out.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
import zarr

from reesens.evaluate import cases as evaluate
from reesens.store import integrity
from reesens.store import layout as store
from reesens.store.integrity import Units
from reesens.study.registry import BlockArray, Plan
from reesens.study.schema import Study


def identity(plan: Plan, statistics, *, keep_samples: bool, total_blocks: int,
             scramblings: int = 1) -> dict:
    """What must match for a store to be resumed: the study, its seeds, the block plan and
    what each statistic stores (study.registry: every registered statistic says, those
    the run does not compute too, so that a store's identity names them all)."""
    study = plan.study
    ident = {"study_json": store.study_json(study), "model": study.model.name,
             "seed": study.seed, "scramble": study.scramble,
             "second_order": study.second_order, "block_points": study.block_points,
             "total_blocks": total_blocks, "keep_samples": keep_samples,
             "scramblings": scramblings}
    for statistic in statistics:
        ident.update(statistic.identity(plan))
    return ident


def block_units(study: Study, statistics, plan: Plan, keep_samples: bool) -> Units:
    """The arrays a block fills, as paths from the store's root: each statistic's, then
    with keep_samples the sample rows."""
    members = [f"blocks/{n}" for s in statistics for n in s.names(plan)]
    if keep_samples:
        members += [f"samples/{n}" for n in (*study.sampled_names, *study.outputs)]
    return Units("blocks/block_done", "blocks/block_digest", tuple(members))


def write_template(path, plan: Plan, statistics, contexts, total_blocks: int,
                   keep_samples: bool) -> None:
    """The `blocks` group (and `samples` with keep_samples), every block still to do: a
    done flag, the digests of what each block writes and each statistic's arrays
    (study.registry.Statistic.template). Every array is checksummed; the coordinates'
    digests go to each group's attributes."""
    study, nb = plan.study, total_blocks
    units = block_units(study, statistics, plan, keep_samples)

    def per_block(a: BlockArray):
        """An array with one chunk per block, on dims ("block", *dims)."""
        return store.Unwritten(("block", *a.dims), (nb, *a.shape), (1, *a.shape), a.dtype,
                               a.fill, a.attrs)

    unwritten = {
        "block_done": per_block(BlockArray((), (), np.int8, 0, {
            "long_name": "1 once the block's statistics are written", "units": "1"})),
        "block_digest": per_block(BlockArray(("block_member",), (len(units.members),),
                                             np.uint64, 0, {
            "long_name": "blake2b digest of the block's region of each array it fills "
                         "(engine.integrity)", "units": "1"})),
    }
    coords = {"block_member": ("block_member", np.array(units.members, dtype=object),
                               {"long_name": "array the block fills", "units": "1"})}
    for statistic, context in zip(statistics, contexts):
        arrays, more = statistic.template(plan, context)
        unwritten.update({name: per_block(a) for name, a in arrays.items()})
        coords.update(more)
    blocks = xr.Dataset(coords=coords,
                        attrs={"block_points": study.block_points, **units.attrs()})
    store.write_template_group(path, "blocks", blocks, unwritten)
    if keep_samples:
        store.write_template_group(path, "samples", *_samples_template(study, nb))


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


def write_block(path, study: Study, block: int, units: Units, arrays: dict,
                outputs=None) -> None:
    """Write one block's statistics' arrays {name: array} (and with `outputs`, its rows:
    the outputs and "_params") and their digests, then flag it done."""
    values = {f"blocks/{name}": a for name, a in arrays.items()}
    if outputs is not None:
        kept = tuple(0 if not k else slice(None) for _, _, k in evaluate.case_dims(study))
        values.update({f"samples/{name}": outputs["_params"][:, :, j]
                       for j, name in enumerate(study.sampled_names)})
        values.update({f"samples/{name}": outputs[name][kept] for name in study.outputs})
    integrity.write_unit(path, units, block, values)


def block_done(path, block: int) -> bool:
    """Whether block `block` of the store at `path` is flagged done (written whole: the
    flag is set after its arrays and digests)."""
    return bool(zarr.open_array(store=str(path), path="blocks/block_done", mode="r")[block])


def read_blocks(path, names, blocks: slice, what: str) -> dict[str, np.ndarray]:
    """{name: (blocks, ...)} of the blocks group's arrays `names` over `blocks`, each
    block checked against its digests (IntegrityError naming `what` otherwise)."""
    group = zarr.open_group(path, mode="r", use_consolidated=False)["blocks"]
    return dict(zip(names, read_checked(path, group, names, blocks, what)))


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

