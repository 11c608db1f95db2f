"""Loss layers with PyTorch's signatures and ``reduction=`` (default 'mean'), each the module
form of its ``jitgrad.nn.functional`` function. The book's MSELoss, which sums over the batch
by default, is ``jitgrad.MSELoss`` (``jitgrad.book``); ``nn.MSELoss`` is PyTorch's mean."""
from jitgrad.nn import functional
from jitgrad.nn.module import Layer


class ReducedLoss(Layer):
    """A loss with ``reduction`` 'mean', 'sum' or 'none'."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class WeightedLoss(ReducedLoss):
    """A loss with an optional ``weight`` (a Tensor or array), kept as a buffer."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(WeightedLoss):
    """Softmax cross-entropy of logits (N, C) or (N, C, d...) against int targets or class
    probabilities (``F.cross_entropy``): ``weight``, ``ignore_index``, ``reduction``,
    ``label_smoothing`` as in PyTorch."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):  # noqa: A002 -- torch's argument name
        return functional.cross_entropy(input, target, self.weight, self.ignore_index,
                                        self.reduction, self.label_smoothing)

    def extra_repr(self):
        return f"{super().extra_repr()}, label_smoothing={self.label_smoothing}"


class NLLLoss(WeightedLoss):
    """Negative log-likelihood of log-probabilities against int targets (``F.nll_loss``)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return functional.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(ReducedLoss):
    """PyTorch's: (input - target)**2, averaged by default, summed, or per element."""

    def forward(self, input, target):  # noqa: A002
        return functional.mse_loss(input, target, reduction=self.reduction)


class L1Loss(ReducedLoss):
    """|input - target|, averaged (default), summed or per element ('none')."""

    def forward(self, input, target):  # noqa: A002
        return functional.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(ReducedLoss):
    """Quadratic below ``beta``, linear above (``F.smooth_l1_loss``)."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return functional.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(ReducedLoss):
    """Quadratic below ``delta``, linear above, scaled by delta (``F.huber_loss``)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return functional.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(WeightedLoss):
    """Binary cross-entropy of probabilities (``F.binary_cross_entropy``)."""

    def forward(self, input, target):  # noqa: A002
        return functional.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(WeightedLoss):
    """Binary cross-entropy of sigmoid(input) against target probabilities, stable for
    large logits; ``weight``, ``pos_weight`` and ``reduction`` as in PyTorch."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return functional.binary_cross_entropy_with_logits(input, target, self.weight,
                                                           self.reduction, self.pos_weight)
