"""Block-wise Saltelli rows equal SALib's sampler bit for bit."""
import numpy as np
import pytest
from SALib.sample import sobol as salib_sample

from engine import evaluate, sampling
from engine.study import Distribution, parse
from tests.engine import ishigami  # noqa: F401  (registers the model)

DISTRIBUTIONS = [Distribution("unif", (0.1, 1.0)), Distribution("triang", (0.1, 2.0, 0.3)),
                 Distribution("lognorm", (0.0, 0.5)), Distribution("truncnorm", (0, 1, 0.4, 0.2)),
                 Distribution("norm", (1.0, 2.0))]


UNIFORM = [Distribution("unif", b) for b in
           [(0.1, 1.0), (-np.pi, np.pi), (1.0, 5.0), (0.05, 0.95), (-1e3, 1e-3)]]


@pytest.mark.parametrize("distributions", [DISTRIBUTIONS, UNIFORM],
                         ids=["SALib scale_samples", "uniform numba rows"])
@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize("scramble", [True, False])
@pytest.mark.parametrize("block_points", [1, 8, 64])
def test_blocks_concatenate_to_salib(distributions, second_order, scramble, block_points):
    names = [f"x{i}" for i in range(len(distributions))]
    sampled = dict(zip(names, distributions))
    problem = sampling.salib_problem(names, sampled)
    expected = salib_sample.sample(dict(problem), 64, calc_second_order=second_order,
                                   scramble=scramble, seed=7)
    blocks = [sampling.scaled_block(names, sampled, start, block_points, seed=7,
                                    scramble=scramble, second_order=second_order)
              for start in range(0, 64, block_points)]
    np.testing.assert_array_equal(np.concatenate(blocks), expected)


def test_any_block_regenerates_alone():
    study = parse(ishigami.study_table(N=256, block_points=32))
    whole = np.concatenate([evaluate.parameter_rows(study, b * 32, 32) for b in range(8)],
                           axis=1)
    np.testing.assert_array_equal(evaluate.parameter_rows(study, 5 * 32, 32),
                                  whole[:, 5 * 32 * 5:6 * 32 * 5])
    problem = sampling.salib_problem(study.sampled_names, study.sampled)
    np.testing.assert_array_equal(
        whole[0], salib_sample.sample(problem, 256, calc_second_order=False, seed=11))
