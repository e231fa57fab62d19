"""asv benchmarks of the woods batch kernel (one core; the JIT is warmed in setup)."""
from pathlib import Path

import numpy as np

from reesens.kernels import woods
from reesens.study.parse import load

BASELINE = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"


def parameter_block(n, seed=0):
    """(n, 9) Fortran-ordered block, uniform over the ranges of studies/baseline.toml."""
    study = load(BASELINE)
    rng = np.random.default_rng(seed)
    block = np.empty((n, len(woods.PARAMS)), order="F")
    for j, name in enumerate(woods.PARAM_NAMES):
        if name in study.fixed:
            block[:, j] = study.fixed[name]
        else:
            low, high = study.sampled[name].bounds  # the baseline samples uniforms only
            block[:, j] = rng.uniform(low, high, n)
    return block


class WoodsKernel:
    params = ([10**6, 10**7], ["verifiable", "paper", "mimicable"])
    param_names = ["rows", "concept"]

    def setup(self, rows, concept):
        self.block = parameter_block(rows)
        self.out = woods.allocate_outputs(rows)
        woods.evaluate_block(self.block[:10], concept=concept)  # compile or load the cache

    def time_evaluate_block(self, rows, concept):
        woods.evaluate_block(self.block, concept=concept, out=self.out)

    def peakmem_evaluate_block(self, rows, concept):
        woods.evaluate_block(self.block, concept=concept)
