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
numba compilation in the process from its first kernel on (they change which loops LLVM
vectorises or inlines, never a result): the scalar row function, a few hundred instructions once its callees are
inlined, is above LLVM's default inlining threshold, so the loop called it row by row;
and a loop writing 17 output arrays needs more run-time checks that the arrays do not
overlap than the vectoriser's defaults allow (the three memory-check thresholds below).
With both raised the loop body is inlined and vectorised (packed vdivpd/vmulpd on
AVX2; tests/kernels/test_vectorised.py).

numba keys a cached function on its own source file only, so a kernel that inlines a
function from another module would keep a stale compiled copy after that module changes.
Every kernel here is therefore cached in a directory named after a hash of all the kernel
sources: any edit to any of them starts a fresh cache.

numba itself (~0.3 s to import) and LLVM's options come with a kernel's first use, not
with the kernel modules: `jit` returns a `Kernel`, which makes its numba dispatcher then.
So the commands that only read studies and stores (`reesens validate`, `show`, `verify`,
`export`) import the models' declarations without numba. numba code calling a Kernel
types it as its dispatcher (`_numba_type_`); a kernel module names numba's own functions
that kernel code calls (literal_unroll) through this module's stand-ins, which its
kernels' first compilation replaces by numba's in the module.
"""
import functools
import hashlib
import importlib
import os
import tempfile
import threading
from pathlib import Path

LLVM_OPTIONS = ("-inline-threshold=5000", "-runtime-memory-check-threshold=512",
                "-vectorize-memory-check-threshold=2048", "-memory-check-merge-threshold=2048")
_LOCK = threading.Lock()  # one dispatcher per kernel, made with numba's CACHE_DIR set


@functools.cache
def _cache_dir() -> str:
    """A writable cache directory for this exact version of the kernel sources."""
    sources = sorted(Path(__file__).parent.glob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    roots = [os.environ.get("NUMBA_CACHE_DIR"), Path(__file__).parent / "__pycache__",
             Path.home() / ".cache" / "reesens", Path(tempfile.gettempdir()) / "reesens"]
    for root in filter(None, roots):
        path = Path(root) / f"numba-{digest}"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return str(path)
    return ""  # no writable place: numba then falls back to its own default locations


@functools.cache
def load_numba():
    """numba, imported with LLVM_OPTIONS set (before anything compiles)."""
    import llvmlite.binding as llvm
    import numba

    for option in LLVM_OPTIONS:
        llvm.set_option("", option)
    return numba


class NumbaName:
    """A stand-in for a numba function that kernel code calls by name (`literal_unroll`):
    numba finds such functions by identity, so a kernel's first compilation binds the
    name to numba's function in the kernel's module."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        return getattr(load_numba(), self.name)(*args, **kwargs)


literal_unroll = NumbaName("literal_unroll")


class Kernel:
    """A numba function compiled at its first call: `numba.njit(func, **options)` made
    then (with `cache=True` under the kernels' cache directory). Calling it calls that
    dispatcher; numba code calling it types it as that dispatcher; its other attributes
    (signatures, stats, inspect_asm) are the dispatcher's; `py_func` is the function."""

    def __init__(self, func, options: dict):
        functools.update_wrapper(self, func)
        self.py_func = func
        self._options = options
        self._dispatcher = None

    @property
    def dispatcher(self):
        """The numba dispatcher (made at the first use)."""
        if self._dispatcher is None:
            numba = load_numba()
            with _LOCK:
                if self._dispatcher is None:
                    names = self.py_func.__globals__
                    for name, value in list(names.items()):
                        if isinstance(value, NumbaName):
                            names[name] = getattr(numba, value.name)
                    previous = numba.config.CACHE_DIR
                    numba.config.CACHE_DIR = _cache_dir()
                    try:
                        self._dispatcher = numba.njit(cache=True, **self._options)(
                            self.py_func)
                    finally:
                        numba.config.CACHE_DIR = previous
        return self._dispatcher

    @property
    def _numba_type_(self):
        return self.dispatcher._numba_type_

    def __call__(self, *args, **kwargs):
        return self.dispatcher(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_options", "_dispatcher", "py_func"):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __reduce__(self):  # pickled by name: the kernel of that module
        return _kernel, (self.__module__, self.__qualname__)

    def __repr__(self):
        return f"<kernel {self.__module__}.{self.__qualname__}>"


def _kernel(module: str, qualname: str) -> Kernel:
    return functools.reduce(getattr, qualname.split("."), importlib.import_module(module))


def jit_sums(func) -> Kernel:
    """`jit` with the fast-math flag `reassoc` only: for reductions (see above)."""
    return Kernel(func, dict(nogil=True, fastmath={"reassoc"}, error_model="numpy"))


def jit(func) -> Kernel:
    """numba.njit(nogil=True, cache=True, error_model="numpy"), cached under this source
    version's directory, made at the first call."""
    return Kernel(func, dict(nogil=True, fastmath=False, error_model="numpy"))
