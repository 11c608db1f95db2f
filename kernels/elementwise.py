"""Elementwise arithmetic on equal-shape, C-contiguous 1-D arrays of one float dtype.

The caller flattens its operands; each op's backward is built from these same kernels
(d(a*b) = g*b and g*a, d(-a) = -g, d(a/b) = g/b and -g*out/b).
"""
from .jit import kernel


@kernel
def add(a, b):
    """a + b, shapes (n,), (n,) -> (n,)."""
    return a + b


@kernel
def sub(a, b):
    """a - b, shapes (n,), (n,) -> (n,)."""
    return a - b


@kernel
def mul(a, b):
    """a * b, shapes (n,), (n,) -> (n,)."""
    return a * b


@kernel
def div(a, b):
    """a / b, shapes (n,), (n,) -> (n,)."""
    return a / b


@kernel
def neg(a):
    """-a, shape (n,) -> (n,)."""
    return -a


@kernel
def div_backward_divisor(grad, out, b):
    """Gradient of a / b with respect to b: -grad * out / b, all (n,) -> (n,)."""
    return -grad * out / b


@kernel
def add_into(total, x):
    """total += x in place, shapes (n,), (n,); used to accumulate gradients."""
    for i in range(total.size):
        total[i] += x[i]
