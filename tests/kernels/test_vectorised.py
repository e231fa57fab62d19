"""The woods batch loop compiles to packed SIMD arithmetic (kernels.accelerate).

The cached kernels cannot be inspected, so the loop is compiled afresh from its Python
source with the project's options; its callees are the same cached kernels. Only on x86-64,
where packed double arithmetic has the mnemonics checked (SSE2 `divpd`, AVX `vdivpd`).
"""
import platform
import re

import numba
import numpy as np
import pytest

from reesens.kernels import woods

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="packed-double mnemonics checked for x86-64 only")


def test_woods_row_loop_is_inlined_and_uses_packed_division_and_multiplication():
    loop = numba.njit(nogil=True, error_model="numpy")(woods._evaluate_rows.py_func)
    params = np.asfortranarray(np.full((4, len(woods.PARAMS)), 0.5))
    out = woods.allocate_outputs(4)
    loop(params, 0, 0, 0, *(out[name] for name in woods.OUTPUT_NAMES))
    signature = loop.signatures[0]
    asm = loop.inspect_asm(signature)
    packed = set(re.findall(r"\bv?(div|mul|sub|blendv)pd\b", asm))
    assert {"div", "mul", "sub"} <= packed, f"scalar loop: packed ops found {packed}"
    calls = re.findall(r'call [^@]*@"?([\w.$]+)', loop.inspect_llvm(signature))
    assert not [c for c in calls if "woods12evaluate_row" in c]  # mangled woods.evaluate_row, "the row function is not inlined"
    np.testing.assert_array_equal(out["eq"], woods.evaluate_block(params)["eq"])
