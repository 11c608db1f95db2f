"""Matrix product and its backward, through Numba's ``np.dot`` (SciPy's BLAS).

The backward products read the transposes as strided views (``b.T`` of a C array is an F
array), so BLAS gets a transpose flag instead of a transposed copy.
"""
import numpy as np

from .jit import kernel


@kernel
def mm(a, b):
    """a @ b: (n, k), (k, m) -> (n, m)."""
    return np.dot(a, b)


@kernel
def mm_grad_left(grad, b):
    """Gradient of a @ b with respect to a: grad @ b.T, (n, m), (k, m) -> (n, k)."""
    return np.dot(grad, b.T)


@kernel
def mm_grad_right(a, grad):
    """Gradient of a @ b with respect to b: a.T @ grad, (n, k), (n, m) -> (k, m)."""
    return np.dot(a.T, grad)
