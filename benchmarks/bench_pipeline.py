"""asv benchmark of the whole pipeline (sample, evaluate, analyse, store) at small N."""
import tempfile
from pathlib import Path

from engine import run
from engine.study import load

BASELINE = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"


class Pipeline:
    params = ([2**10, 2**12], [False, True])
    param_names = ["N", "second_order"]

    def setup(self, N, second_order):
        self.study = load(BASELINE, N=N, second_order=second_order)
        self.tmp = tempfile.TemporaryDirectory()
        run.run(self.study, out=Path(self.tmp.name) / "warm.zarr", progress=False)  # JIT

    def teardown(self, N, second_order):
        self.tmp.cleanup()

    def time_run(self, N, second_order):
        run.run(self.study, out=Path(self.tmp.name) / "run.zarr", workers=2, progress=False)

    def peakmem_run(self, N, second_order):
        run.run(self.study, out=Path(self.tmp.name) / "run.zarr", workers=2, progress=False)
