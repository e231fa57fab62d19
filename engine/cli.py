"""`reesens validate|run|show`: the command line over engine.study, engine.run, engine.report."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from engine import report, run, store
from engine.study import StudyError, load


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reesens", description=(
        "Monte Carlo Sobol' sensitivity studies of game-theoretic rare-earth trade models."))
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a study file, run nothing")
    validate.add_argument("study", type=Path)
    run_ = commands.add_parser("run", help="run a study and write its zarr store")
    run_.add_argument("study", type=Path)
    run_.add_argument("--out", type=Path, help="store path (default results/<study>.zarr)")
    run_.add_argument("--n", type=int, dest="N", help="base sample count (power of two)")
    run_.add_argument("--second-order", action="store_true", default=None,
                      help="also compute second-order indices")
    run_.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                      help="threads (default: one per core)")
    run_.add_argument("--keep-samples", action="store_true",
                      help="store the parameter rows and outputs (group `samples`)")
    run_.add_argument("--quiet", action="store_true", help="no progress lines")
    show = commands.add_parser("show", help="print the ranking table of a store")
    show.add_argument("store", type=Path)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            study = load(args.study)
            print(f"{args.study}: ok ({study.name}: {len(study.sampled)} sampled parameters, "
                  f"N = {study.N})")
            return 0
        if args.command == "run":
            if args.workers < 1:
                raise run.StoreError(f"--workers must be >= 1, got {args.workers}")
            study = load(args.study, N=args.N, second_order=args.second_order)
            groups = run.run(study, out=args.out, workers=args.workers,
                             keep_samples=args.keep_samples, progress=not args.quiet,
                             command=shlex.join(["reesens", *argv]))
            path = args.out or run.default_store(study)
            print(report.table(groups["sobol"]))
            print(report.drivers(groups["sobol"]))
            print(f"store: {path} (wall time {groups['sobol'].attrs['wall_time_s']:.1f} s)")
            return 0
        if not (args.store / "zarr.json").exists():
            print(f"{args.store}: not a reesens results store", file=sys.stderr)
            return 2
        sobol_ds = store.open_group(args.store, "sobol")
        print(report.table(sobol_ds))
        print(report.drivers(sobol_ds))
        return 0
    except (StudyError, run.StoreError) as e:
        print(e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
