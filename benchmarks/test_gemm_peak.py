"""The machine's GEMM peak: a large square product through jitgrad's gemm, on each backend."""
import pytest

from jitgrad.backend import gemm
from kernels import mkl

from .gemm import GemmRun, Product
from .workloads import DTYPES

SIZE = 2048
BACKENDS = ["openblas", pytest.param("mkl", marks=pytest.mark.skipif(
    not mkl.installed(), reason='MKL is optional: pip install "jitgrad[mkl]"'))]


@pytest.fixture
def backend_for_the_test():
    """``use(backend)`` runs every product on it until the test ends; then the choice returns."""
    gemm.ensure_chosen()
    before = (gemm._Decision.choice, gemm._Decision.reason)
    yield lambda backend: gemm.install(gemm.uniform(backend), f"benchmark of {backend}")
    gemm.install(*before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_peak(jitgrad_benchmark, backend_for_the_test, dtype, backend):
    backend_for_the_test(backend)
    run = GemmRun([Product(SIZE, SIZE, SIZE)], dtype)
    jitgrad_benchmark(run, group="gemm_peak", seconds=3.0, kind="peak", dtype=dtype, size=SIZE,
            flops=run.flops, backend=backend)
