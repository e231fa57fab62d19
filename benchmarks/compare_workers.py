"""Scaling from 1 to 2 worker threads: the baseline study (second order, streaming) run
with 1 and 2 workers alternately in one process, after a warm-up run, so that both see the
same JIT state and, as far as a shared VM allows, the same machine. Prints each run's wall
time and the ratio of the fastest runs. Run with `make bench-workers [N=...]` (asv only
imports this module).

Beside it, the machine's own ceiling: two loops that share nothing, run twice on one
thread and once each on two threads. A scalar dependency chain measures how far the
cores run side by side at all; packed multiply-adds on a 4 KiB array (in L1) measure it
for vectorised floating point, which most of a run is. On a VM whose two vCPUs share a
physical core's floating-point units, or whose host is busy, the second falls short of
2x whatever the pipeline does.
"""
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def ceiling(repeats=9) -> dict[str, float]:
    """{loop: median speed-up of 2 threads over 1} for the two loops above."""
    sys.path.insert(0, str(ROOT))
    from reesens.kernels.accelerate import jit

    @jit
    def chain(n):
        x = 0.0
        for i in range(n):
            x = x * 0.999999 + 1.0 / (i + 1.0)
        return x

    @jit
    def packed(x, passes):
        for _ in range(passes):
            for i in range(x.shape[0]):
                x[i] = x[i] * 0.9999 + 0.5
        return x[0]

    loops = {"scalar chain": (chain, (30_000_000,) * 2),
             "packed multiply-add": (lambda x: packed(x, 200_000), (np.ones(512), np.ones(512)))}
    out = {}
    with ThreadPoolExecutor(2) as pool:
        for name, (f, args) in loops.items():
            f(*args[:1])  # compile
            ratios = []
            for _ in range(repeats):
                start = time.perf_counter()
                for a in args:
                    f(a)
                one = time.perf_counter() - start
                start = time.perf_counter()
                list(pool.map(f, args))
                ratios.append(one / (time.perf_counter() - start))
            out[name] = float(np.median(ratios))
    return out


def main(N=2**20, repeats=3):
    sys.path.insert(0, str(ROOT))
    from benchmarks.compare_kernel import cpu_name
    from reesens.runs import montecarlo as run
    from reesens.study.parse import load

    study = load(ROOT / "studies" / "baseline.toml", N=N, second_order=True,
                 estimator="streaming")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; baseline study, N = {N}, second "
          "order, streaming; in-process wall time of runs.montecarlo.run")
    before = ceiling()
    walls = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        run.run(load(ROOT / "studies" / "baseline.toml", N=study.block_points,
                     second_order=True, estimator="streaming"),
                out=Path(tmp) / "warm-up.zarr", workers=2, progress=False)
        for i in range(repeats):
            for workers in (1, 2):
                start = time.perf_counter()
                run.run(study, out=Path(tmp) / f"{i}-{workers}.zarr", workers=workers,
                        progress=False)
                walls[workers].append(time.perf_counter() - start)
                print(f"workers {workers}: {walls[workers][-1]:.2f} s", flush=True)
    after = ceiling()
    print(f"fastest: 1 worker {min(walls[1]):.2f} s, 2 workers {min(walls[2]):.2f} s, "
          f"speed-up {min(walls[1]) / min(walls[2]):.2f}x")
    for name in before:
        print(f"machine ceiling, {name}: 2 threads {before[name]:.2f}x one thread before "
              f"the runs, {after[name]:.2f}x after (medians)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
