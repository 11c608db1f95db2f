"""The book's losses."""
from . import functional
from .layers import Layer


class MSELoss(Layer):
    """Sum over the batch (dim 0) of the squared error: (batch, n) -> (n,)."""

    def forward(self, pred, target):
        """The book's ``((pred - target) * (pred - target)).sum(0)``, as one fused op."""
        return functional.squared_error(pred, target)


class CrossEntropyLoss(Layer):
    """Softmax cross-entropy of logits (batch, classes) against int targets (batch,),
    averaged over the batch; a 0-d tensor."""

    def forward(self, input, target):
        return input.cross_entropy(target)


def mean_squared_error(pred, target):
    """The squared error averaged over the batch and the outputs: (batch, n), (batch, n) -> 0-d.

    The book's ``MSELoss`` sums over the batch; ``fit`` reports a batch's loss as its mean.
    """
    return functional.squared_error(pred, target).sum() * (1.0 / pred.data.size)
