"""One nogil numba call per block of a Saltelli design: Sobol' points -> uniform
parameters -> the model's scalar row function -> the sums the Sobol' estimators read.

A model offers this path by declaring a scalar row function (registry.Model.row):
`row(params, i, options) -> tuple`, the outputs of row i of `params` (n, P) float64 in
the model's output order, `options` the int64 positions of the option values. The
kernel takes it wrapped in a `RowFunction`, a value whose numba type carries a key
(the model's name and a hash of its sources), so the compiled kernel is cached per model
and per source version, and the row function is inlined into the loop over rows, which
LLVM then vectorises as it does the model's own batch loop.

The rows never exist beyond a batch of BATCH base points: per batch, the points' k rows
are built for each scenario, evaluated for each option combination, turned into series
values (an output, or the indicator of one of its codes) and added to kernels.saltelli's
accumulator by `add_batch`, the code the materialised path runs on the same batches, so
both give the same bytes.
"""
from __future__ import annotations

import numpy as np
from numba.core import cgutils, types
from numba.extending import (NativeValue, models, overload, register_model, typeof_impl,
                             unbox)

from reesens.kernels import saltelli
from reesens.kernels.accelerate import jit
from reesens.kernels.qmc import _sobol_points
from reesens.kernels.saltelli import BATCH

_ROWS: dict[str, object] = {}  # key -> the model's jitted row function


class RowFunction:
    """A model's scalar row function as the fused kernel takes it; `key` names the model
    and the version of its sources (the compiled kernel is cached under it)."""

    def __init__(self, key: str, row):
        self.key, self.row = key, row
        _ROWS[key] = row

    def __reduce__(self):  # unpickled in a worker process: registered there too
        return RowFunction, (self.key, self.row)


def keyed_type(python_class, name: str, key_of):
    """The numba type of `python_class`'s instances: an opaque value (nothing of it enters
    the kernel) whose type carries `key_of(value)` as `value_key`, so that equal keys share
    one compiled (and cached) kernel and another key compiles its own."""
    class KeyedType(types.Dummy):
        def __init__(self, key):
            self.value_key = key
            super().__init__(name=f"{name}({key})")

        @property
        def key(self):
            return self.value_key

    KeyedType.__name__ = KeyedType.__qualname__ = f"{name}Type"
    typeof_impl.register(python_class)(lambda value, context: KeyedType(key_of(value)))
    register_model(KeyedType)(models.OpaqueModel)
    unbox(KeyedType)(lambda typ, obj, c: NativeValue(
        cgutils.get_null_value(c.context.get_value_type(typ))))
    return KeyedType


RowFunctionType = keyed_type(RowFunction, "RowFunction", lambda value: value.key)


def call_row(function, params, i, options):
    """The outputs of row i of params (inside a kernel: the row function, inlined)."""
    return _ROWS[function.key](params, i, options)


@overload(call_row)
def _call_row(function, params, i, options):
    if isinstance(function, RowFunctionType):
        row = _ROWS[function.value_key]

        def impl(function, params, i, options):
            return row(params, i, options)
        return impl
    return None


def write_outputs(values, out, i):
    """out[o, i] = values[o] for each output o of a row (a tuple of any types)."""
    for o, v in enumerate(values):
        out[o, i] = v


@overload(write_outputs)
def _write_outputs(values, out, i):
    # a constant index per element: a heterogeneous tuple cannot be indexed by a variable,
    # and literal_unroll keeps the row loop from vectorising
    if not isinstance(values, types.BaseTuple):
        return None
    lines = "".join(f"    out[{o}, i] = values[{o}]\n" for o in range(len(values)))
    namespace = {}
    exec(f"def impl(values, out, i):\n{lines or '    pass'}\n", namespace)
    return namespace["impl"]


@jit
def _block(row, n_out, sv, shift, scale, start, points, from_b, second_order, lower, width,
           sampled_at, fixed, is_fixed, options, series_output, series_code, is_code,
           delta, K, count, sums, rstats, sub, sub_count):
    """Add base points [start, start + points) of the design to an accumulator
    (kernels.saltelli.Accumulator: K ... sub_count).

    sv, shift, scale: the Sobol' state (kernels.qmc.sobol_state) of 2 Ds dimensions;
    from_b (k, Ds) bool: which columns of each Saltelli row come from B (SALib's order A,
    AB_g, (BA_g,) B over G groups or parameters); lower, width (scenarios, Ds): uniform
    bounds per scenario; sampled_at (P,): the sampled column of each model parameter (-1:
    none); fixed, is_fixed (scenarios, P): fixed values; options (combinations, options)
    int64; series_output, series_code, is_code (S,): each series' output index and, for
    an indicator, its code. Cases run scenario-major, then option combinations, each
    with its S series.
    """
    k, Ds = from_b.shape
    G = (k - 2) // 2 if second_order else k - 2
    n_scen, P = fixed.shape
    n_comb = options.shape[0]
    S = series_output.shape[0]
    unit = np.empty((BATCH, 2 * Ds))
    # rows r-major: row r of the batch's point i is row r * BATCH + i, so that each
    # Saltelli row's values over the batch are contiguous (kernels.saltelli.add_batch)
    params = np.empty((P, k * BATCH)).T  # Fortran order: each parameter contiguous
    out = np.empty((n_out, k * BATCH))
    w = np.empty((k, BATCH))  # one series' rows of the batch
    for p0 in range(0, points, BATCH):
        m = min(BATCH, points - p0)
        _sobol_points(sv, shift, scale, start + p0, unit[:m])
        for sc in range(n_scen):
            for j in range(P):
                c = sampled_at[j]
                if is_fixed[sc, j] or c < 0:
                    params[:, j] = fixed[sc, j]
                    continue
                lo, span = lower[sc, c], width[sc, c]
                for r in range(k):
                    col = Ds + c if from_b[r, c] else c
                    for i in range(m):
                        # as kernels.qmc.uniform_saltelli_rows (SALib's scale_samples)
                        params[r * BATCH + i, j] = unit[i, col] * span + lo
            if m < BATCH:  # the last batch of a block: the rows past m repeat point 0
                for r in range(k):
                    for i in range(m, BATCH):
                        params[r * BATCH + i] = params[r * BATCH]
            for cb in range(n_comb):
                chosen = options[cb]
                for i in range(k * BATCH):  # one flat loop: LLVM vectorises it
                    write_outputs(call_row(row, params, i, chosen), out, i)
                base = (sc * n_comb + cb) * S
                for s in range(S):
                    o, code = series_output[s], series_code[s]
                    for r in range(k):
                        if is_code[s]:
                            for i in range(m):
                                w[r, i] = 1.0 if out[o, r * BATCH + i] == code else 0.0
                        else:
                            for i in range(m):
                                w[r, i] = out[o, r * BATCH + i]
                    saltelli.add_batch(w, base + s, m, start + p0, G, second_order, delta, K,
                                       count, sums, rstats, sub, sub_count)


def from_b(member: np.ndarray, second_order: bool) -> np.ndarray:
    """bool (k, Ds): which sampled columns each Saltelli row takes from B, in SALib's row
    order A, AB_g, (BA_g,) B; member (G, Ds): each group's columns."""
    G, Ds = member.shape
    rows = [np.zeros(Ds, bool), *member, *(~member if second_order else ()), np.ones(Ds, bool)]
    return np.array(rows)


def block_sums(row: RowFunction, n_out: int, state, start: int, points: int, member,
               second_order: bool, lower, width, sampled_at, fixed, is_fixed, options,
               series_output, series_code, is_code, accumulator) -> None:
    """Add base points [start, start + points) to `accumulator` (saltelli.Accumulator) in
    one nogil call; the arguments as `_block` takes them."""
    sv, shift, scale = state
    _block(row, n_out, sv, shift, scale, np.int64(start), points, from_b(member, second_order),
           second_order, lower, width, sampled_at, fixed, is_fixed, options, series_output,
           series_code, is_code, accumulator.delta, *accumulator.arrays)
