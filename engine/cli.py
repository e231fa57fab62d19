"""`reesens validate|run|grid|show|report|export|verify`: the command line over
study.parse, runs.montecarlo, runs.grid, present.report, present.export and store.verify.

Every expected failure (a bad study, a path that cannot take a store, a damaged store, an
OS error such as a full disk) is one line on stderr naming the file or path and what to
do, with exit status 2; a traceback means a bug.
"""
from __future__ import annotations

import argparse
import errno
import gc
import math
import os
import shlex
import signal
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

from reesens import commands as front
from reesens.core import lazy_dask
from reesens.core import progress as progress_lines
from reesens.methods.tables import ReportError
from reesens.store.integrity import IntegrityError
from reesens.store.ownership import StoreError
from reesens.study.schema import StudyError

EXPECTED = (StudyError, StoreError, IntegrityError, ReportError)
# what to do about an OS error, by errno; {again}: how to carry on, by command (AGAIN)
OS_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space, then {again}",
    errno.EDQUOT: "the disk quota is used up: free some space, then {again}",
    errno.EROFS: "a read-only file system: choose another --out",
    errno.EACCES: "permission denied: choose another --out or fix the permissions",
    errno.EPERM: "not permitted: choose another --out or fix the permissions",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter --out",
}
AGAIN = {"run": "run the same command with --resume (finished blocks are kept)",
         "grid": "run the same command with --resume (finished chunks are kept)"}
AGAIN_DEFAULT = "run the same command again"  # report, export: they write whole files
READING = ("validate", "show", "verify", "export")  # commands that only read (and export)


def _parser(argv) -> argparse.ArgumentParser:
    """The top-level parser with the options of the command that argv names: only that
    command's modules are imported."""
    parser, sub = front.parser()
    command = _command(argv)
    if command is not None:
        OPTIONS[command](sub[command])
    return parser


def _command(argv) -> str | None:
    """The command argv names: its first command name (None: none)."""
    return next((a for a in argv if a in front.COMMAND_HELP), None)


def _validate_options(validate) -> None:
    validate.add_argument("study", type=Path)


def _run_options(run_) -> None:
    from reesens.study import registry
    from reesens.study.schema import ESTIMATORS, INTERVALS

    run_.add_argument("study", type=Path)
    run_.add_argument("--out", type=Path, help="store path (default results/<study>.zarr)")
    run_.add_argument("--n", type=int, dest="N", help="base sample count (power of two)")
    run_.add_argument("--second-order", action="store_true", default=None,
                      help="also compute second-order indices")
    run_.add_argument("--estimator", choices=ESTIMATORS,
                      help="salib (rows in memory, SALib's bootstrap intervals), streaming "
                           "(block statistics, see --intervals) or auto (the study's choice; "
                           "default: streaming)")
    run_.add_argument("--intervals", choices=INTERVALS,
                      help="the streaming estimator's intervals: delta (delta method), "
                           "replicates (Student t over [analysis] scramblings independent "
                           "scramblings, N split among them), bootstrap (Poisson bootstrap, "
                           "[analysis] resamples replicates) or auto (replicates where N "
                           "splits into them, else delta; the default)")
    run_.add_argument("--methods", type=lambda text: [m.strip() for m in text.split(",")],
                      help="what to compute, comma-separated from "
                      + ", ".join(m.name for m in registry.methods("saltelli"))
                           + " (sobol always; default: the study's [analysis] methods)")
    _execution_options(run_, "blocks")
    run_.add_argument("--keep-samples", action="store_true",
                      help="store the parameter rows and outputs (group `samples`)")
    run_.add_argument("--target-ci", type=float,
                      help="double N until every ST interval half-width is <= this")
    run_.add_argument("--max-n", type=int, dest="max_N",
                      help="largest N for --target-ci (default 64 times the study's N)")
    _report_option(run_)


def _grid_options(grid) -> None:
    grid.add_argument("study", type=Path)
    grid.add_argument("--out", type=Path, help="store path (default results/<study>-grid.zarr)")
    _execution_options(grid, "chunks")
    _report_option(grid)


def _show_options(show) -> None:
    show.add_argument("store", type=Path)
    show.add_argument("--second-order", action="store_true",
                      help="print the second-order indices S2 with their intervals")


def _verify_options(verify_) -> None:
    verify_.add_argument("store", type=Path)


def _export_options(export_) -> None:
    from reesens.present import export

    export_.add_argument("store", type=Path)
    export_.add_argument("--format", choices=("csv", "parquet"),
                         help="default: from --out's suffix, else csv; parquet needs pyarrow "
                              "(pip install \"reesens[parquet]\")")
    export_.add_argument("--group", default=export.groups()[0], choices=export.groups(),
                         help=f"a method's result group: {', '.join(export.groups())} "
                              f"(default {export.groups()[0]})")
    export_.add_argument("--out", type=Path, help="file (default <store>-<group>.<format>)")
    export_.add_argument("--overwrite", action="store_true", help="replace an existing file")


def _report_options(report_) -> None:
    from reesens.present import style

    report_.add_argument("store", type=Path)
    report_.add_argument("--out", type=Path, help="directory (default <store>-report)")
    report_.add_argument("--quiet", action="store_true", help="no progress lines")
    report_.add_argument("--format", choices=style.FORMATS, default="png",
                         help="figure format (default png; pdf embeds its fonts)")
    report_.add_argument("--dpi", type=int, default=style.DPI,
                         help=f"resolution of png figures (default {style.DPI})")
    report_.add_argument("--outputs", nargs="+", action="extend", metavar="NAME",
                         help="only these outputs, space- or comma-separated, repeatable "
                              "(an output name takes all its indicators, e.g. eq)")
    report_.add_argument("--slice", action="append", default=[], metavar="PARAM=VALUE",
                         help="grid stores: draw phase diagrams at this value of PARAM "
                              "(the nearest grid value; repeatable; default: middle values)")


OPTIONS = {"validate": _validate_options, "run": _run_options, "grid": _grid_options,
           "show": _show_options, "verify": _verify_options, "export": _export_options,
           "report": _report_options}


def _report_option(parser) -> None:
    parser.add_argument("--report", nargs="?", const=True, type=Path, metavar="DIR",
                        help="then write the report as `reesens report` does (into DIR, "
                             "default <store>-report)")


def _execution_options(parser, unit: str) -> None:
    """Options shared by `run` and `grid`: where tasks run, resuming, progress."""
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="local threads or processes (default: one per core); jobs with "
                             "--cluster")
    parser.add_argument("--scheduler", choices=("threads", "processes"), default="threads",
                        help="local dask scheduler (default threads)")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler-address",
                         help="a running dask scheduler, tcp://host:port")
    cluster.add_argument("--scheduler-file", type=Path, help="a dask scheduler file")
    cluster.add_argument("--cluster", choices=("slurm", "pbs"),
                         help="start a dask-jobqueue cluster (see README)")
    parser.set_defaults(per_task_flag=f"--{unit}-per-task")
    parser.add_argument(f"--{unit}-per-task", type=int, default=1, dest="per_task",
                        help=f"{unit} evaluated by one task (fewer, larger tasks on a "
                             "cluster)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the store at --out (a re-run onto a store of the same "
                             "run resumes too); an error if there is none")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a store that holds another run")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _connect(args):
    """The dask.distributed client the options ask for (None: local), after checks."""
    from reesens.execute import tasks as parallel
    from reesens.runs import options

    options.check_execution(workers=args.workers, per_task=args.per_task,
                            per_task_flag=args.per_task_flag)
    return parallel.connect(scheduler_address=args.scheduler_address,
                            scheduler_file=args.scheduler_file, cluster=args.cluster,
                            workers=args.workers)


def _run(args, argv) -> int:
    from reesens.present import report
    from reesens.runs import montecarlo as run
    from reesens.runs import options
    from reesens.store import layout as store
    from reesens.study.parse import load

    study = load(args.study, N=args.N, second_order=args.second_order,
                 estimator=args.estimator, intervals=args.intervals, methods=args.methods)
    options.check_run(study, target_ci=args.target_ci, max_N=args.max_N,
                      keep_samples=args.keep_samples, workers=args.workers,
                      blocks_per_task=args.per_task)
    client = _connect(args)
    try:
        groups = run.run(study, out=args.out, workers=args.workers,
                         keep_samples=args.keep_samples, progress=not args.quiet,
                         command=shlex.join(["reesens", *argv]), scheduler=args.scheduler,
                         client=client, blocks_per_task=args.per_task,
                         overwrite=args.overwrite, resume=args.resume,
                         target_ci=args.target_ci, max_N=args.max_N)
    finally:
        if client is not None:
            client.close()
    path = args.out or store.default_store(study)
    print(report.show(groups))
    root = store.root_attrs(path)
    if study.design == "morris":
        print(f"store: {path} ({root['trajectories']} Morris trajectories, wall time "
              f"{root['wall_time_s']:.1f} s)")
        return _then_report(args, path)
    print(f"store: {path} (N = {root['N']}, {root['estimator']} estimator, "
          f"wall time {root['wall_time_s']:.1f} s)")
    return _then_report(args, path)


def _then_report(args, path) -> int:
    """`--report [DIR]`: the report of the store just written."""
    from reesens.present import report

    if args.report is not None:
        _print_report(report.write_report(path, None if args.report is True else args.report,
                                          progress=not args.quiet))
    return 0


def _grid(args, argv) -> int:
    from reesens.present import report
    from reesens.runs import grid
    from reesens.store import layout as store
    from reesens.study.parse import load

    study = load(args.study)
    client = _connect(args)
    try:
        cube = grid.run_grid(study, out=args.out, workers=args.workers,
                             scheduler=args.scheduler, client=client,
                             chunks_per_task=args.per_task, progress=not args.quiet,
                             overwrite=args.overwrite, resume=args.resume,
                             command=shlex.join(["reesens", *argv]))
    finally:
        if client is not None:
            client.close()
    path = args.out or grid.default_store(study)
    root = store.root_attrs(path)
    print(f"store: {path} (grid {report.grid_dims(cube)} = {root['cells']:,} cells, "
          f"wall time {root['wall_time_s']:.1f} s)")
    return _then_report(args, path)


def _validate(args) -> int:
    from reesens.runs import limits
    from reesens.runs.options import choose_estimator
    from reesens.store import layout as store
    from reesens.study.parse import load

    study = load(args.study)
    workers = os.cpu_count() or 1
    runs = []
    if study.sampled and study.design == "morris":
        needs = limits.check_morris(study, store.default_store(study), workers)
        T = study.optimal_trajectories or study.trajectories
        best = f" (the {T} most spread)" if study.optimal_trajectories else ""
        runs.append(f"{len(study.sampled)} sampled parameters, Morris {study.trajectories} "
                    f"trajectories on {study.levels} levels{best}, " + _estimate(
                        study, needs, limits.morris_seconds(study, workers),
                        limits.workers_text(workers, limits.morris_blocks(study))))
    elif study.sampled:
        options = dict(N=study.design_N, estimator=choose_estimator(study),
                       workers=workers)
        needs = limits.check_run(study, store.default_store(study), keep_samples=False,
                                 **options)
        blocks = study.N // study.block_points
        runs.append(f"{len(study.sampled)} sampled parameters, N = {study.N}"
                    + (f" ({study.scramblings} scramblings of {study.design_N})"
                       if study.scramblings > 1 else "") + ", " + _estimate(
                        study, needs, limits.run_seconds(study, **options),
                        limits.workers_text(workers, blocks)))
    if study.grid:
        from reesens.runs import grid

        plan = grid.GridPlan.of(study)
        needs = limits.check_grid(study, grid.default_store(study), workers,
                                  share=grid.stored_share(study))
        at_most = limits.total(limits.grid_needs(study, workers), "disk")
        runs.append(f"grid {' x '.join(f'{d} {n}' for d, n in zip(plan.dims, plan.shape))} "
                    f"= {math.prod(plan.shape):,} cells, " + _estimate(
                        study, needs, limits.grid_seconds(study, workers),
                        limits.workers_text(workers, plan.n_chunks),
                        disk=f"about {{}} of disk (as {grid.SAMPLE_CHUNKS} pieces of it "
                             f"compress, with room to spare; at most {limits.size(at_most)})"))
    named = isinstance(study.raw.get("model"), dict) and "name" in study.raw["model"]
    model = f"model {study.model.name}" + ("" if named else " (the default: the study names "
                                                          "no [model] name)")
    print(f"{args.study}: ok ({study.name}, {model}: {'; '.join(runs)})")
    return 0


def _estimate(study, needs, seconds: float, on_workers: str,
              disk: str = "at most {} of disk") -> str:
    """"needs about 34 MB of memory and at most 251 kB of disk, roughly 40 seconds on 2
    workers"; `disk` words the disk figure ({}: the estimate)."""
    from reesens.runs import limits

    return (f"needs about {limits.size(limits.total(needs, 'memory'))} of memory and "
            f"{disk.format(limits.size(limits.total(needs, 'disk')))}, roughly "
            f"{limits.duration(seconds)} {on_workers}{limits.time_note(study)}")


def _show(args) -> int:
    from reesens.present import report
    from reesens.store import cube as cube_store
    from reesens.store import layout as store
    from reesens.store import verify

    groups = verify.require_intact(args.store, cells=False)
    if "grid" in groups:
        cube = verify.open_grid(args.store, dask=False)
        root = store.root_attrs(args.store)
        print(f"grid: {report.grid_dims(cube)} = {int(root['cells']):,} cells")
        for variable, shares in report.code_shares(
                cube, cube_store.stored_counts(args.store)).items():
            print(f"{variable}: {shares}")
        return 0
    print(report.show({g: verify.open_group(args.store, g) for g in groups},
                      second_order=args.second_order))
    return 0


def _verify(args) -> int:
    from reesens.store import verify

    problems, lines = verify.verify(args.store)
    print("\n".join(lines))
    return 1 if problems else 0


def _os_error(e: OSError, command: str) -> str:
    """One line: where the error is and what to do about it after `command`."""
    where = e.filename or "reesens"
    if e.errno in OS_ADVICE:
        return f"{where}: {OS_ADVICE[e.errno].format(again=AGAIN.get(command, AGAIN_DEFAULT))}"
    return f"{where}: {e.strerror or e}"


COMMANDS = {"validate": lambda args, argv: _validate(args), "run": _run, "grid": _grid,
            "show": lambda args, argv: _show(args),
            "verify": lambda args, argv: _verify(args),
            "report": lambda args, argv: _report(args),
            "export": lambda args, argv: _export(args)}


def _export(args) -> int:
    from reesens.present import export

    path = export.export(args.store, args.out, format=args.format, group=args.group,
                         overwrite=args.overwrite)
    print(f"export: {path}")
    return 0


def _report(args) -> int:
    from reesens.present import report

    if args.dpi < 10 or args.dpi > 1200:
        raise ReportError(f"--dpi must be within [10, 1200], got {args.dpi}")
    slices = {}
    for text in args.slice:
        name, _, value = text.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or not name.strip():
            raise ReportError(f"--slice {text}: expected PARAM=VALUE, e.g. p=0.5")
        slices[name.strip()] = number
    _print_report(report.write_report(args.store, args.out, progress=not args.quiet,
                                      fmt=args.format, dpi=args.dpi,
                                      outputs=_names(args.outputs), slices=slices))
    return 0


def _names(given: list[str] | None) -> list[str] | None:
    """--outputs as given (space- or comma-separated, repeated): the names, or None."""
    return [n.strip() for text in given for n in text.split(",") if n.strip()] \
        if given else None


def _print_report(files) -> None:
    print(f"report: {len(files)} files in {files[-1].parent}: "
          + ", ".join(f.name for f in files))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv).parse_args(argv)
    # xarray without dask: not on a cluster, and not for validate (which opens no store)
    plain = args.command == "validate" or any(
        getattr(args, a, None) for a in ("scheduler_address", "scheduler_file", "cluster"))
    main_thread = threading.current_thread() is threading.main_thread()
    progress_lines.INTERRUPTED.clear()  # a Ctrl-C of an earlier command in this process
    previous = signal.signal(signal.SIGINT, progress_lines.interrupt) if main_thread \
        else None
    try:
        try:
            with nullcontext() if plain else lazy_dask.xarray_without_dask():
                status = COMMANDS[args.command](args, argv)
            sys.stdout.flush()  # a reader that has gone (`| head`) fails here, not at exit
            return status
        except BaseException:
            _quiet_leftovers()
            raise
    except EXPECTED as e:
        print(e, file=sys.stderr)
    except BrokenPipeError:  # the reader (`| head`) has gone: nothing more to tell it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as e:
        print(_os_error(e, args.command), file=sys.stderr)
    except KeyboardInterrupt:
        print(f"reesens: interrupted; {_resume_hint(args.command, argv)}", file=sys.stderr)
        return 130
    except lazy_dask.ClusterLost as e:
        print(f"reesens: {e}; {_resume_hint(args.command, argv)}", file=sys.stderr)
    except MemoryError:
        print("reesens: out of memory; `reesens validate STUDY` estimates what a study "
              "needs (a smaller block_points, N or fewer --workers need less)",
              file=sys.stderr)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, signal.default_int_handler if previous is None
                          else previous)
    return 2


def _quiet_leftovers() -> None:
    """After a failure, which the command reports in one line: no traceback of zarr's
    concurrent writes that failed beside it, whose exceptions nothing retrieves (asyncio
    logs them when they are collected: "Future exception was never retrieved")."""
    import logging
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def _resume_hint(command: str, argv) -> str:
    """How to carry on after an interruption: the same command with --resume for a run or
    a grid (what is finished is kept), else the same command again."""
    if command not in AGAIN:
        return f"{AGAIN_DEFAULT}: {shlex.join(['reesens', *argv])}"
    again = [*argv] + ([] if "--resume" in argv else ["--resume"])
    again = [a for a in again if a != "--overwrite"]  # --overwrite would start afresh
    kept = "blocks" if command == "run" else "chunks"
    return f"finished {kept} are kept; resume with: {shlex.join(['reesens', *again])}"


def command_line() -> int:
    """A command, as the console script (reesens.__main__) runs it: main(), then
    gc.freeze(), so that the interpreter's last collections at exit skip the run's objects
    (~0.8 s of a small run on the development VM); the process ends at once and the
    system reclaims its memory. The commands that only read (READING) run without the
    cyclic garbage collector: it would traverse the objects their imports create (xarray,
    pandas, zarr: 0.05-0.1 s of a small store's `show`), which live to the end; what they
    read is freed by reference counting."""
    if _command(sys.argv[1:]) in READING:
        gc.disable()
    status = main()
    gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(command_line())
