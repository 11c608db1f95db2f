"""Fused losses: the book's squared error (four graph ops, sub, sub, mul, sum, in one kernel)
and the binary cross-entropy of logits."""
import numpy as np

from . import vmath
from .jit import kernel


@kernel
def squared_error(pred, target):
    """Sum over rows of (pred - target)**2, (n, m), (n, m) -> (m,); also returns pred - target."""
    diff = np.empty_like(pred)
    out = np.zeros(pred.shape[1], dtype=pred.dtype)
    for i in range(pred.shape[0]):
        for j in range(pred.shape[1]):
            diff[i, j] = pred[i, j] - target[i, j]
            out[j] += diff[i, j] * diff[i, j]
    return out, diff


@kernel
def squared_error_backward(grad, diff):
    """Gradient with respect to pred: 2 * diff * grad (grad (m,) for each row of diff (n, m)).

    The gradient with respect to the target is its negative.
    """
    out = np.empty_like(diff)
    for i in range(diff.shape[0]):
        for j in range(diff.shape[1]):
            out[i, j] = 2.0 * diff[i, j] * grad[j]
    return out


@kernel
def bce_with_logits(x, target):
    """Elementwise binary cross-entropy of sigmoid(x) against target, computed stably as
    max(x, 0) - x * target + log(1 + exp(-|x|)); flat (n,), (n,) -> (n,)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = max(x[i], 0.0) - x[i] * target[i] + np.log1p(np.exp(-abs(x[i])))
    return out


@kernel
def bce_with_logits_backward(grad, x, target):
    """(grad for x, grad for target): grad * (sigmoid(x) - target) and -grad * x, flat (n,)."""
    grad_x, grad_target = np.empty_like(x), np.empty_like(x)
    for i in range(x.size):
        grad_x[i] = grad[i] * (vmath.sigmoid(x[i]) - target[i])
        grad_target[i] = -grad[i] * x[i]
    return grad_x, grad_target
