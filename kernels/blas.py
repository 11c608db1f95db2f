"""General matrix multiply with accumulation, C = alpha * A @ B + beta * C, inside Numba.

``np.dot`` always writes a new array. A parameter used in many steps of a graph (an RNN's
weights) then costs a temporary and an extra pass over memory per use; with beta = 1 the
product adds straight into the gradient buffer. This calls the same BLAS as Numba's ``np.dot``
(SciPy's, through Numba's ``numba_xxgemm`` helper), so every product stays on one thread pool.
"""
import numpy as np
from numba import types
from numba.extending import overload, register_jitable
from numba.np.linalg import _BLAS, get_blas_kind


def gemm(a, b, c, alpha, beta):
    """c = alpha * a @ b + beta * c, in place: a (m, k), b (k, n), c (m, n) C-contiguous.

    a and b may be C- or F-contiguous (so ``x.T`` views need no copy). Only callable from
    Numba-compiled code.
    """
    raise NotImplementedError("gemm is compiled into kernels; call it from @kernel code")


@register_jitable
def _keep_alive(arrays):
    """Referenced after the BLAS call, so the arrays it reads are not freed before it runs."""
    return arrays[0]


@overload(gemm)
def _gemm_impl(a, b, c, alpha, beta):
    if not isinstance(a, types.Array) or a.dtype not in (types.float32, types.float64):
        return None
    xxgemm = _BLAS().numba_xxgemm(a.dtype)
    kind = ord(get_blas_kind(a.dtype, "gemm"))
    no_transpose, transpose = ord("N"), ord("T")
    dtype = a.dtype

    def impl(a, b, c, alpha, beta):
        m, k = a.shape
        n = b.shape[1]
        if m == 0 or n == 0:
            return
        if k == 0:
            c *= beta
            return
        # BLAS is column-major: a row-major C is a column-major C.T = B.T @ A.T, and a
        # C-contiguous matrix read column-major is its own transpose.
        b_flag, ldb = (no_transpose, n) if b.flags.c_contiguous else (transpose, k)
        a_flag, lda = (no_transpose, k) if a.flags.c_contiguous else (transpose, m)
        scalars = np.array([alpha, beta], dtype=dtype)
        xxgemm(kind, b_flag, a_flag, n, m, k, scalars[0:].ctypes, b.ctypes, ldb,
               a.ctypes, lda, scalars[1:].ctypes, c.ctypes, n)
        _keep_alive((a, b, c, scalars))
    return impl
