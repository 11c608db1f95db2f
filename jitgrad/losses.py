"""Loss layers: the book's MSELoss and CrossEntropyLoss, with PyTorch's ``reduction=``, and
L1Loss and BCEWithLogitsLoss.

Without arguments the book's two keep the book's meaning: MSELoss sums the squared error
over the batch (dim 0), giving one value per output column; CrossEntropyLoss averages.
"""
from . import functional
from .layers import Layer


class _Reduced(Layer):
    """A loss with ``reduction`` 'mean', 'sum' or 'none'."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Reduced):
    """Squared error. ``MSELoss()`` is the book's: summed over the batch (dim 0),
    (batch, n) -> (n,). With ``reduction`` 'mean' (PyTorch's default), 'sum' or 'none' it
    is ``F.mse_loss``."""

    def __init__(self, reduction=None):
        super().__init__(reduction)

    def forward(self, pred, target):
        if self.reduction is None:  # the book's ((pred - target) * (pred - target)).sum(0)
            return functional.squared_error(pred, target)
        return functional.mse_loss(pred, target, reduction=self.reduction)


class CrossEntropyLoss(_Reduced):
    """Softmax cross-entropy of logits (batch, classes) against int targets (batch,),
    averaged over the batch (a 0-d tensor), summed, or per row ('none');
    ``label_smoothing`` as in PyTorch."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002 -- torch's argument name
        return functional.cross_entropy(input, target, reduction=self.reduction,
                                        label_smoothing=self.label_smoothing)

    def extra_repr(self):
        return f"{super().extra_repr()}, label_smoothing={self.label_smoothing}"


class L1Loss(_Reduced):
    """|input - target|, averaged (default), summed or per element ('none')."""

    def forward(self, input, target):  # noqa: A002
        return functional.l1_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Reduced):
    """Binary cross-entropy of sigmoid(input) against target probabilities, stable for
    large logits; averaged (default), summed or per element ('none')."""

    def forward(self, input, target):  # noqa: A002
        return functional.binary_cross_entropy_with_logits(input, target,
                                                           reduction=self.reduction)
