"""make bench-regress: the kernel, pipeline, grid and start-up asv suites at a base commit
(default: the previous one) and at HEAD, in one sitting, through asv's `compare`; exits 1
where a benchmark got more than FACTOR times slower.

Each commit is checked out beside the repository (a git worktree under .asv/regress/) and
run in the project's own environment (.venv: asv's `--python=same`), with the checkout's
sources first on the path, so no environment is built per commit. Both commits run the
benchmarks of HEAD; a benchmark the base cannot run is reported as failed there, not as a
regression. Results go to .asv/results under each commit's hash (asv's
`--set-commit-hash`), where `asv compare` reads them.

    python benchmarks/regress.py [--base REV] [--factor 1.5] [--bench REGEX]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASV = Path(sys.executable).with_name("asv")
FACTOR = 1.5
# the suites the check runs (their timings; peak memory is not what it checks)
SUITES = (r"^(bench_kernels\.WoodsKernel\.time_|bench_streaming\.StreamingRun\.time_|"
          r"bench_grid\.GridSweep\.time_|bench_startup\.Startup\.)")


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def checkout(commit: str) -> Path:
    """A worktree of `commit` under .asv/regress/, with `reesens` importable from its
    pkg/ folder (engine/ is reesens, kernels/ is reesens.kernels, as pyproject maps them)."""
    where = ROOT / ".asv" / "regress" / commit[:12]
    if where.exists():
        git("worktree", "remove", "--force", str(where))
    where.parent.mkdir(parents=True, exist_ok=True)
    git("worktree", "add", "--detach", str(where), commit)
    (where / "pkg").mkdir()
    (where / "pkg" / "reesens").symlink_to(where / "engine")
    (where / "engine" / "kernels").symlink_to(where / "kernels")
    return where


def run_suites(commit: str, bench: str) -> None:
    """asv's run of the suites on `commit`'s sources, recorded under its hash."""
    where = checkout(commit)
    try:
        # asv drops PYTHONPATH from its benchmarks' environment and sets ASV_PYTHONPATH
        env = {**os.environ, "ASV_PYTHONPATH": str(where / "pkg"),
               "PATH": f"{ASV.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        subprocess.run([str(ASV), "run", "--python=same", f"--set-commit-hash={commit}",
                        "--bench", bench, "-a", "repeat=(3, 5, 10.0)", "-a", "rounds=1",
                        "--show-stderr"], cwd=ROOT, env=env, check=True)
    finally:
        git("worktree", "remove", "--force", str(where))
        shutil.rmtree(where, ignore_errors=True)


def slower(base: str, head: str, factor: float) -> list[str]:
    """asv compare's lines for the benchmarks HEAD made more than `factor` times slower
    (its '+' marks: the ratio above the factor and the difference significant)."""
    out = subprocess.run([str(ASV), "compare", base, head, "--factor", str(factor),
                          "--split"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    print(out)
    # a row of its table, "| + | before | after | ratio | name |", or "+ before after ..."
    return [line for line in out.splitlines()
            if line.strip().lstrip("|").lstrip().startswith("+")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="the commit to compare against")
    parser.add_argument("--factor", type=float, default=FACTOR)
    parser.add_argument("--bench", default=SUITES, help="asv --bench regular expression")
    args = parser.parse_args(argv)
    subprocess.run([str(ASV), "machine", "--yes"], cwd=ROOT, check=True,
                   capture_output=True)
    base, head = git("rev-parse", args.base), git("rev-parse", "HEAD")
    for commit in (base, head):
        run_suites(commit, args.bench)
    worse = slower(base, head, args.factor)
    if worse:
        print(f"{len(worse)} benchmark(s) more than {args.factor}x slower at HEAD "
              f"({head[:8]}) than at {args.base} ({base[:8]})", file=sys.stderr)
        return 1
    print(f"no benchmark more than {args.factor}x slower at HEAD ({head[:8]}) than at "
          f"{args.base} ({base[:8]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
