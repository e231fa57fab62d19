"""Morris screening as its own design ([sampling] design = "morris"): SALib's trajectories,
evaluated a block of trajectories at a time into a crash-safe store, then mu, mu_star and
sigma of every analysed output with bootstrap intervals.

The design is `SALib.sample.morris.sample` bit for bit (trajectories on a grid of `levels`
levels, optionally the `optimal_trajectories` most spread of them): drawn once in the
unit cube, where SALib draws and optimises it, then mapped to each scenario's
distributions with SALib's own transform. Block b holds trajectories [b * m, (b + 1) * m),
m = design.morris.TRAJECTORIES_PER_BLOCK; each block's series values are written with their
digests and then flagged done (store.integrity), so a killed run resumes with the blocks
not done, on any number of workers, to the same bytes. The elementary effects, their
statistics and intervals are the method's (methods.morris).
"""
from __future__ import annotations

import time

import numpy as np
import xarray as xr

from reesens.core.progress import Progress
from reesens.design import morris as morris_design
from reesens.evaluate import cases as evaluate
from reesens.evaluate import series
from reesens.execute import tasks as parallel
from reesens.methods import morris as morris_method
from reesens.runs import limits, setup
from reesens.store import blocks, integrity, ownership
from reesens.store import layout as store
from reesens.study.schema import Study

VALUES = "block_series_values"


def units(study: Study) -> integrity.Units:
    return integrity.Units("blocks/block_done", "blocks/block_digest", (f"blocks/{VALUES}",))


def identity(study: Study, n_blocks: int) -> dict:
    """What must match for a Morris store to be resumed."""
    return {"study_json": store.study_json(study), "design": "morris",
            "model": study.model.name,
            "seed": study.seed, "trajectories": study.trajectories, "levels": study.levels,
            "optimal_trajectories": study.optimal_trajectories,
            "trajectories_per_block": morris_design.TRAJECTORIES_PER_BLOCK,
            "total_blocks": n_blocks}


def _write_template(path, study: Study, labels, n_blocks: int) -> None:
    """The `blocks` group: every row's series values, one block of trajectories per chunk
    (the last one NaN-padded), a done flag and the digests of each block."""
    per = morris_design.TRAJECTORIES_PER_BLOCK * (len(study.sampled_names) + 1)
    u = units(study)
    ds = xr.Dataset(coords={
        "series": ("series", np.array(labels, dtype=object),
                   {"long_name": "case and analysed output", "units": "1"}),
        "block_member": ("block_member", np.array(u.members, dtype=object),
                         {"long_name": "array the block fills", "units": "1"})},
        attrs={"trajectories_per_block": morris_design.TRAJECTORIES_PER_BLOCK, **u.attrs()})
    store.write_template_group(path, "blocks", ds, {
        "block_done": store.Unwritten(("block",), (n_blocks,), (1,), np.int8, 0, {
            "long_name": "1 once the block's values are written", "units": "1"}),
        "block_digest": store.Unwritten(("block", "block_member"), (n_blocks, 1), (1, 1),
                                        np.uint64, 0, {
            "long_name": "blake2b digest of the block's values (engine.integrity)",
            "units": "1"}),
        VALUES: store.Unwritten(("block", "series", "block_row"), (n_blocks, len(labels), per),
                                (1, len(labels), per), np.float64, np.nan, {
            "long_name": "the series' value on each row of the Morris design",
            "units": "output units"})})


def blocks_task(study: Study, spec, rows: np.ndarray, block_ids, path) -> None:
    """Evaluate and store the rows of each block of trajectories (rows: the whole design,
    (scenarios, n, D)); the last block's missing rows stay NaN."""
    per = morris_design.TRAJECTORIES_PER_BLOCK * (len(study.sampled_names) + 1)
    u = units(study)
    for block in block_ids:
        part = rows[:, block * per:(block + 1) * per]
        values = series.series_values(spec, evaluate.evaluate_rows(study, part))
        padded = np.full((int(np.prod(values.shape[:-1])), per), np.nan)
        padded[:, :part.shape[1]] = values.reshape(-1, values.shape[-1])
        integrity.write_unit(path, u, block, {f"blocks/{VALUES}": padded})


def run_morris(study: Study, *, out=None, workers: int = 1, progress: bool = True,
               command: str = "", scheduler: str = "threads", client=None,
               overwrite: bool = False, resume: bool = False) -> dict:
    """Run the study's Morris design into its store (resuming one of the same run);
    returns {"morris": Dataset}."""
    start = time.perf_counter()
    path = ownership.output_path(out, store.default_store(study), resume=resume)
    n_blocks = -(-(study.optimal_trajectories or study.trajectories)
                 // morris_design.TRAJECTORIES_PER_BLOCK)
    limits.check_morris(study, path, workers, scheduler="processes" if client is None
                        and scheduler == "processes" else "threads",
                        done=limits.units_done(path, identity(study, n_blocks), "blocks",
                                               "block_done", n_blocks))
    spec = series.series_spec(study)
    labels = series.series_labels(study, spec)
    unit = morris_design.unit_design(study)
    rows = morris_design.design_rows(study, unit)
    T = unit.shape[0] // (len(study.sampled_names) + 1)
    with setup.opened(path, identity(study, n_blocks),
                      lambda p, _: _write_template(p, study, labels, n_blocks),
                      groups=("blocks",), units="blocks", unit="block", overwrite=overwrite,
                      command=command or f"reesens run {study.path} --out {path}") as opened:
        done, resumed = opened.done, opened.resumed
        bar = Progress(n_blocks, progress, int(done.sum()))
        try:
            todo = [[b] for b in range(n_blocks) if not done[b]]
            parallel.run_tasks(blocks_task, (study, spec, rows), todo, (str(path),),
                               name=f"{study.name}-morris", workers=workers,
                               scheduler=scheduler, client=client, progress=bar)
        finally:
            bar.close()
        values = _read_values(path, unit.shape[0])  # (series, rows)
        ds = morris_method.morris_dataset(study, spec, rows, values)
        attrs = {**store.provenance(study, N=study.trajectories, estimator="morris"),
                 "design": "morris", "trajectories": T, "levels": study.levels,
                 "optimal_trajectories": study.optimal_trajectories or 0}
        ds.attrs.update(attrs)
        store.set_attrs(path, attrs, "blocks")
        store.write_results(path, {"morris": ds}, {**attrs, **store.invocation(
            command=command, wall_seconds=time.perf_counter() - start, resumed=resumed),
            ownership.USED: n_blocks})
    return {"morris": ds}


def _read_values(path, n_rows: int) -> np.ndarray:
    """float64 (series, n_rows): every block's values, each checked against its digest
    (IntegrityError otherwise)."""
    import zarr

    group = zarr.open_group(path, mode="r", use_consolidated=False)["blocks"]
    values, = blocks.read_checked(path, group, (VALUES,), slice(0, group[VALUES].shape[0]),
                                  "Morris values")  # (blocks, series, rows per block)
    return values.transpose(1, 0, 2).reshape(values.shape[1], -1)[:, :n_rows]


