"""The book's MSE loss as one op: ((pred - target) * (pred - target)).sum(0)."""
import math

from kernels import losses as k

from ..dtypes import describe, float_dtype
from .base import Op, rows


class SquaredError(Op):
    """pred, target (n, ...) of one shape -> sum over dim 0 of (pred - target)**2: (...)."""

    creation_op = "squared_error"

    def forward(self, pred, target):
        if pred.shape != target.shape or pred.ndim == 0:
            raise ValueError(f"squared_error: pred {describe(pred)} and target {describe(target)} "
                             "need one shape with a batch dim first")
        dtype = float_dtype("squared_error", pred, target)
        self.shape = pred.shape
        width = math.prod(pred.shape[1:])
        loss, self.diff = k.squared_error(rows(pred, dtype, width), rows(target, dtype, width))
        return loss.reshape(pred.shape[1:])

    def backward(self, grad, needs_grad):
        grad_pred = k.squared_error_backward(grad.reshape(-1), self.diff).reshape(self.shape)
        return grad_pred, (-grad_pred if needs_grad[1] else None)
