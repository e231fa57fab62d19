"""Block-wise Saltelli rows equal SALib's sampler bit for bit."""
import numpy as np
import pytest
from SALib.sample import sobol as salib_sample

from reesens.design import sampling
from reesens.evaluate import cases as evaluate
from reesens.study.parse import parse
from reesens.study.schema import Distribution
from tests.models import ishigami  # noqa: F401  (registers the model)

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


def _scipy(d: Distribution):
    """The scipy.stats distribution a study's `dist` and bounds mean (SALib's conventions,
    written independently of SALib's transform)."""
    from scipy import stats
    b = d.bounds
    return {"unif": lambda: stats.uniform(b[0], b[1] - b[0]),
            "triang": lambda: stats.triang(b[2], loc=b[0], scale=b[1] - b[0]),
            "norm": lambda: stats.norm(b[0], b[1]),
            "truncnorm": lambda: stats.truncnorm((b[0] - b[2]) / b[3], (b[1] - b[2]) / b[3],
                                                 loc=b[2], scale=b[3]),
            "lognorm": lambda: stats.lognorm(b[1], scale=np.exp(b[0]))}[d.dist]()


@pytest.mark.parametrize("second_order", [False, True])
def test_sampled_marginals_follow_their_distributions(second_order):
    """Every kind of distribution, each parameter's column of the Saltelli rows against
    its scipy distribution (Kolmogorov-Smirnov): a transform that ignored `dist` (rows
    left uniform, or mapped by another parameter's law) fails."""
    from scipy import stats
    names = [f"x{i}" for i in range(len(DISTRIBUTIONS))]
    sampled = dict(zip(names, DISTRIBUTIONS))
    rows = sampling.scaled_block(names, sampled, 0, 4096, seed=7, scramble=True,
                                 second_order=second_order)
    for j, d in enumerate(DISTRIBUTIONS):
        result = stats.kstest(rows[:, j], _scipy(d).cdf)
        assert result.pvalue > 0.01, (d, result)
        others = [e for e in DISTRIBUTIONS if e.dist != d.dist]
        assert all(stats.kstest(rows[:, j], _scipy(e).cdf).pvalue < 1e-6 for e in others)


def test_threads_loading_the_sobol_routines_at_once_all_get_them():
    # the routines are loaded on first use; a run's warm-up thread and its pilot can both
    # be first, and a half-loaded module once failed one of them
    import subprocess
    import sys
    code = ("import threading\n"
            "from reesens.kernels import qmc\n"
            "barrier, errors = threading.Barrier(4), []\n"
            "def first():\n"
            "    barrier.wait()\n"
            "    try:\n"
            "        qmc.sobol_state(12, seed=1, scramble=True)\n"
            "    except Exception as e:\n"
            "        errors.append(repr(e))\n"
            "threads = [threading.Thread(target=first) for _ in range(4)]\n"
            "[t.start() for t in threads]\n"
            "[t.join() for t in threads]\n"
            "print(errors)\n")
    for _ in range(12):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.stdout.strip() == "[]", done.stdout + done.stderr
