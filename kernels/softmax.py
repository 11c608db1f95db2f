"""Softmax over the last axis and the softmax cross-entropy loss, on (rows, classes) arrays.

Both subtract each row's maximum before exponentiating, so large logits never overflow.
"""
import numpy as np

from . import vmath
from .jit import kernel


@kernel
def softmax(x):
    """Row-wise softmax, (rows, classes) -> (rows, classes)."""
    out = np.empty_like(x)
    for r in range(x.shape[0]):
        row_max = x[r].max()
        total = 0.0
        for c in range(x.shape[1]):
            out[r, c] = vmath.exp_nonpositive(x[r, c] - row_max)
            total += out[r, c]
        out[r] /= total
    return out


@kernel
def softmax_backward(grad, y):
    """grad of softmax given its output y: y * (grad - sum(grad * y)), per row."""
    out = np.empty_like(y)
    for r in range(y.shape[0]):
        dot = 0.0
        for c in range(y.shape[1]):
            dot += grad[r, c] * y[r, c]
        for c in range(y.shape[1]):
            out[r, c] = y[r, c] * (grad[r, c] - dot)
    return out


@kernel
def cross_entropy(logits, targets):
    """Mean over rows of -log(softmax(logits)[row, target]).

    logits (rows, classes) float, targets (rows,) int in [0, classes).
    Returns (loss as float64, probabilities (rows, classes)) -- the backward needs the latter.
    """
    probs = softmax(logits)
    total = 0.0
    for r in range(logits.shape[0]):
        row_max = logits[r].max()
        log_sum = 0.0
        for c in range(logits.shape[1]):
            log_sum += vmath.exp_nonpositive(logits[r, c] - row_max)
        total += np.log(log_sum) + row_max - logits[r, targets[r]]
    return total / logits.shape[0], probs


@kernel
def cross_entropy_backward(probs, targets, grad):
    """Gradient of the mean cross-entropy: (probs - onehot(targets)) * grad / rows."""
    scale = grad / probs.shape[0]
    out = np.empty_like(probs)  # filled in a loop so float32 stays float32
    for r in range(probs.shape[0]):
        for c in range(probs.shape[1]):
            out[r, c] = probs[r, c] * scale
        out[r, targets[r]] -= scale
    return out
