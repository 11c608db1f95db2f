"""Losses: the book's fused squared error, mse_loss, l1_loss and the binary cross-entropy
of logits, each with ``reduction='mean'|'sum'|'none'``."""
import math

import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, contiguous, flat, run_eagerly
from jitgrad.ops.registry import BadInput, Example, apply, constant, register
from jitgrad.ops.softmax import REDUCTIONS, check_reduction, reduce_loss
from kernels import losses as k


class SquaredError(Op):
    """pred, target (n, ...) of one shape -> sum over dim 0 of (pred - target)**2: (...)."""

    creation_op = "squared_error"

    def forward(self, pred, target):
        if pred.shape != target.shape or pred.ndim == 0:
            raise ValueError(f"squared_error: pred {describe(pred)} and target {describe(target)} "
                             "need one shape with a batch dim first")
        dtype = float_dtype("squared_error", pred, target)
        self.shape = pred.shape
        out, self.diff = self.forward_program(run_eagerly, contiguous(pred, dtype),
                                              contiguous(target, dtype))
        return out

    def backward(self, grad, needs_grad):
        return self.backward_program(run_eagerly, self.diff, grad, needs_grad)

    def forward_program(self, run, pred, target):
        rows = (self.shape[0], math.prod(self.shape[1:]))
        loss, diff = run(k.squared_error, pred.reshape(rows), target.reshape(rows), results=2)
        return loss.reshape(self.shape[1:]), diff

    def backward_program(self, run, diff, grad, needs_grad):
        grad_pred = run(k.squared_error_backward, grad.reshape(-1), diff).reshape(self.shape)
        return [grad_pred, -grad_pred if needs_grad[1] else None]


class MeanSquaredError(SquaredError):
    """input, target of one shape -> 0-d mean (or sum) of (input - target)**2: ``mse_loss``
    reduced, as one op instead of sub, mul and a reduction (a regressor's loss every step).
    The squared error over one column of every element, scaled; its backward, scaled."""

    creation_op = "mse_loss"

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, pred, target):
        dtype = float_dtype("mse_loss", pred, target)
        self.shape = pred.shape
        self.scale = 1.0 if self.reduction == "sum" else 1.0 / pred.size if pred.size else math.nan
        out, self.diff = self.forward_program(run_eagerly, contiguous(pred, dtype),
                                              contiguous(target, dtype))
        return out

    def forward_program(self, run, pred, target):
        # the squared error's kernel summing one column: every element is a row
        column = (math.prod(self.shape), 1)
        total, diff = run(k.squared_error, pred.reshape(column), target.reshape(column),
                          results=2)
        return (total * self.scale).reshape(()), diff

    def backward_program(self, run, diff, grad, needs_grad):
        return super().backward_program(run, diff, grad.reshape(-1) * self.scale, needs_grad)


class BCEWithLogits(Op):
    """Elementwise -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], logits x and targets
    y of one shape, computed without overflow."""

    creation_op = "binary_cross_entropy_with_logits"

    def forward(self, x, target):
        if x.shape != target.shape:
            raise ValueError(f"binary_cross_entropy_with_logits: input {describe(x)} and target "
                             f"{describe(target)} need one shape")
        dtype = float_dtype(self.creation_op, x, target)
        self.x, self.target = flat(x, dtype), flat(target, dtype)
        return k.bce_with_logits(self.x, self.target).reshape(x.shape)

    def backward(self, grad, needs_grad):
        grad_x, grad_target = k.bce_with_logits_backward(flat(grad, self.x.dtype), self.x,
                                                         self.target)
        return [grad_x.reshape(grad.shape), grad_target.reshape(grad.shape)]


def squared_error(pred, target):
    """((pred - target) * (pred - target)).sum(0) as one op: (n, ...), (n, ...) -> (...);
    the book's MSELoss."""
    return apply(SquaredError(), pred, constant(target))


def _same_shape(op, input, target):  # noqa: A002 -- torch's argument names
    if input.shape != target.shape:
        raise ValueError(f"{op}: input {describe(input.data)} and target "
                         f"{describe(target.data)} need one shape")


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    """(input - target) ** 2, averaged (default), summed, or per element ('none')."""
    check_reduction("mse_loss", reduction)
    target = constant(target)
    _same_shape("mse_loss", input, target)
    if reduction == "none":
        diff = input - target
        return diff * diff
    return apply(MeanSquaredError(reduction), input, target)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    """|input - target|, averaged (default), summed, or per element ('none')."""
    check_reduction("l1_loss", reduction)
    target = constant(target)
    _same_shape("l1_loss", input, target)
    return reduce_loss((input - target).abs(), reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):  # noqa: A002
    """Binary cross-entropy of sigmoid(input) against target probabilities of one shape,
    stable for large logits; averaged (default), summed, or per element ('none')."""
    check_reduction("binary_cross_entropy_with_logits", reduction)
    return reduce_loss(apply(BCEWithLogits(), input, constant(target)), reduction)


def _loss_examples(name):
    return [Example(lambda lib, x, y, r=r: getattr(lib.F, name)(x, y, reduction=r), [(4, 3), (4, 3)])
            for r in REDUCTIONS]


def _loss_bad_inputs(name):
    return [BadInput(lambda lib, x, y: getattr(lib.F, name)(x, y), [(4, 3), (3, 4)], ValueError,
                     rf"{name}: input float64\[4, 3\] and target float64\[3, 4\] need one shape"),
            BadInput(lambda lib, x, y: getattr(lib.F, name)(x, y, reduction="all"), [(2,), (2,)],
                     ValueError, f"{name}: reduction must be")]


register("squared_error", squared_error, functional=["squared_error"], examples=[
    Example(lambda lib, x, y: lib.F.squared_error(x, y), [(4, 2), (4, 2)],
            torch=lambda lib, x, y: ((x - y) * (x - y)).sum(0)),
], bad_inputs=[BadInput(lambda lib, x, y: lib.F.squared_error(x, y), [(4, 2), (2, 4)], ValueError,
                        r"squared_error: pred float64\[4, 2\] and target float64\[2, 4\]")])
register("mse_loss", mse_loss, functional=["mse_loss"], examples=_loss_examples("mse_loss"),
         bad_inputs=_loss_bad_inputs("mse_loss"))
register("l1_loss", l1_loss, functional=["l1_loss"], examples=_loss_examples("l1_loss"),
         bad_inputs=_loss_bad_inputs("l1_loss"))
register("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits,
         functional=["binary_cross_entropy_with_logits"], examples=[
             Example(lambda lib, x, y, r=r: lib.F.binary_cross_entropy_with_logits(
                 x * 3.0, y, reduction=r), [(4, 3), np.random.default_rng(2).uniform(0, 1, (4, 3))])
             for r in REDUCTIONS],
         bad_inputs=_loss_bad_inputs("binary_cross_entropy_with_logits"))
