"""Layer and batch normalization, forward and backward, on 2-D arrays.

LayerNorm normalizes each row of (rows, features); BatchNorm each column of (batch,
features). Both keep the normalized input ``xhat`` and 1 / std for the backward, and both
use the biased variance, as torch does for normalizing.
"""
import numpy as np

from .jit import summing_kernel


@summing_kernel
def layer_norm(x, weight, bias, eps):
    """Each row of x (rows, d) normalized, times weight (d,) plus bias (d,).

    Returns (y (rows, d), xhat (rows, d), rstd (rows,)).
    """
    rows, d = x.shape
    y, xhat = np.empty_like(x), np.empty_like(x)
    rstd = np.empty(rows, dtype=x.dtype)
    for r in range(rows):
        mean = 0.0
        for j in range(d):
            mean += x[r, j]
        mean /= d
        var = 0.0
        for j in range(d):
            var += (x[r, j] - mean) ** 2
        rstd[r] = 1.0 / np.sqrt(var / d + eps)
        for j in range(d):
            xhat[r, j] = (x[r, j] - mean) * rstd[r]
            y[r, j] = xhat[r, j] * weight[j] + bias[j]
    return y, xhat, rstd


@summing_kernel
def layer_norm_backward(grad, xhat, rstd, weight):
    """Gradients of layer_norm: (for x (rows, d), for weight (d,), for bias (d,))."""
    rows, d = grad.shape
    grad_x = np.empty_like(grad)
    grad_weight, grad_bias = np.zeros(d, dtype=grad.dtype), np.zeros(d, dtype=grad.dtype)
    for r in range(rows):
        mean_g, mean_gx = 0.0, 0.0
        for j in range(d):
            g = grad[r, j] * weight[j]
            mean_g += g
            mean_gx += g * xhat[r, j]
            grad_weight[j] += grad[r, j] * xhat[r, j]
            grad_bias[j] += grad[r, j]
        mean_g /= d
        mean_gx /= d
        for j in range(d):
            grad_x[r, j] = rstd[r] * (grad[r, j] * weight[j] - mean_g - xhat[r, j] * mean_gx)
    return grad_x, grad_weight, grad_bias


@summing_kernel
def batch_norm(x, weight, bias, eps):
    """Each column of x (batch, c) normalized by its batch mean and variance, times weight
    (c,) plus bias (c,). Returns (y, xhat, mean (c,), biased var (c,), rstd (c,))."""
    batch, c = x.shape
    mean, var = np.zeros(c, dtype=x.dtype), np.zeros(c, dtype=x.dtype)
    for r in range(batch):
        for j in range(c):
            mean[j] += x[r, j]
    mean /= batch
    for r in range(batch):
        for j in range(c):
            var[j] += (x[r, j] - mean[j]) ** 2
    rstd = np.empty(c, dtype=x.dtype)
    for j in range(c):
        var[j] /= batch
        rstd[j] = 1.0 / np.sqrt(var[j] + eps)
    y, xhat = np.empty_like(x), np.empty_like(x)
    for r in range(batch):
        for j in range(c):
            xhat[r, j] = (x[r, j] - mean[j]) * rstd[j]
            y[r, j] = xhat[r, j] * weight[j] + bias[j]
    return y, xhat, mean, var, rstd


@summing_kernel
def batch_norm_backward(grad, xhat, rstd, weight):
    """Gradients of batch_norm: (for x (batch, c), for weight (c,), for bias (c,))."""
    batch, c = grad.shape
    grad_weight, grad_bias = np.zeros(c, dtype=grad.dtype), np.zeros(c, dtype=grad.dtype)
    for r in range(batch):
        for j in range(c):
            grad_weight[j] += grad[r, j] * xhat[r, j]
            grad_bias[j] += grad[r, j]
    grad_x = np.empty_like(grad)
    for r in range(batch):
        for j in range(c):
            grad_x[r, j] = weight[j] * rstd[j] * (
                grad[r, j] - (grad_bias[j] + xhat[r, j] * grad_weight[j]) / batch)
    return grad_x, grad_weight, grad_bias
