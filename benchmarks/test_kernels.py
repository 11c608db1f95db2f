"""Each kernel in ``kernels/`` timed beside the plain NumPy expression for the same result
(``benchmarks/kernel_cases.py``; ``tests/kernels/test_kernels.py`` checks that the results agree)."""
import numpy as np
import pytest

from .kernel_cases import CASES
from .workloads import DTYPES

KERNEL_SECONDS = 0.5

BENCHMARKS = [(case, dtype, implementation) for case in CASES for dtype in DTYPES
              for implementation in ("jitgrad", "numpy")]


@pytest.mark.parametrize("case, dtype, implementation", BENCHMARKS,
                         ids=[f"{c.name}-{d}-{i}" for c, d, i in BENCHMARKS])
def test_kernel(jitgrad_benchmark, case, dtype, implementation):
    kernel = case.kernel()
    if kernel is None:
        pytest.skip(f"kernels.{case.module}.{case.name} no longer exists")
    args = case.make_args(np.random.default_rng(0), np.dtype(dtype))
    fn = kernel if implementation == "jitgrad" else case.numpy_fn
    jitgrad_benchmark(lambda: fn(*args), group=f"kernel-{case.name}-{dtype}", seconds=KERNEL_SECONDS,
            kind="kernel", kernel=case.name, dtype=dtype, implementation=implementation)
