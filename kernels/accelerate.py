"""The one numba decorator of the project.

`nogil` so dask threads run kernels side by side, `cache` so a process compiles once per
machine, and never `fastmath`: it breaks NaN handling and bit-reproducibility.
"""
import numba

jit = numba.njit(nogil=True, cache=True, fastmath=False)
