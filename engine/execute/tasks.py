"""Run block tasks on local threads, local processes (dask) or a dask.distributed cluster.

A task evaluates its blocks, reduces each to streaming statistics (kernels.saltelli) and
writes them into the store itself (store.blocks), so only small results travel. Tasks
carry the study, never sample rows. Progress counts finished blocks: a tqdm bar on a
terminal, "block k/n" lines otherwise; under distributed it follows `as_completed`.
"""
from __future__ import annotations

import ctypes
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import cache, partial

import numpy as np

from reesens.core.lazy_dask import ClusterLost
from reesens.core.progress import Progress
from reesens.evaluate import cases as evaluate
from reesens.evaluate.series import series_values
from reesens.kernels.accelerate import load_numba
from reesens.store import blocks as store_blocks
from reesens.study.registry import Chunk, Plan

_TASK = "reesens-task"
# seconds to reach a running scheduler (a file or an address), and to reach it again
# before the run counts it lost
CONNECT_S = 15
# Worker processes get one thread per numeric library: dask supplies the parallelism.
SINGLE_THREADED = {name: "1" for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS",
                                          "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


@cache
def keep_freed_memory() -> None:
    """Let glibc keep freed blocks of up to 32 MiB for reuse, once per process.

    By default glibc maps every block over 128 KiB afresh and unmaps it when freed, so each
    chunk's arrays (a few MiB, allocated thousands of times over a run) fault in new pages:
    on a 2-core AMD EPYC VM (2026-12-03) that more than doubled the time of evaluating a
    chunk, and page faults from two threads serialise in the kernel. The blocks are reused,
    not added: peak memory rose by under a tenth in the measured runs. No effect where the
    C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
    libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(M_TRIM_THRESHOLD, 128 << 20)


def blocks_task(designs: list[Plan], statistics, contexts, block_ids, path,
                keep_samples: bool, per: int) -> None:
    """Evaluate each block, add its rows to every statistic (study.registry) and store
    them (with `keep_samples`, its rows too). Store block i is block i % per of design
    i // per (`designs`: the plan of each independent scrambling, `per` the store's
    blocks per design).

    A block is evaluated EVAL_POINTS base points at a time, each chunk added to the
    statistics in order, so the bytes depend on the block size only; when every
    statistic adds whole blocks itself (Statistic.fused), each takes the block in one call.
    """
    keep_freed_memory()
    plan = designs[0]
    spec, bp = list(plan.spec), plan.study.block_points
    units = store_blocks.block_units(plan.study, statistics, plan, keep_samples)
    fused = not keep_samples and all(s.fused(plan, c) for s, c in zip(statistics, contexts))
    for stored in block_ids:
        if store_blocks.block_done(path, stored):  # a lost worker's task, run again, whose
            continue                               # block was written: never twice
        plan, block = designs[stored // per], stored % per
        study = plan.study
        states = [s.start(plan, c) for s, c in zip(statistics, contexts)]
        rows = []
        if fused:
            for s, c, state in zip(statistics, contexts, states):
                s.add_block(state, plan, c, block * bp, bp)
        for start in range(block * bp, (block + 1) * bp if not fused else block * bp,
                           evaluate.EVAL_POINTS):
            points = min(evaluate.EVAL_POINTS, (block + 1) * bp - start)
            out = evaluate.evaluate_points(study, start, points)
            chunk = Chunk(start, points, out, series_values(spec, out))
            for s, c, state in zip(statistics, contexts, states):
                s.add(state, plan, c, chunk)
            if keep_samples:
                rows.append(out)
        arrays = {}
        for s, c, state in zip(statistics, contexts, states):
            arrays.update(s.stored(state, plan, c))
        kept = None
        if keep_samples:
            kept = {name: np.concatenate([o[name] for o in rows], axis=-1)
                    for name in study.outputs}
            kept["_params"] = np.concatenate([o["_params"] for o in rows], axis=1)
        store_blocks.write_block(path, study, stored, units, arrays, kept)


def load_kernels(plan: Plan, statistics, contexts) -> Future:
    """Run every kernel of a block once on one base point, in a thread: numba's first call
    in a process costs ~0.3 s, which then overlaps the store's set-up. Call .result()
    before running blocks on local threads. numba itself is imported here, in the calling
    thread, so that no other import runs beside its own."""
    load_numba()

    def one_point():
        if all(s.fused(plan, c) for s, c in zip(statistics, contexts)):
            for s, c in zip(statistics, contexts):
                s.add_block(s.start(plan, c), plan, c, 0, 1)
            return
        out = evaluate.evaluate_points(plan.study, 0, 1)
        chunk = Chunk(0, 1, out, series_values(list(plan.spec), out))
        for s, c in zip(statistics, contexts):
            s.add(s.start(plan, c), plan, c, chunk)

    pool = ThreadPoolExecutor(1)
    future = pool.submit(one_point)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return future


def run_blocks(designs: list[Plan], statistics, contexts, todo, path, *, per: int,
               workers: int = 1, scheduler="threads", client=None, blocks_per_task: int = 1,
               keep_samples=False, progress: Progress | None = None) -> None:
    """Run the store's blocks `todo` (block i: block i % per of design i // per, see
    blocks_task) into the store at `path`, `blocks_per_task` blocks per task, every
    design's in one pool.

    `scheduler` is "threads" or "processes" (dask's local schedulers, `workers` of them);
    a dask.distributed `client` takes precedence.
    """
    groups = [list(todo[i:i + blocks_per_task]) for i in range(0, len(todo), blocks_per_task)]
    run_tasks(blocks_task, (designs, statistics, contexts), groups,
              (str(path), keep_samples, per), name=designs[0].study.name,
              workers=workers, scheduler=scheduler, client=client, progress=progress)


def run_tasks(function, shared: tuple, groups: list[list[int]], extra: tuple = (), *,
              name: str, workers: int = 1, scheduler="threads", client=None,
              progress: Progress | None = None) -> list:
    """[function(*shared, group, *extra) for group in groups], run on `workers` local
    threads or (scheduler "processes") dask's local processes, or on a dask.distributed
    `client`.

    Each group is a list of item ids (blocks, grid chunks); progress advances by a group's
    length when it finishes. `shared` (the study, ...) enters a dask graph once.
    """
    keys = [f"{_TASK}-{name}-{g[0]}-{len(g)}" for g in groups]
    progress = progress or Progress(0, False)
    if client is None and scheduler == "threads":
        return _run_threads(function, shared, groups, extra, workers, progress)
    if client is None:
        return _run_processes(function, shared, groups, extra, keys, workers, progress)
    from distributed import as_completed
    require_shared_store(client, extra[0])
    results = [None] * len(groups)
    try:
        futures = {client.submit(function, *shared, g, *extra, key=k, pure=False): i
                   for i, (g, k) in enumerate(zip(groups, keys))}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            progress.advance(len(groups[futures[future]]))
            future.release()
    except Exception as e:
        if client.status in ("running", "connecting") and client.scheduler_info().get(
                "workers"):
            raise  # the task's own error
        # a lost scheduler empties the client's view of the workers too: one message
        raise ClusterLost(f"the dask scheduler at {client.scheduler.address}, or every "
                          f"worker, is gone ({type(e).__name__})") from None
    return results


def require_shared_store(client, path: str) -> None:
    """Refuse, before any task, a cluster whose workers (those there once the first has
    come) see no store at `path` or another one than this process does (the store is not
    on a filesystem they share)."""
    from reesens.store import integrity
    from reesens.store.ownership import StoreError
    here = integrity.store_key(path)
    client.wait_for_workers(1)  # a job queue's first worker: no block runs before it
    seen = client.run(_store_key_or_none, path)
    blind = sorted(w for w, key in seen.items() if key != here)
    if blind:
        raise StoreError(f"{path}: {len(blind)} of the {len(seen)} dask workers see no such "
                         f"store, or another ({', '.join(blind[:2])}"
                         f"{', ...' if len(blind) > 2 else ''}); workers need the store on "
                         "a filesystem they share with this process (give --out a path "
                         "there)")


def _store_key_or_none(path: str) -> str | None:
    """On a worker: the key of the store it sees at `path`, or None."""
    from reesens.store import integrity
    try:
        return integrity.store_key(path)
    except (OSError, ValueError):
        return None


def _run_threads(function, shared, groups, extra, workers, progress) -> list:
    """run_tasks on `workers` local threads, without dask (its import costs ~0.3 s). A task
    starts only when a thread is free, and none starts after one has failed (or after
    Ctrl-C): the running ones finish, and the first failure is raised."""
    results = [None] * len(groups)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        queue = iter(enumerate(groups))
        running = {}

        def start_next() -> None:
            i, group = next(queue, (None, None))
            if group is not None:
                running[pool.submit(function, *shared, group, *extra)] = i

        for _ in range(max(1, workers)):
            start_next()
        # on a failure or Ctrl-C nothing more starts; leaving `with` waits for the running
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                i = running.pop(future)
                results[i] = future.result()  # raises the task's exception
                progress.advance(len(groups[i]))
                start_next()
    return results


def _run_processes(function, shared, groups, extra, keys, workers, progress) -> list:
    """run_tasks on dask's local process pool, `workers` processes that die with us."""
    import dask
    from dask.callbacks import Callback
    from dask.multiprocessing import get

    class Advance(Callback):
        def _posttask(self, key, result, dsk, state, id):
            if str(key).startswith(_TASK):
                progress.advance(int(str(key).rsplit("-", 1)[1]))

    # one graph node per shared object: dask would otherwise walk it for every task
    nodes = [dask.delayed(x, traverse=False) for x in shared]
    tasks = [dask.delayed(function, traverse=False)(*nodes, g, *extra, dask_key_name=k)
             for g, k in zip(groups, keys)]
    with Advance():
        # the scheduler's function, not its name: a name makes dask import distributed
        # (~0.3 s) to look for a client
        return list(dask.compute(*tasks, scheduler=get, num_workers=workers,
                                 initializer=partial(die_with_parent, os.getpid())))


def die_with_parent(parent: int) -> None:
    """In a local worker process: be killed when the parent process dies (Linux's
    PR_SET_PDEATHSIG), so that no worker writes blocks once the run that holds the store's
    lock is gone, even after kill -9; exit at once if the parent is already gone."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def connect(*, scheduler_address=None, scheduler_file=None, cluster=None, workers=1):
    """A dask.distributed Client for the options given, or None for local threads.

    `cluster` ("slurm" or "pbs") starts a dask-jobqueue cluster from the user's jobqueue
    configuration (~/.config/dask/jobqueue.yaml) and scales it to `workers` jobs.
    """
    if not (scheduler_address or scheduler_file or cluster):
        return None
    import logging

    from distributed import Client
    # a lost scheduler is one line (ClusterLost), not the client's reconnection log
    # (distributed's configuration gives some of its loggers levels of their own)
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.startswith("distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    if scheduler_address or scheduler_file:
        return Client(address=scheduler_address, scheduler_file=scheduler_file,
                      timeout=CONNECT_S)
    job_cluster = jobqueue_cluster(cluster)
    job_cluster.scale(jobs=workers)
    return Client(job_cluster)


def jobqueue_cluster(kind: str):
    """A dask-jobqueue SLURM or PBS cluster (no jobs yet) whose job scripts make numba
    and BLAS single-threaded; the rest comes from the user's jobqueue configuration."""
    import dask_jobqueue
    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    return cls(job_script_prologue=[f"export {k}={v}" for k, v in SINGLE_THREADED.items()],
               scheduler_options={"dashboard_address": None})

