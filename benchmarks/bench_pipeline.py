"""asv benchmark of the whole pipeline with the SALib estimator (sample, evaluate, SALib's
analyze, store) at small N."""
import tempfile
from pathlib import Path

from reesens.runs import montecarlo as run
from reesens.study.parse import load

BASELINE = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"


class Pipeline:
    params = ([2**10, 2**12], [False, True])
    param_names = ["N", "second_order"]

    def setup(self, N, second_order):
        self.study = load(BASELINE, N=N, second_order=second_order, estimator="salib")
        self.tmp = tempfile.TemporaryDirectory()
        run.run(self.study, out=Path(self.tmp.name) / "warm.zarr", progress=False)  # JIT
        self.count = 0

    def teardown(self, N, second_order):
        self.tmp.cleanup()

    def _run(self):
        self.count += 1  # a fresh store each time: a re-run would only resume
        run.run(self.study, out=Path(self.tmp.name) / f"run{self.count}.zarr", workers=2,
                progress=False)

    def time_run(self, N, second_order):
        self._run()

    def peakmem_run(self, N, second_order):
        self._run()
