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


@kernel
def linear(x, w, b):
    """x @ w + b, the bias added to every row: (n, k), (k, m), (m,) -> (n, m)."""
    out = np.dot(x, w)
    for i in range(out.shape[0]):
        out[i, :] += b
    return out


@kernel
def column_sums(grad):
    """Gradient of the bias of ``linear``: grad summed over rows, (n, m) -> (m,)."""
    out = np.zeros(grad.shape[1], dtype=grad.dtype)
    for i in range(grad.shape[0]):
        out += grad[i, :]
    return out
