"""asv benchmarks of the woods batch kernel (one core; the JIT is warmed in setup)."""
import numpy as np

from kernels import woods


def parameter_block(n, seed=0):
    """(n, 9) Fortran-ordered block over the baseline ranges of MODEL.md section 5."""
    rng = np.random.default_rng(seed)
    block = np.empty((n, 9), order="F")
    for j, (low, high) in enumerate([(0.1, 1), (0.1, 1), (1, 5), (0.05, 1), (0.05, 1),
                                     (0.05, 0.95)]):
        block[:, j] = rng.uniform(low, high, n)
    block[:, 6:8], block[:, 8] = 0.9, 1.0
    return block


class WoodsKernel:
    params = ([10**6, 10**7], ["verifiable", "paper"])
    param_names = ["rows", "concept"]

    def setup(self, rows, concept):
        self.block = parameter_block(rows)
        self.out = woods.allocate_outputs(rows)
        woods.evaluate_block(self.block[:10], concept=concept)  # compile or load the cache

    def time_evaluate_block(self, rows, concept):
        woods.evaluate_block(self.block, concept=concept, out=self.out)

    def peakmem_evaluate_block(self, rows, concept):
        woods.evaluate_block(self.block, concept=concept)
