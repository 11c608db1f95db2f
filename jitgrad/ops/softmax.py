"""softmax over the last axis, and softmax cross-entropy against integer targets."""
import numpy as np

from kernels import softmax as k

from ..dtypes import describe, float_dtype
from .base import Op, check_indices, rows


class Softmax(Op):
    """a.softmax(): each slice along the last axis exponentiated and normalised to sum to 1."""

    creation_op = "softmax"

    def forward(self, a):
        if a.ndim == 0 or a.shape[-1] == 0:
            raise ValueError(f"softmax: needs at least 1 dim, and a non-empty last dim to "
                             f"normalise over; got {describe(a)}")
        self.y = k.softmax(rows(a, float_dtype("softmax", a), a.shape[-1]))
        return self.y.reshape(a.shape)

    def backward(self, grad, needs_grad):
        grad_rows = rows(grad, self.y.dtype, self.y.shape[1])
        return [k.softmax_backward(grad_rows, self.y).reshape(grad.shape)]


class CrossEntropy(Op):
    """logits.cross_entropy(targets): mean over rows of -log softmax(logits)[row, target].

    logits (..., classes) float; targets int with one entry per row of logits, i.e.
    ``targets.size == logits.size // classes`` (the book flattens both the same way).
    The output is 0-d. Its gradient is the true gradient of the mean, times the incoming
    gradient (the book's ``softmax - onehot`` is ``rows`` times larger).
    """

    creation_op = "cross_entropy"

    def __init__(self, targets):
        self.targets = targets

    def forward(self, logits):
        if logits.ndim == 0 or logits.shape[-1] == 0:
            raise ValueError(f"cross_entropy: logits need a non-empty last dim of classes, "
                             f"got {describe(logits)}")
        classes = logits.shape[-1]
        n_rows = logits.size // classes
        if self.targets.size != n_rows:
            raise ValueError(f"cross_entropy: logits {describe(logits)} have {n_rows} rows of "
                             f"{classes} classes but targets {describe(self.targets)} have "
                             f"{self.targets.size} entries; need one target per row")
        if n_rows == 0:
            raise ValueError(f"cross_entropy: no rows to average over, logits {describe(logits)}")
        self.targets = check_indices("cross_entropy", self.targets, classes)
        self.shape = logits.shape
        loss, self.probs = k.cross_entropy(rows(logits, float_dtype("cross_entropy", logits),
                                                classes), self.targets)
        return np.asarray(loss, dtype=self.probs.dtype)

    def backward(self, grad, needs_grad):
        grad_rows = k.cross_entropy_backward(self.probs, self.targets, grad.item())
        return [grad_rows.reshape(self.shape)]
