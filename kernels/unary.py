"""Elementwise math of one operand on flat arrays: exp, log, sqrt, sin, cos, abs, clamp and
powers.

Each forward sits beside its backward. Backwards read what is cheapest to reuse: exp's and
sqrt's their output, the others their input. The loops store into ``np.empty_like`` outputs
so that float32 stays float32.
"""
import numpy as np

from .jit import kernel


@kernel
def exp(x):
    """e ** x, shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.exp(x[i])
    return out


@kernel
def exp_backward(grad, y):
    """grad * y for y = exp(x), shapes (n,), (n,) -> (n,)."""
    return grad * y


@kernel
def log(x):
    """Natural log, shape (n,) -> (n,); log(0) = -inf and log(<0) = NaN, as in NumPy."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.log(x[i])
    return out


@kernel
def log_backward(grad, x):
    """grad / x, shapes (n,), (n,) -> (n,)."""
    return grad / x


@kernel
def sqrt(x):
    """Square root, shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.sqrt(x[i])
    return out


@kernel
def sqrt_backward(grad, y):
    """grad / (2 y) for y = sqrt(x), shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(y)
    for i in range(y.size):
        out[i] = grad[i] * 0.5 / y[i]
    return out


@kernel
def sin(x):
    """sin x, shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.sin(x[i])
    return out


@kernel
def sin_backward(grad, x):
    """grad * cos x, shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = grad[i] * np.cos(x[i])
    return out


@kernel
def cos(x):
    """cos x, shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.cos(x[i])
    return out


@kernel
def cos_backward(grad, x):
    """-grad * sin x, shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = -grad[i] * np.sin(x[i])
    return out


@kernel
def abs_(x):
    """|x|, shape (n,) -> (n,)."""
    return np.abs(x)


@kernel
def abs_backward(grad, x):
    """grad * sign(x) (0 at x = 0, as in torch), shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = grad[i] if x[i] > 0 else (-grad[i] if x[i] < 0 else 0.0)
    return out


@kernel
def clamp(x, low, high):
    """min(max(x, low), high), shape (n,) -> (n,); pass -inf or inf for no bound."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = low if x[i] < low else (high if x[i] > high else x[i])
    return out


@kernel
def clamp_backward(grad, x, low, high):
    """grad where low <= x <= high, else 0 (torch's rule at the bounds), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = grad[i] if low <= x[i] <= high else 0.0
    return out


@kernel
def power(x, exponent):
    """x ** exponent for a number exponent, shape (n,) -> (n,); squares multiply."""
    out = np.empty_like(x)
    if exponent == 2.0:
        for i in range(x.size):
            out[i] = x[i] * x[i]
    else:
        for i in range(x.size):
            out[i] = x[i] ** exponent
    return out


@kernel
def power_backward(grad, x, exponent):
    """grad * exponent * x ** (exponent - 1), shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = grad[i] * exponent * x[i] ** (exponent - 1.0)
    return out
