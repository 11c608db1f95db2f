"""Loss layers with PyTorch's ``reduction=`` (default 'mean'): CrossEntropyLoss, L1Loss,
BCEWithLogitsLoss. The book's MSELoss, which sums by default, is in ``jitgrad.book``."""
from jitgrad.nn import functional
from jitgrad.nn.module import Layer


class ReducedLoss(Layer):
    """A loss with ``reduction`` 'mean', 'sum' or 'none'."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"

class CrossEntropyLoss(ReducedLoss):
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

class L1Loss(ReducedLoss):
    """|input - target|, averaged (default), summed or per element ('none')."""

    def forward(self, input, target):  # noqa: A002
        return functional.l1_loss(input, target, reduction=self.reduction)

class BCEWithLogitsLoss(ReducedLoss):
    """Binary cross-entropy of sigmoid(input) against target probabilities, stable for
    large logits; averaged (default), summed or per element ('none')."""

    def forward(self, input, target):  # noqa: A002
        return functional.binary_cross_entropy_with_logits(input, target,
                                                           reduction=self.reduction)
