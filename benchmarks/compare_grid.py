"""The baseline grid (studies/baseline_grid.toml, `n` values per axis) swept into a store
against a plain numba loop computing its code on the same cells, and `reesens report` on
that store against the sweep, as ratios in one run: `make bench-grid` (n = 40, 4.1e9
cells; `N=...` to change).

The plain loop: six nested loops over the axes' values calling kernels.woods.evaluate_row
and counting the codes, nogil, on 2 threads over the two halves of the first axis. The
sweep and the report are the commands a user types, each in a fresh process, timed from
outside (start-up and imports included); the sweep's own wall time, as its store records
it, is printed beside. asv only imports this module.
"""
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np

from reesens.kernels.woods import evaluate_row

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "baseline_grid.toml"
WORKERS = 2


def _axes(n: int) -> list[np.ndarray]:
    """The baseline grid's six axes with `n` values each, in the model's order."""
    grid = tomllib.loads(STUDY.read_text())["grid"]
    return [np.linspace(*grid[p]["linspace"][:2], n)
            for p in ("A", "gamma", "delta", "phi_D", "kappa", "p")]


def study_text(n: int) -> str:
    """baseline_grid.toml with `n` values per axis."""
    return STUDY.read_text().replace(", 40] }", f", {n}] }}")


@numba.njit(nogil=True)
def plain_loop(A, gamma, delta, phi_D, kappa, p, counts):
    """counts[eq + 1] += 1 for every cell of the grid (the baseline's fixed rho_C, rho_F,
    S and options: verifiable, China's pick, inside bargaining)."""
    for a in A:
        for g in gamma:
            for d in delta:
                for f in phi_D:
                    for k in kappa:
                        for q in p:
                            eq = evaluate_row(a, g, d, f, k, q, 0.9, 0.9, 1.0, 0, 0, 0)[7]
                            counts[eq + 1] += 1


def loop_seconds(n: int) -> tuple[float, np.ndarray]:
    """(seconds, int64 (8,) counts of codes -1..6) of the plain loop on WORKERS threads."""
    axes = _axes(n)
    plain_loop(*(a[:2] for a in axes), np.zeros(8, dtype=np.int64))  # compiled first
    halves = np.array_split(axes[0], WORKERS)
    counts = np.zeros((WORKERS, 8), dtype=np.int64)
    with ThreadPoolExecutor(WORKERS) as pool:
        start = time.perf_counter()
        list(pool.map(lambda t: plain_loop(halves[t], *axes[1:], counts[t]), range(WORKERS)))
        seconds = time.perf_counter() - start
    return seconds, counts.sum(axis=0)


def _command(*args) -> float:
    """Wall seconds of `reesens ARGS` in a fresh process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reesens", *map(str, args)], check=True,
                   capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - start


def measure(n: int) -> dict:
    """Seconds of the plain loop, the sweep (command and recorded) and the report, the
    ratios, and whether the sweep's counts equal the loop's."""
    import zarr

    from reesens.store import cube

    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "warm.toml").write_text(study_text(3))
        _command("grid", tmp / "warm.toml", "--out", tmp / "warm.zarr", "--quiet")
        (tmp / "grid.toml").write_text(study_text(n))
        store = tmp / "grid.zarr"
        times["loop"], counts = loop_seconds(n)
        times["sweep"] = _command("grid", tmp / "grid.toml", "--out", store, "--quiet",
                                  "--workers", WORKERS)
        group = zarr.open_group(store, mode="r")
        times["sweep recorded"] = group.attrs["wall_time_s"]
        times["report"] = _command("report", store, "--out", tmp / "report")
        flags = group["grid/eq"].attrs["flag_values"]
        stored = cube.stored_counts(store)[("eq",)]
        times["same counts"] = bool(np.array_equal(stored, counts[np.array(flags) + 1]))
    times["sweep / loop"] = times["sweep recorded"] / times["loop"]
    times["report / sweep"] = times["report"] / times["sweep"]
    return times


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else 40
    t = measure(n)
    print(f"baseline grid, {n}^6 = {n ** 6:,} cells of eq, {WORKERS} threads / workers:")
    for name in ("loop", "sweep", "sweep recorded", "report"):
        print(f"  {name:15s} {t[name]:8.2f} s")
    print(f"  sweep (recorded) / plain loop = {t['sweep / loop']:.2f} (target <= 3)")
    print(f"  report / sweep (commands)     = {t['report / sweep']:.3f} (target <= 0.1)")
    print(f"  the store's code counts equal the loop's: {t['same counts']}")
