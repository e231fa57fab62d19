"""One study run: blocks into a crash-safe store, then indices and summaries.

The command line is a thin layer over :func:`run`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import xarray as xr

from reesens.core.progress import Progress
from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.evaluate import series
from reesens.execute import tasks as parallel
from reesens.kernels.saltelli import Features
from reesens.methods import given_data, sobol, streaming
from reesens.runs import limits
from reesens.store import blocks, integrity, ownership, verify
from reesens.store import layout as store
from reesens.store.ownership import StoreError
from reesens.study.schema import Study

TARGET_GROWTH = 64  # --target-ci without --max-n: N may grow to 64 N (half-widths ~ 1/8)


def choose_estimator(study: Study) -> str:
    """The study's estimator: "auto" is streaming (SALib only when asked for by name)."""
    return "salib" if study.estimator == "salib" else "streaming"


def merged_moments(path, study: Study, n_blocks: int, first: int = 0):
    """(Moments, Replicates or None) of blocks [first, first + n_blocks) merged in block
    order, read a slice at a time; Replicates when the store holds bootstrap statistics."""
    features = Features(len(study.columns), study.second_order)
    total = boot = None
    end = first + n_blocks
    for start in range(first, end, blocks.MERGE_SLICE):
        (mean, comoment, rows), replicates = blocks.read_statistics(
            path, slice(start, min(end, start + blocks.MERGE_SLICE)))
        for b in range(mean.shape[0]):
            one = streaming.Moments(features, study.block_points, mean[b], comoment[b],
                                    rows[b])
            total = one if total is None else total.merge(one)
            if replicates is not None:
                one = streaming.Replicates(features, *(x[b] for x in replicates))
                boot = one if boot is None else boot.merge(one)
    return total, boot


def run(study: Study, *, out=None, workers: int = 1, keep_samples: bool = False,
        progress: bool = True, command: str = "", scheduler: str = "threads", client=None,
        blocks_per_task: int = 1, overwrite: bool = False, resume: bool = False,
        target_ci: float | None = None, max_N: int | None = None) -> dict:
    """Run the study into its store (resuming one of the same run); returns {group: Dataset}.

    With `target_ci`, N doubles from the study's N up to `max_N` (default TARGET_GROWTH
    times N) until every ST interval half-width is <= target_ci; each N's estimates go to
    the `convergence` group, whose attrs say whether the target was met (`target_met`,
    `widest_half_width`, `N_reached`).
    """
    start = time.perf_counter()
    if not study.sampled:
        raise StoreError(f"{study.path}: the study samples no parameter; it only sweeps a "
                         "grid (reesens grid STUDY)")
    if study.design == "morris":
        if keep_samples or target_ci is not None:
            raise StoreError(f"{study.path}: a Morris design keeps its rows in the `morris` "
                             "group and has no --target-ci; drop --keep-samples and "
                             "--target-ci")
        from reesens.runs import morris
        return morris.run_morris(study, out=out, workers=workers, progress=progress,
                                 command=command, scheduler=scheduler, client=client,
                                 overwrite=overwrite, resume=resume)
    path = ownership.output_path(out, store.default_store(study), resume=resume)
    levels = [study.N]
    if target_ci is not None:
        max_N = max_N or TARGET_GROWTH * study.N
        if max_N < study.N or max_N & (max_N - 1):
            raise StoreError(f"--max-n must be a power of two >= N = {study.N}, got {max_N}")
        while levels[-1] < max_N:
            levels.append(2 * levels[-1])
    if target_ci is not None and study.scramblings > 1:
        raise StoreError('--target-ci doubles one design\'s N; with intervals = "replicates" '
                         "give N (or more scramblings) instead")
    estimator = "streaming" if target_ci is not None else choose_estimator(study)
    if target_ci is not None and study.estimator == "salib":
        raise StoreError("--target-ci needs the streaming estimator's intervals; "
                         "drop --estimator salib")
    spec = series.series_spec(study)
    labels = series.series_labels(study, spec)
    R = study.scramblings  # independent scramblings; design r is blocks [r * per, (r + 1) * per)
    per = levels[-1] // study.block_points
    total_blocks = R * per
    replicates = study.resamples if estimator == "streaming" and study.intervals == \
        "bootstrap" else 0
    keep_values = estimator == "salib"  # SALib reads every row: kept, so resumes reuse them
    ident = blocks.identity(study, keep_samples=keep_samples, total_blocks=total_blocks,
                            replicates=replicates, keep_values=keep_values,
                            scramblings=R)
    limits.check_run(study, path, N=levels[-1], estimator=estimator, workers=workers,
                     keep_samples=keep_samples, replicates=replicates,
                     done=limits.units_done(path, ident, "blocks", "block_done",
                                            total_blocks),
                     target=target_ci is not None)
    designs = [replace(study, seed=sampling.scrambling_seed(study.seed, r)) for r in range(R)]
    kernels = parallel.load_kernels(study, spec) if client is None and scheduler == "threads" \
        else None
    edges = given_data.pilot_edges(study) if given_data.wanted(study) else None
    with ownership.StoreLock(path):
        path.mkdir(exist_ok=True)
        ident = _room_in_store(path, ident)
        total_blocks = ident["total_blocks"]
        resumed = ownership.open_or_create(
            path, ident, lambda p: blocks.write_template(p, study, total_blocks, labels,
                                                         keep_samples, replicates,
                                                         keep_values, edges),
            groups=("blocks", "samples"), overwrite=overwrite,
            command=command or f"reesens run {study.path} --out {path}")
        done, damaged = integrity.verified_units(path, "blocks", check=resumed)
        for block, problem in sorted(damaged.items()):
            print(f"{path}: block {block}: {problem}; recomputing it", file=sys.stderr)
        bar = Progress(R * per, progress, int(done[:R * per].sum()))  # this run's
        convergence = []
        if kernels is not None:
            kernels.result()
        try:
            for N in levels:
                n_level = N // study.block_points
                for r, design in enumerate(designs):
                    todo = [b for b in range(n_level) if not done[r * per + b]]
                    parallel.run_blocks(
                        design, spec, todo, path, workers=workers, scheduler=scheduler,
                        client=client, blocks_per_task=blocks_per_task,
                        keep_samples=keep_samples, keep_values=keep_values,
                        replicates=replicates, progress=bar, offset=r * per, edges=edges)
                    done[[r * per + b for b in todo]] = True
                merged = [merged_moments(path, study, n_level, first=r * per)
                          for r in range(R)]
                moments, boot = merged[0]
                for more, _ in merged[1:]:
                    moments = moments.merge(more)
                values = blocks.read_series_values(path, n_level) if keep_values else None
                result = _indices(study, spec, moments, boot, values, estimator, workers, N,
                                  progress, [m for m, _ in merged] if R > 1 else None)
                convergence.append((N, result))
                if target_ci is not None and _widest(result) <= target_ci:
                    break
        finally:
            bar.close()
        N, (sobol_ds, summary) = convergence[-1]
        attrs = store.provenance(study, N=N, estimator=estimator)
        groups = {"sobol": sobol_ds, "summary": summary}
        if edges is not None:
            groups.update(_count_measures(path, study, edges, N // study.block_points, per,
                                          list(sobol_ds["output"].values)))
        if target_ci is not None:
            groups["convergence"] = _convergence_dataset(convergence, target_ci)
        for ds in groups.values():
            ds.attrs.update(attrs)
        for group in ("blocks", "samples") if keep_samples else ("blocks",):
            store.set_attrs(path, attrs, group)
        store.write_results(path, groups, {**attrs, **store.invocation(
            command=command, wall_seconds=time.perf_counter() - start, resumed=resumed),
            ownership.USED: R * (N // study.block_points)})
    if keep_samples:
        groups["samples"] = verify.open_samples(path)
    return groups


def _count_measures(path, study: Study, edges, n_level: int, per: int, labels) -> dict:
    """The engine.given_data groups from the counts of the first n_level blocks of each
    design (designs `per` blocks apart), merged in block order."""
    designs = []
    for r in range(study.scramblings):
        counts = sums = None
        for start in range(r * per, r * per + n_level, blocks.MERGE_SLICE):
            more = blocks.read_counts(path, slice(start, min(r * per + n_level,
                                                             start + blocks.MERGE_SLICE)))
            counts, sums = more if counts is None else (counts + more[0], sums + more[1])
        designs.append((counts, sums))
    rows = 2 * study.block_points * n_level * study.scramblings
    return given_data.datasets(study, edges, designs, labels, rows)


def _room_in_store(path: Path, ident: dict) -> dict:
    """The identity to open the store with: the store's own when it is this run's with
    room for more blocks (a --target-ci run's store, run again at a smaller N: its blocks
    are the first blocks of the same sequence), else this run's. Not with several
    scramblings, whose designs' blocks sit at offsets that depend on N."""
    if ident["scramblings"] > 1 or not (path / "zarr.json").exists():
        return ident
    try:
        old = ownership.read_root(path).get(ownership.IDENTITY)
    except StoreError:  # open_or_create refuses it, naming why
        return ident
    if isinstance(old, dict) and old.get("total_blocks", 0) > ident["total_blocks"] and \
            {**old, "total_blocks": ident["total_blocks"]} == ident:
        return old
    return ident


def _indices(study, spec, moments, boot, values, estimator, workers, N, progress=False,
             scrambled=None):
    """(sobol dataset, summary dataset) at N base points (boot: bootstrap Replicates for
    the streaming estimator's intervals, or None; scrambled: each independent
    scrambling's Moments, for intervals = "replicates"; moments: all rows merged)."""
    shape = evaluate.case_shape(study)
    rows = moments.rows.reshape(*shape, len(spec), 5)
    kept = series.kept_series(spec, rows[..., 4])
    total_rows = study.scramblings * N * sampling.rows_per_point(len(study.columns),
                                                                study.second_order)
    reasons = sobol.skip_reasons(rows, total_rows)
    if estimator == "salib":
        rows_values = values.reshape(*shape, len(spec), -1)[..., kept, :]
        arrays = sobol.salib_indices(study, rows_values, reasons[..., kept],
                                     workers=workers, progress=progress)
        arrays.update(sobol.ab_variances(study, rows_values))
    else:
        arrays = sobol.scrambled_indices(study, scrambled, reasons) if scrambled else \
            sobol.streaming_indices(study, moments, reasons, boot)
        arrays = _kept(arrays, kept)
    kept_spec = [s for s, k in zip(spec, kept) if k]
    reasons = sobol.explain_nan(arrays, reasons[..., kept])
    kept_spec, arrays, reasons = sobol.categorical(study, kept_spec, arrays, reasons)
    return (sobol.sobol_dataset(study, kept_spec, arrays, reasons, estimator),
            store.summary_dataset(study, spec, kept, rows, total_rows))


def _kept(arrays: dict, kept: np.ndarray) -> dict:
    """arrays with only the kept series: quantities (*cases, series, D[, D]), variances
    (*cases, series) and the replicates' or designs' own (R, *cases, series[, D])."""
    def take(q, a):
        tail = 2 if q.startswith("S2") else (0 if q.startswith("V") else 1)
        return a[(slice(None),) * (a.ndim - tail - 1) + (kept,)]
    return {q: ({r: take(r, b) for r, b in a.items()} if isinstance(a, dict) else take(q, a))
            for q, a in arrays.items()}


def _widest(result) -> float:
    """Largest ST interval half-width of a level's sobol dataset (NaN-free outputs)."""
    conf = result[0]["sobol_ST_conf"].values
    return float(np.nanmax(conf)) if np.isfinite(conf).any() else 0.0


def _convergence_dataset(levels, target_ci: float) -> xr.Dataset:
    """S1, ST and their half-widths at each N the run reached."""
    names = ["sobol_S1", "sobol_S1_conf", "sobol_ST", "sobol_ST_conf"]
    ds = xr.concat([result[0][names] for _, result in levels], dim="N",
                   coords="minimal", compat="override", join="override")
    ds.coords["N"] = ("N", np.array([N for N, _ in levels]),
                      {"long_name": "base sample count", "units": "1"})
    widest = _widest(levels[-1][1])
    ds.attrs = {"target_ci": target_ci, "target_met": bool(widest <= target_ci),
                "widest_half_width": widest, "N_reached": int(levels[-1][0])}
    return ds
