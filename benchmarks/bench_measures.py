"""asv: the streamed counts of PAWN, delta and the given-data S1 (methods.counts) and of
regional sensitivity (methods.rsa), beside SALib's pawn, delta and rsa on the same A and
B rows, PRIM beside the EMA Workbench's, and a baseline run with and without them
(benchmarks/compare_measures.py prints the ratios of one sitting)."""
import tempfile
from pathlib import Path

from benchmarks import compare_measures
from reesens.runs import montecarlo as run
from reesens.study.parse import load

STUDY = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"


class MeasuresRun:
    """The baseline at N = 2^16, 2 workers, with each of compare_measures.RUNS' methods."""

    params = [list(compare_measures.RUNS)]
    param_names = ["methods"]
    timeout = 300

    def setup(self, methods):
        self.study = load(STUDY, N=2**16, methods=compare_measures.RUNS[methods])
        self.tmp = tempfile.TemporaryDirectory()
        run.run(load(STUDY, N=2**10, methods=compare_measures.RUNS["all+rsa+prim"]),
                out=Path(self.tmp.name) / "warm.zarr", progress=False)
        self.count = 0

    def teardown(self, methods):
        self.tmp.cleanup()

    def time_run(self, methods):
        self.count += 1
        run.run(self.study, out=Path(self.tmp.name) / f"run{self.count}.zarr", workers=2,
                progress=False)


class BesideSALib:
    """Counts and measures of every output against SALib's pawn, delta and rsa on one
    output, and PRIM against the EMA Workbench's, N = 2^12 (8192 A and B rows)."""

    timeout = 300

    def time_beside_salib(self):
        compare_measures.beside_salib(2**12)
