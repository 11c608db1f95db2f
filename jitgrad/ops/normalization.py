"""layer_norm and batch_norm (training mode) as ops over ``kernels/normalization.py``.

Both take the input and optionally an elementwise weight and bias (``affine``); without
them the kernels get ones and zeros, and no gradient is returned for them.
"""
import math
import numbers

import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, rows
from jitgrad.ops.registry import BadInput, Example, apply, array_of, register
from kernels import normalization as k


def _check_eps(op, eps):
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not eps >= 0:
        raise ValueError(f"{op}: eps must be a non-negative number, got {eps!r}")
    return float(eps)


def _affine(op, arrays, shape, dtype):
    """(weight, bias) for the kernels: the given arrays of ``shape``, or ones and zeros."""
    if any(a.shape != shape for a in arrays):
        raise ValueError(f"{op}: weight and bias must have shape {shape}, got "
                         f"{', '.join(describe(a) for a in arrays)}")
    if not arrays:
        return np.ones(shape, dtype=dtype).reshape(-1), np.zeros(shape, dtype=dtype).reshape(-1)
    weight = np.ascontiguousarray(arrays[0], dtype=dtype).reshape(-1)
    bias = (np.ascontiguousarray(arrays[1], dtype=dtype).reshape(-1) if len(arrays) == 2
            else np.zeros_like(weight))
    return weight, bias


class LayerNorm(Op):
    """x (..., *normalized_shape)[, weight, bias (normalized_shape)] -> x normalized over
    its last ``len(normalized_shape)`` dims, times weight plus bias."""

    creation_op = "layer_norm"

    def __init__(self, normalized_shape, eps):
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else \
            tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, _check_eps("layer_norm", eps)

    def forward(self, x, *affine):
        n = len(self.normalized_shape)
        if x.shape[x.ndim - n:] != self.normalized_shape or x.ndim < n or \
                math.prod(self.normalized_shape) == 0:
            raise ValueError(f"layer_norm: input {describe(x)} does not end in the non-empty "
                             f"normalized_shape {self.normalized_shape}")
        dtype = float_dtype("layer_norm", x, *affine)
        self.weight, bias = _affine("layer_norm", affine, self.normalized_shape, dtype)
        self.shape, self.n_affine = x.shape, len(affine)
        y, self.xhat, self.rstd = k.layer_norm(rows(x, dtype, self.weight.size), self.weight,
                                               bias, self.eps)
        return y.reshape(x.shape)

    def backward(self, grad, needs_grad):
        grad_x, grad_weight, grad_bias = k.layer_norm_backward(
            rows(grad, self.xhat.dtype, self.weight.size), self.xhat, self.rstd, self.weight)
        return [grad_x.reshape(self.shape)] + [
            g.reshape(self.normalized_shape) for g in (grad_weight, grad_bias)[:self.n_affine]]


class BatchNorm(Op):
    """x (batch, features)[, weight, bias (features,)] -> each feature normalized by the
    batch's mean and (biased) variance, times weight plus bias.

    ``running``: the running (mean, var) arrays (features,) or Nones; each forward moves them,
    in place, towards the batch's statistics by ``momentum`` (the variance unbiased, as in
    torch), and adds 1 to ``counter`` (a 0-d int array, BatchNorm1d's
    ``num_batches_tracked``) when given. The forward does it, not the function applying the
    op, so that a compiled step (``jitgrad.compile``), which replays forwards, updates them too.
    """

    creation_op = "batch_norm"

    def __init__(self, eps, running=(None, None), momentum=0.1, counter=None):
        self.eps = _check_eps("batch_norm", eps)
        self.running, self.momentum, self.counter = running, momentum, counter

    def forward(self, x, *affine):
        if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] == 0:
            raise ValueError(f"batch_norm: input {describe(x)} must be (batch, features) with "
                             "more than one row and at least one feature")
        dtype = float_dtype("batch_norm", x, *affine)
        self.weight, bias = _affine("batch_norm", affine, x.shape[1:], dtype)
        self.n_affine = len(affine)
        y, self.xhat, mean, var, self.rstd = k.batch_norm(
            np.ascontiguousarray(x, dtype=dtype), self.weight, bias, self.eps)
        batch = x.shape[0]
        for running, batch_value in zip(self.running, (mean, var * (batch / (batch - 1)))):
            if running is not None:  # in place: the caller's arrays are the running state
                running *= 1 - self.momentum
                running += self.momentum * batch_value
        if self.counter is not None:
            self.counter += 1  # in place, as the running statistics
        return y

    def backward(self, grad, needs_grad):
        grad_x, grad_weight, grad_bias = k.batch_norm_backward(
            np.ascontiguousarray(grad), self.xhat, self.rstd, self.weight)
        return [grad_x] + [grad_weight, grad_bias][:self.n_affine]


class RunningStatistic(Op):
    """() -> ``compute()``: an array made from running statistics when the op runs, so that
    a compiled step's replay (``jitgrad.compile``) reads them as they are then."""

    creation_op = "running_statistic"

    def __init__(self, compute):
        self.compute = compute

    def forward(self):
        return self.compute()


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """``input`` normalized over its last dims (``normalized_shape``), times ``weight``
    plus ``bias`` when given."""
    affine = [t for t in (weight, bias) if t is not None]
    if bias is not None and weight is None:
        raise ValueError("layer_norm: a bias needs a weight")
    return apply(LayerNorm(normalized_shape, eps), input, *affine)


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5, *, num_batches_tracked=None):
    """``input`` (batch, features) normalized per feature, times ``weight`` plus ``bias``.

    While ``training``: by the batch's mean and biased variance, and the running statistics
    (NumPy arrays of (features,), or None) move towards the batch's by ``momentum``, the
    variance unbiased, as in torch; ``num_batches_tracked`` (a 0-d int array, jitgrad's
    addition) counts the training batches. Otherwise by the running statistics.
    """
    affine = [t for t in (weight, bias) if t is not None]
    if training:
        running = tuple(None if r is None else array_of(r) for r in (running_mean, running_var))
        counter = None if num_batches_tracked is None else array_of(num_batches_tracked)
        return apply(BatchNorm(eps, running, momentum, counter), input, *affine)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation needs running_mean and running_var")
    dtype = input.dtype if input.dtype.kind == "f" else np.dtype(np.float64)
    mean = apply(RunningStatistic(lambda: array_of(running_mean).astype(dtype)))
    scale = apply(RunningStatistic(lambda: (1 / np.sqrt(array_of(running_var) + eps)).astype(dtype)))
    out = (input - mean) * scale
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


register("layer_norm", layer_norm, functional=["layer_norm"], examples=[
    Example(lambda lib, x, w, b: lib.F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    Example(lambda lib, x: lib.F.layer_norm(x, (3, 4)), [(2, 3, 4)]),
    Example(lambda lib, x, w, b: lib.F.layer_norm(x, [2, 3], w, b, eps=1e-3), [(2, 2, 3), (2, 3), (2, 3)]),
], bad_inputs=[
    BadInput(lambda lib, x: lib.F.layer_norm(x, (3,)), [(3, 4)], ValueError,
             r"layer_norm: input float64\[3, 4\] does not end in the non-empty normalized_shape \(3,\)"),
    BadInput(lambda lib, x, w, b: lib.F.layer_norm(x, (4,), w, b), [(3, 4), (3,), (4,)], ValueError,
             r"layer_norm: weight and bias must have shape \(4,\)"),
    BadInput(lambda lib, x: lib.F.layer_norm(x, (4,), eps=-1.0), [(3, 4)], ValueError,
             "layer_norm: eps must be"),
])
register("batch_norm", batch_norm, functional=["batch_norm"], examples=[
    Example(lambda lib, x, w, b: lib.F.batch_norm(x, None, None, w, b, training=True),
            [(5, 3), (3,), (3,)]),
    Example(lambda lib, x: lib.F.batch_norm(x, None, None, training=True), [(4, 2)]),
    Example(lambda lib, x, w, b: lib.F.batch_norm(x, lib.tensor(np.array([0.5, -1.0])),
                                                  lib.tensor(np.array([2.0, 0.5])), w, b),
            [(3, 2), (2,), (2,)]),
], bad_inputs=[
    BadInput(lambda lib, x: lib.F.batch_norm(x, None, None, training=True), [(1, 3)], ValueError,
             r"batch_norm: input float64\[1, 3\] must be \(batch, features\)"),
    BadInput(lambda lib, x, w, b: lib.F.batch_norm(x, None, None, w, b, training=True),
             [(4, 3), (2,), (2,)], ValueError, r"batch_norm: weight and bias must have shape \(3,\)"),
    BadInput(lambda lib, x: lib.F.batch_norm(x, None, None), [(4, 3)], ValueError,
             "batch_norm: evaluation needs running_mean and running_var"),
])
