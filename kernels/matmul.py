"""Matrix product and its backward, through ``blas.gemm`` (the BLAS chosen per shape class).

The backward products read the transposes as strided views (``b.T`` of a C array is an F
array), so BLAS gets a transpose flag instead of a transposed copy. The ``_into`` variants
add the product into an existing gradient buffer (BLAS beta = 1) instead of returning it.
"""
import numpy as np
from numba.extending import register_jitable

from .blas import gemm
from .jit import kernel


@kernel
def mm(a, b):
    """a @ b: (n, k), (k, m) -> (n, m)."""
    return _product(a, b)


@kernel
def mm_grad_left(grad, b):
    """Gradient of a @ b with respect to a: grad @ b.T, (n, m), (k, m) -> (n, k)."""
    return _product(grad, b.T)


@kernel
def mm_grad_right(a, grad):
    """Gradient of a @ b with respect to b: a.T @ grad, (n, k), (n, m) -> (k, m)."""
    return _product(a.T, grad)


@kernel
def linear(x, w, b):
    """x @ w + b, the bias added to every row: (n, k), (k, m), (m,) -> (n, m)."""
    out = _product(x, w)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] += b[j]
    return out


@register_jitable
def _product(a, b):
    """a @ b as a new C-contiguous array."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    gemm(a, b, out, 1.0, 0.0)
    return out


@kernel
def column_sums(grad):
    """Gradient of the bias of ``linear``: grad summed over rows, (n, m) -> (m,)."""
    out = np.zeros(grad.shape[1], dtype=grad.dtype)
    column_sums_into(grad, out)
    return out


@kernel
def mm_grad_left_into(grad, b, out):
    """out += grad @ b.T: (n, m), (k, m) into (n, k)."""
    gemm(grad, b.T, out, 1.0, 1.0)


@kernel
def mm_grad_right_into(a, grad, out):
    """out += a.T @ grad: (n, k), (n, m) into (k, m)."""
    gemm(a.T, grad, out, 1.0, 1.0)


@kernel
def mm_grad_right_scaled_into(a, grad, out, scale):
    """out += scale * (a.T @ grad): (n, k), (n, m) into (k, m), in one product (BLAS
    alpha = scale, beta = 1). A compiled step's plain SGD update (scale = -lr) of a weight,
    without its gradient ever written out."""
    gemm(a.T, grad, out, scale, 1.0)


@kernel
def column_sums_scaled_into(grad, out, scale):
    """out += scale * (grad summed over rows): (n, m) into (m,). The sums are rounded first,
    as ``column_sums`` gives them, so that a bias's fused SGD update (scale = -lr) is bit for
    bit the update from its gradient."""
    sums = column_sums(grad)
    for j in range(out.shape[0]):
        out[j] += scale * sums[j]


@kernel
def column_sums_into(grad, out):
    """out += grad summed over rows: (n, m) into (m,)."""
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            out[j] += grad[i, j]


@register_jitable
def product(a, b, transposed):
    """a @ b, a new array; with ``transposed``, computed as (b.T @ a.T).T, which OpenBLAS runs
    faster for some products of few rows (``jitgrad.backend.gemm.transposed_faster`` measures, and
    checks that both give the same numbers: each element's sum runs the same way)."""
    if transposed:
        result = np.empty((b.shape[1], a.shape[0]), dtype=a.dtype)
        gemm(b.T, a.T, result, 1.0, 0.0)
        return result.T
    result = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    gemm(a, b, result, 1.0, 0.0)
    return result


@kernel
def product_either_way(a, b, transposed):
    """``product``, callable from Python: ``jitgrad.backend.gemm.transposed_faster`` compares and
    times the two ways."""
    return product(a, b, transposed)
