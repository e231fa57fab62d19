"""Print ns/vector of the numba batch kernel beside plain numpy and the memory bound.

One process, one core: (a) the plain-numpy reimplementation of the tests, (b) the time
a single-threaded memory copy needs for the bytes the kernel reads and writes. Run with
`make bench-kernel` (not an asv benchmark: asv only imports this module).
"""
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def cpu_name():
    """The CPU model from /proc/cpuinfo where there is one, else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def best_time(function, repeats):
    """Best wall time of `repeats` calls, in seconds."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main(rows=4_000_000, repeats=7):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.bench_kernels import parameter_block
    from reesens.kernels import woods
    from tests import reference_numpy

    block = parameter_block(rows)
    out = woods.allocate_outputs(rows)
    woods.evaluate_block(block[:10])
    columns = dict(zip(woods.PARAM_NAMES, block.T))
    bytes_per_vector = block.itemsize * block.shape[1] + sum(a.itemsize for a in out.values())

    src = np.ones(rows * bytes_per_vector // 16, dtype=np.float64)  # half the traffic each
    dst = np.empty_like(src)
    copy = best_time(lambda: np.copyto(dst, src), repeats)
    bandwidth = 2 * src.nbytes / copy  # bytes read + written per second

    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"rows: {rows:,}; bytes read+written per vector: {bytes_per_vector}; "
          f"single-thread copy bandwidth: {bandwidth / 1e9:.1f} GB/s")
    print(f"{'concept':<11} {'numba ns/vec':>12} {'numpy ns/vec':>12} {'speed-up':>9} "
          f"{'bound ns/vec':>12} {'% of bound':>10}")
    bound = bytes_per_vector / bandwidth * 1e9
    for concept in ("verifiable", "paper", "mimicable"):
        kernel = best_time(lambda: woods.evaluate_block(block, concept=concept, out=out),
                           repeats) / rows * 1e9
        numpy = best_time(lambda: reference_numpy.evaluate(**columns, concept=concept),
                          max(2, repeats // 3)) / rows * 1e9
        print(f"{concept:<11} {kernel:12.2f} {numpy:12.1f} {numpy / kernel:8.1f}x "
              f"{bound:12.2f} {100 * bound / kernel:9.0f}%")


if __name__ == "__main__":
    main()
