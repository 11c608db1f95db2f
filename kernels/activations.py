"""Sigmoid, tanh and ReLU on flat arrays; each backward reads the forward's output y, not x.

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
