"""asv: the streaming reduction kernel and the streaming pipeline end to end."""
import tempfile
from pathlib import Path

from engine import evaluate, run, sobol
from engine.study import load
from kernels.saltelli import block_moments

STUDY = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"


class StreamingReduction:
    """block_moments on 2048 base points of the baseline's 22 series (rows: 28672 each)."""

    params = [False, True]
    param_names = ["second_order"]

    def setup(self, second_order):
        study = load(STUDY, N=2**11, second_order=second_order)
        values = sobol.series_values(sobol.series_spec(study),
                                     evaluate.evaluate_points(study, 0, 2**11))
        self.Y = values.reshape(-1, values.shape[-1])
        self.D = len(study.sampled_names)
        k = values.shape[-1] // 2**11  # rows per base point
        block_moments(self.Y[:, :4 * k], self.D, second_order)  # JIT outside the timing

    def time_block_moments(self, second_order):
        block_moments(self.Y, self.D, second_order)

    def peakmem_block_moments(self, second_order):
        block_moments(self.Y, self.D, second_order)


class StreamingRun:
    """The baseline study with second order, streaming estimator, 2 workers, into a store."""

    params = [2**12, 2**14]
    param_names = ["N"]
    timeout = 300

    def setup(self, N):
        self.study = load(STUDY, N=N, second_order=True, estimator="streaming")
        self.tmp = tempfile.TemporaryDirectory()
        run.run(load(STUDY, N=2**10, second_order=True, estimator="streaming"),
                out=Path(self.tmp.name) / "warm.zarr", progress=False)
        self.count = 0

    def teardown(self, N):
        self.tmp.cleanup()

    def _run(self):
        self.count += 1  # a fresh store each time: a re-run would only resume
        run.run(self.study, out=Path(self.tmp.name) / f"run{self.count}.zarr", workers=2,
                progress=False)

    def time_run(self, N):
        self._run()

    def peakmem_run(self, N):
        self._run()
