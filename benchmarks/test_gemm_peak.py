"""The machine's GEMM peak: a large square product through jitgrad's BLAS (Numba's np.dot)."""
import pytest

from .gemm import GemmRun, Product
from .workloads import DTYPES

SIZE = 2048


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_peak(measure, dtype):
    run = GemmRun([Product(SIZE, SIZE, SIZE)], dtype)
    measure(run, group="gemm_peak", seconds=3.0, kind="peak", dtype=dtype, size=SIZE,
            flops=run.flops)
