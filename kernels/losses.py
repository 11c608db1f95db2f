"""The book's squared-error loss, fused: four graph ops (sub, sub, mul, sum) in one kernel."""
import numpy as np

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
