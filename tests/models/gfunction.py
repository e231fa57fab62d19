"""Sobol's G-function as a registered model, to test intervals against analytic indices.

y = prod_i |4 x_i - 2| + a_i) / (1 + a_i), x_i ~ U(0, 1), a = (0, 1, 4.5, 9, 99, 99)
(Saltelli & Sobol' 1995): V_i = 1 / (3 (1 + a_i)^2), V = prod (1 + V_i) - 1.
"""
import numpy as np

from reesens.kernels.registry import Model, Variable, register

A = np.array([0.0, 1.0, 4.5, 9.0, 99.0, 99.0])
PARAMS = tuple(Variable(f"x{i + 1}", "float64", "1", f"input {i + 1}", lower=0.0, upper=1.0,
                        lower_closed=True, upper_closed=True) for i in range(A.size))
OUTPUTS = (Variable("y", "float64", "1", "Sobol's G-function"),)


def evaluate_block(params):
    """params (n, 6) -> {"y": (n,)}."""
    return {"y": np.prod((np.abs(4 * params - 2) + A) / (1 + A), axis=1)}


def analytic_indices():
    """(S1, ST) of x1..x6."""
    v = 1 / (3 * (1 + A) ** 2)
    total = np.prod(1 + v) - 1
    return v / total, v * np.prod(1 + v) / (1 + v) / total


MODEL = register(Model(name="gfunction", title="Sobol's G-function", params=PARAMS,
                       outputs=OUTPUTS, evaluate_block=evaluate_block, options={}))
