"""The woods game with a hedging subsidy: a government pays the share `subsidy` of the
foreign cost of hedging, so the foreigner faces A (1 - subsidy) in place of A. Every
output is the woods model's at that effective cost (docs/model.md), so the belief
threshold becomes mu_star = (A (1 - subsidy) + gamma) / (gamma + delta).

An example of a model of one's own (docs/models.md): declare the parameters and outputs,
write `evaluate_block` (and, for speed, a scalar `row` function), and register a `Model` under the entry point group
"reesens.models" (pyproject.toml); a study then names it: [model] name = "woods_subsidy".
"""
import numpy as np
from numba import njit

from reesens.kernels import woods
from reesens.kernels.registry import Model, Variable

PARAMS = woods.PARAMS + (
    Variable("subsidy", "float64", "1", "share of the foreign cost of hedging paid by a "
             "government", lower=0.0, upper=1.0, lower_closed=True),
)


def evaluate_block(params, **options):
    """params: float64 (n, 10), columns woods.PARAM_NAMES then subsidy; options as woods
    (concept, selection, bargaining). Returns {output name: (n,) array}."""
    if not isinstance(params, np.ndarray) or params.ndim != 2 or params.shape[1] != len(PARAMS):
        raise ValueError(f"woods_subsidy: params must be (n, {len(PARAMS)}), columns "
                         f"{', '.join(v.name for v in PARAMS)}")
    block = np.asfortranarray(params[:, :-1], dtype=np.float64)
    subsidy = params[:, -1]
    block[:, 0] *= 1.0 - subsidy
    block[~((subsidy >= 0.0) & (subsidy < 1.0)), 0] = np.nan  # outside the domain: invalid
    return woods.evaluate_block(block, **options)


@njit(nogil=True, cache=True, error_model="numpy")
def row(params, i, options):
    """The outputs of row i of params (n, 10) (the fused path's scalar row function):
    woods' row at the effective cost A (1 - subsidy), as evaluate_block computes it."""
    subsidy = params[i, 9]
    A = params[i, 0] * (1.0 - subsidy)
    A = A if (subsidy >= 0.0) & (subsidy < 1.0) else np.nan
    return woods.evaluate_row(A, params[i, 1], params[i, 2], params[i, 3], params[i, 4],
                              params[i, 5], params[i, 6], params[i, 7], params[i, 8],
                              options[0], options[1], options[2])


MODEL = Model(
    name="woods_subsidy",
    title="Woods (2025) signalling game with a hedging subsidy",
    params=PARAMS,
    outputs=woods.OUTPUTS,
    evaluate_block=evaluate_block,
    options=woods.OPTIONS,
    row=row,
)
