"""asv: the streaming reduction kernels (statistics, bootstrap replicates) and the streaming
pipeline end to end."""
import tempfile
from pathlib import Path

from reesens.evaluate import cases as evaluate
from reesens.evaluate import series
from reesens.kernels.bootstrap import replicate_moments
from reesens.kernels.saltelli import block_moments
from reesens.runs import montecarlo as run
from reesens.study.parse import load

STUDY = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"


class StreamingReduction:
    """block_moments on 2048 base points of the baseline's 22 series (rows: 28672 each)."""

    params = [False, True]
    param_names = ["second_order"]

    def setup(self, second_order):
        study = load(STUDY, N=2**11, second_order=second_order)
        values = series.series_values(series.series_spec(study),
                                     evaluate.evaluate_points(study, 0, 2**11))
        self.Y = values.reshape(-1, values.shape[-1])
        self.D = len(study.sampled_names)
        k = values.shape[-1] // 2**11  # rows per base point
        block_moments(self.Y[:, :4 * k], self.D, second_order)  # JIT outside the timing
        replicate_moments(self.Y[:, :4 * k], self.D, second_order, first_point=0, seed=1,
                          replicates=2)

    def time_block_moments(self, second_order):
        block_moments(self.Y, self.D, second_order)

    def peakmem_block_moments(self, second_order):
        block_moments(self.Y, self.D, second_order)

    def time_replicate_moments(self, second_order):
        """The Poisson bootstrap's statistics of the same chunk, 100 replicates."""
        replicate_moments(self.Y, self.D, second_order, first_point=0, seed=1,
                          replicates=100)


class StreamingRun:
    """The baseline study with second order, streaming estimator (Student t over 8
    scramblings, the default; delta method; Poisson bootstrap), 2 workers, into a store."""

    params = ([2**12, 2**14], ["replicates", "delta", "bootstrap"])
    param_names = ["N", "intervals"]
    timeout = 300

    def setup(self, N, intervals):
        self.study = load(STUDY, N=N, second_order=True, estimator="streaming",
                          intervals=intervals)
        self.tmp = tempfile.TemporaryDirectory()
        run.run(load(STUDY, N=2**10, second_order=True, estimator="streaming"),
                out=Path(self.tmp.name) / "warm.zarr", progress=False)
        self.count = 0

    def teardown(self, N, intervals):
        self.tmp.cleanup()

    def _run(self):
        self.count += 1  # a fresh store each time: a re-run would only resume
        run.run(self.study, out=Path(self.tmp.name) / f"run{self.count}.zarr", workers=2,
                progress=False)

    def time_run(self, N, intervals):
        self._run()

    def peakmem_run(self, N, intervals):
        self._run()
