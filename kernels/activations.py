"""Sigmoid, tanh, ReLU, leaky ReLU, softplus and GELU on flat arrays. The first three's
backwards read the forward's output y; the others' read the input x.

The loops store into ``np.empty_like`` outputs: array expressions such as ``1.0 - y`` would
promote float32 to float64.
"""

import numpy as np

from . import vmath
from .jit import kernel


@kernel
def sigmoid(x):
    """1 / (1 + exp(-x)), shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = vmath.sigmoid(x[i])
    return out


@kernel
def sigmoid_backward(grad, y):
    """grad * y * (1 - y) for y = sigmoid(x), shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(y)
    for i in range(y.size):
        out[i] = grad[i] * y[i] * (1.0 - y[i])
    return out


@kernel
def tanh(x):
    """tanh(x), shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = vmath.tanh(x[i])
    return out


@kernel
def tanh_backward(grad, y):
    """grad * (1 - y * y) for y = tanh(x), shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(y)
    for i in range(y.size):
        out[i] = grad[i] * (1.0 - y[i] * y[i])
    return out


@kernel
def relu(x):
    """max(x, 0), shape (n,) -> (n,); NaN stays NaN, as with np.maximum."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = 0.0 if x[i] < 0.0 else x[i]
    return out


@kernel
def relu_backward(grad, y):
    """grad where y = relu(x) > 0, else 0, shapes (n,), (n,) -> (n,)."""
    out = np.empty_like(y)
    for i in range(y.size):
        out[i] = grad[i] if y[i] > 0.0 else 0.0
    return out


@kernel
def leaky_relu(x, slope):
    """x where x >= 0, else slope * x; shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = x[i] if x[i] >= 0.0 else slope * x[i]
    return out


@kernel
def leaky_relu_backward(grad, x, slope):
    """grad where x > 0, else slope * grad (torch's choice at 0); (n,), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = grad[i] if x[i] > 0.0 else slope * grad[i]
    return out


@kernel
def softplus(x, beta, threshold):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (PyTorch's
    softplus), shape (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        z = beta * x[i]
        out[i] = x[i] if z > threshold else np.log1p(np.exp(z)) / beta
    return out


@kernel
def softplus_backward(grad, x, beta, threshold):
    """grad * sigmoid(beta * x), and grad itself where beta * x > threshold, shapes (n,),
    (n,) -> (n,)."""
    out = np.empty_like(grad)
    for i in range(x.size):
        z = beta * x[i]
        out[i] = grad[i] if z > threshold else grad[i] * vmath.sigmoid(z)
    return out


@kernel
def gelu(x, cdf):
    """x * Phi(x), Phi the standard normal CDF in its exact erf form; (n,) -> (n,). Phi(x) is
    written into ``cdf`` (n,), for the backward."""
    out = np.empty_like(x)
    for i in range(x.size):
        cdf[i] = vmath.normal_cdf(x[i])
        out[i] = x[i] * cdf[i]
    return out


@kernel
def gelu_backward(grad, x, cdf):
    """grad * (Phi(x) + x * phi(x)), phi the standard normal density, Phi from the forward;
    (n,), (n,), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = grad[i] * (cdf[i] + x[i] * vmath.normal_density(x[i]))
    return out
