"""asv: grid sweeps of the equilibrium code into a store (runs.grid), and the baseline
grid's sweep and report against a plain numba loop over its cells (benchmarks/
compare_grid.py)."""
import tempfile
from pathlib import Path

from benchmarks import compare_grid
from reesens.runs import grid
from reesens.study.parse import parse


def _study(per_axis: int):
    """The baseline box with `per_axis` values on each of the 6 axes, code output eq."""
    axes = {"A": [0.1, 1.0], "gamma": [0.1, 1.0], "delta": [1.0, 5.0],
            "phi_D": [0.05, 1.0], "kappa": [0.05, 1.0], "p": [0.05, 0.95]}
    return parse({"name": "bench-grid", "model": {"name": "woods"},
                  "grid": {**{n: {"linspace": [lo, hi, per_axis]}
                              for n, (lo, hi) in axes.items()}, "outputs": ["eq"]}})


class GridSweep:
    """A 6-D grid of eq (per_axis^6 cells: 0.26e6 and 2.99e6), 2 workers, fresh store."""

    params = [8, 12]
    param_names = ["per_axis"]
    timeout = 300

    def setup(self, per_axis):
        self.study = _study(per_axis)
        self.tmp = tempfile.TemporaryDirectory()
        grid.run_grid(_study(3), out=Path(self.tmp.name) / "warm.zarr", progress=False)
        self.count = 0

    def teardown(self, per_axis):
        self.tmp.cleanup()

    def _sweep(self):
        self.count += 1  # a fresh store each time: a re-run would only resume
        grid.run_grid(self.study, out=Path(self.tmp.name) / f"g{self.count}.zarr",
                      workers=2, progress=False)

    def time_sweep(self, per_axis):
        self._sweep()

    def peakmem_sweep(self, per_axis):
        self._sweep()


class BaselineGrid:
    """The baseline grid, 40^6 = 4.1e9 cells of eq: the sweep's wall time over a plain
    numba loop's on the same cells and threads, and `reesens report`'s over the sweep's
    (both commands in fresh processes), from one sitting (compare_grid.measure)."""

    def setup_cache(self):
        return compare_grid.measure(40)

    def track_sweep_over_loop(self, times):
        return times["sweep / loop"]

    def track_report_over_sweep(self, times):
        return times["report / sweep"]

    setup_cache.timeout = 900
    track_sweep_over_loop.unit = "ratio"
    track_report_over_sweep.unit = "ratio"
