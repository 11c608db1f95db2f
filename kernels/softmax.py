"""Softmax over the last axis and the softmax cross-entropy loss, on (rows, classes) arrays.

Both subtract each row's maximum before exponentiating, so large logits never overflow.
"""
import numpy as np

from . import vmath
from .jit import kernel, summing_kernel
from .vmath import inline


@inline
def _softmax_row(x, r, out):
    """out[r] = softmax(x[r]); returns (row max, sum of exp(x[r] - max)) for log-sum-exp."""
    row_max = x[r, 0]
    for c in range(1, x.shape[1]):
        row_max = max(row_max, x[r, c])
    for c in range(x.shape[1]):
        out[r, c] = vmath.exp_nonpositive(x[r, c] - row_max)
    total = 0.0
    for c in range(x.shape[1]):
        total += out[r, c]
    for c in range(x.shape[1]):
        out[r, c] /= total
    return row_max, total


@summing_kernel
def softmax(x):
    """Row-wise softmax, (rows, classes) -> (rows, classes)."""
    out = np.empty_like(x)
    for r in range(x.shape[0]):
        _softmax_row(x, r, out)
    return out


@summing_kernel
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


@summing_kernel
def cross_entropy(logits, targets):
    """Mean over rows of -log(softmax(logits)[row, target]).

    logits (rows, classes) float, targets (rows,) int in [0, classes).
    Returns (loss as float64, probabilities (rows, classes)) -- the backward needs the latter.
    Each row's loss is log(sum(exp(x - max))) + max - x[target], exact for tiny probabilities.
    """
    probs = np.empty_like(logits)
    total = 0.0
    for r in range(logits.shape[0]):
        row_max, row_sum = _softmax_row(logits, r, probs)
        total += np.log(row_sum) + row_max - logits[r, targets[r]]
    return total / logits.shape[0], probs


@summing_kernel
def cross_entropy_backward(probs, targets, grad):
    """Gradient of the mean cross-entropy: (probs - onehot(targets)) * grad / rows."""
    scale = grad / probs.shape[0]
    out = np.empty_like(probs)  # filled in a loop so float32 stays float32
    for r in range(probs.shape[0]):
        for c in range(probs.shape[1]):
            out[r, c] = probs[r, c] * scale
        out[r, targets[r]] -= scale
    return out


@summing_kernel
def log_softmax(x):
    """Row-wise log-softmax x - max - log(sum(exp(x - max))), (rows, classes) -> same."""
    out = np.empty_like(x)
    for r in range(x.shape[0]):
        row_max, total = _softmax_row(x, r, out)  # out[r] holds softmax(x[r]) for now
        shift = row_max + np.log(total)
        for c in range(x.shape[1]):
            out[r, c] = x[r, c] - shift
    return out


@summing_kernel
def log_softmax_backward(grad, y):
    """grad of log-softmax given its output y: grad - exp(y) * sum(grad), per row."""
    out = np.empty_like(y)
    for r in range(y.shape[0]):
        total = 0.0
        for c in range(y.shape[1]):
            total += grad[r, c]
        for c in range(y.shape[1]):
            out[r, c] = grad[r, c] - vmath.exp_nonpositive(y[r, c]) * total
    return out


@summing_kernel
def cross_entropy_rows(logits, targets, smoothing):
    """Each row's cross-entropy against its target, with label smoothing ``smoothing``:
    (1 - smoothing) * -log p[target] + smoothing * mean over classes of -log p.

    logits (rows, classes) float, targets (rows,) int -> (losses (rows,), probabilities).
    """
    probs = np.empty_like(logits)
    losses = np.empty(logits.shape[0], dtype=logits.dtype)
    classes = logits.shape[1]
    for r in range(logits.shape[0]):
        row_max, row_sum = _softmax_row(logits, r, probs)
        log_sum = np.log(row_sum) + row_max
        mean_logit = 0.0
        for c in range(classes):
            mean_logit += logits[r, c]
        mean_logit /= classes
        losses[r] = log_sum - (1.0 - smoothing) * logits[r, targets[r]] - smoothing * mean_logit
    return losses, probs


@kernel
def cross_entropy_rows_backward(probs, targets, grad, smoothing):
    """Gradient of cross_entropy_rows: (probs - (1 - s) onehot - s / classes) * grad[row]."""
    out = np.empty_like(probs)
    spread = smoothing / probs.shape[1]
    for r in range(probs.shape[0]):
        for c in range(probs.shape[1]):
            out[r, c] = (probs[r, c] - spread) * grad[r]
        out[r, targets[r]] -= (1.0 - smoothing) * grad[r]
    return out
