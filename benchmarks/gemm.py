"""Matrix products alone, through the BLAS jitgrad uses: ``kernels.blas.gemm``, on the backend
``jitgrad.backend.gemm`` chose for each product's shape class (MKL or SciPy's OpenBLAS).

NumPy's ``@`` would call NumPy's own bundled OpenBLAS instead; on 2 cores its idle thread
pool spinning next to SciPy's distorts timings, so every product here goes through Numba.
Outputs are preallocated: a floor should not pay for allocation.

``blas.gemm``'s table slots are compiled into ``matmul_into`` and Numba's cache only notices
changes to this file: when kernels/blas.py changes, touch this file too.
"""
from dataclasses import dataclass

import numpy as np
from numba import njit

from kernels.blas import gemm


@njit(cache=True, nogil=True)
def matmul_into(a, b, out):
    """out[...] = a @ b for C- or F-contiguous (m, k), (k, n) and C-contiguous out (m, n).

    A transposed operand is passed as the ``.T`` view of a C array (an F array), which BLAS
    reads with a transpose flag, as jitgrad's backward products do.
    """
    gemm(a, b, out, 1.0, 0.0)


@dataclass(frozen=True)
class Product:
    """One matrix product (m, k) @ (k, n); ``transposed`` names the operand ("a" or "b") that
    is stored the other way round and read transposed, as in a backward pass."""

    m: int
    k: int
    n: int
    transposed: str = ""

    @property
    def flops(self):
        return 2 * self.m * self.k * self.n

    def operands(self, dtype, rng):
        """(a, b, out) arrays of ``dtype`` for this product, ready for ``matmul_into``."""
        a_shape = (self.k, self.m) if self.transposed == "a" else (self.m, self.k)
        b_shape = (self.n, self.k) if self.transposed == "b" else (self.k, self.n)
        a, b = (rng.standard_normal(shape).astype(dtype) for shape in (a_shape, b_shape))
        return (a.T if self.transposed == "a" else a, b.T if self.transposed == "b" else b,
                np.empty((self.m, self.n), dtype=dtype))


class GemmRun:
    """Runs a list of products in order, each on its own preallocated operands.

    Repeated products (an unrolled RNN's steps) share operands, as the real step reuses its
    weights; ``flops`` still counts every product.
    """

    def __init__(self, products, dtype, seed=0):
        rng = np.random.default_rng(seed)
        operands = {p: p.operands(np.dtype(dtype), rng) for p in dict.fromkeys(products)}
        self.calls = [operands[p] for p in products]
        self.flops = sum(p.flops for p in products)

    def __call__(self):
        for a, b, out in self.calls:
            matmul_into(a, b, out)

