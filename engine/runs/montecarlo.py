"""One study run: blocks into a crash-safe store, then indices and summaries.

The command line is a thin layer over :func:`run`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from reesens.core.progress import Progress
from reesens.design import sampling
from reesens.evaluate import series
from reesens.execute import tasks as parallel
from reesens.runs import limits, morris, options, setup
from reesens.runs.options import choose_estimator
from reesens.store import blocks, ownership, verify
from reesens.store import layout as store
from reesens.store.ownership import StoreError
from reesens.study import registry
from reesens.study.registry import Plan
from reesens.study.schema import Study


@dataclass
class Level:
    """What a method's results see of the run at one N (study.registry.Method.results):
    base points per design, workers and progress for its own work, the context each
    statistic prepared, the groups computed so far, and the run's output labels (those
    of the first group computed)."""

    N: int
    workers: int
    progress: bool
    contexts: dict
    groups: dict = field(default_factory=dict)

    @property
    def outputs(self) -> list[str]:
        first = next(iter(self.groups.values()))
        return list(first["output"].values)


def merged_statistics(path, plan: Plan, statistics, contexts, n_blocks: int,
                      first: int = 0) -> dict:
    """{statistic name: merged value} of blocks [first, first + n_blocks), read back a
    slice of blocks at a time and merged in block order."""
    merged = {}
    for s, c in zip(statistics, contexts):
        names, value = s.names(plan), None
        for start in range(first, first + n_blocks, s.read_slice):
            stop = min(first + n_blocks, start + s.read_slice)
            value = s.merge(plan, c, blocks.read_blocks(path, names, slice(start, stop),
                                                        s.what), value)
        merged[s.name] = value
    return merged


def run(study: Study, *, out=None, workers: int = 1, keep_samples: bool = False,
        progress: bool = True, command: str = "", scheduler: str = "threads", client=None,
        blocks_per_task: int = 1, overwrite: bool = False, resume: bool = False,
        target_ci: float | None = None, max_N: int | None = None) -> dict:
    """Run the study into its store (resuming one of the same run); returns {group: Dataset}.

    Every method the study asks for (study.registry) reads the statistics the run
    computes block by block. With `target_ci`, N doubles from the study's N up to `max_N`
    (default TARGET_GROWTH times N) until the widest interval half-width of the method
    that steers it (the Sobol' indices' ST) is <= target_ci; each N's estimates go to its
    convergence group, whose attrs say whether the target was met.
    """
    start = time.perf_counter()
    options.check_run(study, target_ci=target_ci, max_N=max_N, keep_samples=keep_samples,
                      workers=workers, blocks_per_task=blocks_per_task)
    if study.design == "morris":
        return morris.run_morris(study, out=out, workers=workers, progress=progress,
                                 command=command, scheduler=scheduler, client=client,
                                 overwrite=overwrite, resume=resume)
    path = ownership.output_path(out, store.default_store(study), resume=resume)
    R = study.scramblings  # independent scramblings: design r is blocks [r per, (r + 1) per)
    levels = [N // R for N in options.levels(study, target_ci, max_N)]  # per design
    estimator = "streaming" if target_ci is not None else choose_estimator(study)
    plan = series.plan(study, estimator)
    statistics = registry.statistics(plan)
    methods = registry.selected(study)
    steering = next(m for m in methods if m.widest is not None) if target_ci else None
    per = levels[-1] // study.block_points
    total_blocks = R * per
    ident = blocks.identity(plan, registry.statistics(), keep_samples=keep_samples,
                            total_blocks=total_blocks, scramblings=R)
    limits.check_run(study, path, N=levels[-1], estimator=estimator, workers=workers,
                     keep_samples=keep_samples,
                     done=limits.units_done(path, ident, "blocks", "block_done",
                                            total_blocks),
                     target=target_ci is not None)
    designs = [replace(plan, study=replace(study, seed=sampling.scrambling_seed(study.seed, r)))
               for r in range(R)]
    contexts = [s.prepare(plan) for s in statistics]
    kernels = parallel.load_kernels(plan, statistics, contexts) \
        if client is None and scheduler == "threads" else None
    with setup.opened(path, ident, lambda p, ident: blocks.write_template(
            p, plan, statistics, contexts, ident["total_blocks"], keep_samples),
            groups=("blocks", "samples"), units="blocks", unit="block", overwrite=overwrite,
            command=command or f"reesens run {study.path} --out {path}",
            room=_room_in_store) as opened:
        done, resumed = opened.done, opened.resumed
        bar = Progress(R * per, progress, int(done[:R * per].sum()))  # this run's
        if kernels is not None:
            kernels.result()
        try:
            reached = _levels(path, plan, designs, statistics, contexts, methods, levels,
                              done, per, steering, target_ci, bar, workers=workers,
                              scheduler=scheduler, client=client,
                              blocks_per_task=blocks_per_task, keep_samples=keep_samples,
                              progress=progress)
        finally:
            bar.close()
        N, groups = reached[-1]
        if steering is not None:  # the other methods' results at the N reached
            level = _results(path, plan, statistics, contexts, methods, N, R, per, workers,
                             progress, last=True, groups=groups)
            groups = {**level.groups, **steering.convergence(
                [(n * R, g) for n, g in reached], target_ci)}  # N: all designs' points
        _write(path, plan, groups, N, keep_samples=keep_samples, command=command,
               wall_seconds=time.perf_counter() - start, resumed=resumed)
    if keep_samples:
        groups["samples"] = verify.open_samples(path)
    return groups


def _write(path, plan: Plan, groups: dict, N: int, *, keep_samples: bool, command: str,
           wall_seconds: float, resumed: bool) -> None:
    """The results groups with the run's provenance, the template groups' attributes, and
    the root's record of this invocation and of the blocks the results use."""
    study = plan.study
    attrs = store.provenance(study, N=N * study.scramblings, estimator=plan.estimator)
    for ds in groups.values():
        ds.attrs.update(attrs)
    for group in ("blocks", "samples") if keep_samples else ("blocks",):
        store.set_attrs(path, attrs, group)
    store.write_results(path, groups, {**attrs, **store.invocation(
        command=command, wall_seconds=wall_seconds, resumed=resumed),
        ownership.USED: study.scramblings * (N // study.block_points)})


def _levels(path, plan: Plan, designs, statistics, contexts, methods, levels, done, per: int,
            steering, target_ci, bar, *, workers, scheduler, client, blocks_per_task,
            keep_samples, progress) -> list:
    """[(N, groups)]: each N's blocks still to do (design r at store blocks r * per + b),
    then the results, until the steering method's widest half-width meets target_ci
    (without a target, the one N's whole results)."""
    reached = []
    for N in levels:
        n_level = N // plan.study.block_points
        todo = [r * per + b for r in range(len(designs)) for b in range(n_level)
                if not done[r * per + b]]
        parallel.run_blocks(designs, statistics, contexts, todo, path, per=per,
                            workers=workers, scheduler=scheduler, client=client,
                            blocks_per_task=blocks_per_task, keep_samples=keep_samples,
                            progress=bar)
        done[todo] = True
        level = _results(path, plan, statistics, contexts, methods, N, len(designs), per,
                         workers, progress, last=steering is None)
        reached.append((N, level.groups))
        if steering is None or steering.widest(level.groups) <= target_ci:
            break
    return reached


def _results(path, plan: Plan, statistics, contexts, methods, N: int, R: int, per: int,
             workers: int, progress: bool, *, last: bool, groups=None) -> Level:
    """Each method's groups at N base points per design, from each design's statistics
    (design r: blocks [r * per, r * per + N / block_points)). Until the `last` level,
    only the method that steers a --target-ci run; `groups`: those already computed at
    this N."""
    n_level = N // plan.study.block_points
    by_design = [merged_statistics(path, plan, statistics, contexts, n_level, first=r * per)
                 for r in range(R)]
    merged = {s.name: [d[s.name] for d in by_design] for s in statistics}
    level = Level(N, workers, progress, {s.name: c for s, c in zip(statistics, contexts)},
                  dict(groups or {}))
    for method in methods:
        if method.groups[0] in level.groups or not (last or method.widest is not None):
            continue
        level.groups.update(method.results(plan, merged, level))
    return level


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
