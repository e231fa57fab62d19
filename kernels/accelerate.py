"""The one numba decorator of the project.

`nogil` so worker threads run kernels side by side, `cache` so a process compiles once per
machine, `error_model="numpy"` so a float division is IEEE (x/0 gives inf or NaN) rather
than guarded by a zero check that raises ZeroDivisionError: the check is a branch in
every division that keeps LLVM from vectorising loops. Where a division may see a zero
or an invalid input, the kernels either test validity first or compute every row and
replace an invalid row's outputs by a select. Never full `fastmath`: it breaks NaN
handling. `jit_sums` adds one fast-math flag, `reassoc`, for the loops that only add up
rows: it lets LLVM split a sum into vector lanes (4-10x faster); it changes no NaN, inf
or rounding rule, only the order of the additions, which is fixed by the compiled code:
the same in every run and every thread on one machine, possibly different in the last
bits on a CPU with other vector widths.

Two LLVM limits would still keep the woods batch loop scalar, and are raised for every
numba compilation in the process (they change which loops LLVM vectorises or inlines,
never a result): the scalar row function, a few hundred instructions once its callees are
inlined, is above LLVM's default inlining threshold, so the loop called it row by row;
and a loop writing 17 output arrays needs more run-time checks that the arrays do not
overlap than the vectoriser's defaults allow (the three memory-check thresholds below).
With both raised the loop body is inlined and vectorised (packed vdivpd/vmulpd on
AVX2; tests/kernels/test_vectorised.py).

numba keys a cached function on its own source file only, so a kernel that inlines a
function from another module would keep a stale compiled copy after that module changes.
Every kernel here is therefore cached in a directory named after a hash of all the kernel
sources: any edit to any of them starts a fresh cache.
"""
import hashlib
import os
import tempfile
from pathlib import Path

import llvmlite.binding as llvm
import numba

LLVM_OPTIONS = ("-inline-threshold=5000", "-runtime-memory-check-threshold=512",
                "-vectorize-memory-check-threshold=2048", "-memory-check-merge-threshold=2048")
for _option in LLVM_OPTIONS:
    llvm.set_option("", _option)

_SOURCES = sorted(Path(__file__).parent.glob("*.py"))
_DIGEST = hashlib.sha256(b"".join(p.read_bytes() for p in _SOURCES)).hexdigest()[:16]


def _cache_dir() -> str:
    """A writable cache directory for this exact version of the kernel sources."""
    roots = [os.environ.get("NUMBA_CACHE_DIR"), Path(__file__).parent / "__pycache__",
             Path.home() / ".cache" / "reesens", Path(tempfile.gettempdir()) / "reesens"]
    for root in filter(None, roots):
        path = Path(root) / f"numba-{_DIGEST}"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return str(path)
    return ""  # no writable place: numba then falls back to its own default locations


_CACHE_DIR = _cache_dir()


def jit_sums(func):
    """`jit` with the fast-math flag `reassoc` only: for reductions (see above)."""
    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = _CACHE_DIR
    try:
        return numba.njit(nogil=True, cache=True, fastmath={"reassoc"},
                          error_model="numpy")(func)
    finally:
        numba.config.CACHE_DIR = previous


def jit(func):
    """numba.njit(nogil=True, cache=True, error_model="numpy"), cached under this source
    version's directory."""
    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = _CACHE_DIR
    try:
        return numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")(func)
    finally:
        numba.config.CACHE_DIR = previous
