"""The Ishigami function as a registered model, to test the engine against analytic indices.

y = sin(x1) + a sin(x2)^2 + b x3^4 sin(x1), x_i ~ U(-pi, pi), a = 7, b = 0.1
(Ishigami & Homma 1990; variances as in Sobol' & Levitan 1999).
"""
import math

import numpy as np

from reesens.kernels.registry import Model, Variable, register

A, B = 7.0, 0.1
_PI = dict(lower=-math.pi, upper=math.pi, lower_closed=True, upper_closed=True)
PARAMS = tuple(Variable(f"x{i}", "float64", "1", f"input {i}", **_PI) for i in (1, 2, 3))
OUTPUTS = (Variable("y", "float64", "1", "Ishigami function"),)


def evaluate_block(params):
    """params (n, 3) -> {"y": (n,)}."""
    x1, x2, x3 = params.T
    return {"y": np.sin(x1) + A * np.sin(x2) ** 2 + B * x3 ** 4 * np.sin(x1)}


def analytic_indices():
    """(S1, ST) of x1, x2, x3."""
    pi4, pi8 = math.pi ** 4, math.pi ** 8
    v1 = 0.5 * (1 + B * pi4 / 5) ** 2
    v2 = A ** 2 / 8
    v13 = B ** 2 * pi8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def iid_design_outputs(seed: int, n: int) -> np.ndarray:
    """(1, n * 5) outputs of a Saltelli design (A, AB_1..AB_3, B per point) on n iid
    uniform points: the design the interval formulas assume."""
    D = len(PARAMS)
    a, b = np.random.default_rng(seed).uniform(-math.pi, math.pi, size=(2, n, D))
    rows = np.repeat(a[:, None, :], D + 2, axis=1)
    rows[:, -1] = b
    for j in range(D):
        rows[:, 1 + j, j] = b[:, j]
    return evaluate_block(rows.reshape(-1, D))["y"][None]


MODEL = register(Model(name="ishigami", title="Ishigami test function", params=PARAMS,
                       outputs=OUTPUTS, evaluate_block=evaluate_block, options={}))


def study_table(N=2**12, block_points=2**10, second_order=False, seed=11):
    """A study of the Ishigami model as parsed TOML (a dict)."""
    return {
        "name": "ishigami",
        "model": {"name": "ishigami"},
        "parameters": {f"x{i}": {"dist": "unif", "lower": -math.pi, "upper": math.pi}
                       for i in (1, 2, 3)},
        "sampling": {"N": N, "block_points": block_points, "second_order": second_order,
                     "seed": seed},
        "analysis": {"resamples": 200, "seed": 5, "intervals": "delta"},  # one design
    }
