"""Losses: the book's fused squared error, mse_loss, l1_loss and the binary cross-entropy
of logits, each with ``reduction='mean'|'sum'|'none'``."""
import math

import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, contiguous, flat, run_eagerly
from jitgrad.ops.registry import BadInput, Example, apply, array_of, constant, is_tensor, register
from jitgrad.ops.softmax import REDUCTIONS, check_reduction, reduce_loss, row_weights, weighted_mean
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


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",  # noqa: A002
                                     pos_weight=None):
    """Binary cross-entropy of sigmoid(input) against target probabilities of one shape,
    stable for large logits (one op); ``weight`` (broadcast) multiplies each element's loss
    and ``pos_weight`` (broadcast over the last dim) the positive term's; averaged
    (default), summed, or per element ('none')."""
    check_reduction("binary_cross_entropy_with_logits", reduction)
    if pos_weight is None:
        losses = apply(BCEWithLogits(), input, constant(target))
    else:
        target = _data(target, input)
        _same_shape("binary_cross_entropy_with_logits", input, target)
        log1p_exp_neg = ((-input.abs()).exp() + 1).log() + (-input).relu()  # log(1 + e^-x)
        losses = (1 - target) * input + (target * (_data(pos_weight, input) - 1) + 1) * log1p_exp_neg
    return reduce_loss(losses if weight is None else losses * _data(weight, input), reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    """-(t log p + (1 - t) log(1 - p)) for probabilities ``input``, each log clamped at
    -100 as PyTorch's; ``weight`` (broadcast) multiplies each element's loss."""
    check_reduction("binary_cross_entropy", reduction)
    target = _data(target, input)
    _same_shape("binary_cross_entropy", input, target)
    losses = -(target * input.log().clamp(min=-100)
               + (1 - target) * (1 - input).log().clamp(min=-100))
    return reduce_loss(losses if weight is None else losses * _data(weight, input), reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    """-input[row, target[row]] for log-probabilities ``input`` (N, C) or (N, C, d1, ...),
    classes in dim 1, and int targets (N, d1, ...); ``weight`` (C,), ``ignore_index`` and
    ``reduction`` as in ``cross_entropy``."""
    check_reduction("nll_loss", reduction)
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1)
    targets = array_of(target)
    classes = input.shape[-1] if input.ndim else 0
    if input.ndim == 0 or targets.dtype.kind not in "iu" or targets.size != input.data.size // classes:
        raise ValueError(f"nll_loss: input {describe(input.data)} needs one integer target per "
                         f"row, got target {describe(targets)}")
    ignored = targets == ignore_index
    safe = np.where(ignored, 0, targets)
    if safe.size and (safe.min() < 0 or safe.max() >= classes):
        raise IndexError(f"nll_loss: targets must lie in [0, {classes}) or be ignore_index "
                         f"{ignore_index}, got {describe(targets)}")
    picked = input.reshape(-1, classes)[np.arange(safe.size), safe.reshape(-1)]
    losses = -picked.reshape(*targets.shape)
    return weighted_mean(losses, row_weights(input.dtype, safe, ignored, weight), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002
    """0.5 d^2 / beta where d = |input - target| < beta, else d - 0.5 beta."""
    check_reduction("smooth_l1_loss", reduction)
    if beta == 0:
        return l1_loss(input, target, reduction)
    near, far = _split_distance("smooth_l1_loss", input, target, beta)
    return reduce_loss(near * near * (0.5 / beta) + far, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """0.5 d^2 where d = |input - target| < delta, else delta (d - 0.5 delta)."""
    check_reduction("huber_loss", reduction)
    near, far = _split_distance("huber_loss", input, target, delta)
    return reduce_loss(near * near * 0.5 + far * delta, reduction)


def _split_distance(op, input, target, limit):  # noqa: A002
    """(min(d, limit), d - min(d, limit)) for d = |input - target|: the quadratic and the
    linear part of a Huber-like loss, without a mask that would depend on the data."""
    if limit < 0:
        raise ValueError(f"{op}: beta/delta must be >= 0, got {limit}")
    target = _data(target, input)
    _same_shape(op, input, target)
    distance = (input - target).abs()
    near = distance.clamp(max=limit)
    return near, distance - near


def _data(value, like):
    """``value`` as a Tensor: one that wants gradients as it is; data (an array, a number,
    a Tensor without autograd) in ``like``'s dtype."""
    if is_tensor(value) and value.autograd:
        return value
    return constant(np.asarray(array_of(value), dtype=like.dtype))


_PROBABILITIES = np.random.default_rng(2).uniform(0.05, 0.95, (4, 3))
_TARGET_PROBABILITIES = np.random.default_rng(4).uniform(0, 1, (4, 3))
_WEIGHTS = np.random.default_rng(5).uniform(0.5, 2.0, (1, 3))
_POS_WEIGHT = np.array([0.5, 2.0, 3.0])


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

             for r in REDUCTIONS] + [
             Example(lambda lib, x, y: lib.F.binary_cross_entropy_with_logits(
                 x * 3.0, y, weight=lib.tensor(_WEIGHTS), pos_weight=lib.tensor(_POS_WEIGHT)),
                 [(4, 3), _PROBABILITIES])],
         bad_inputs=_loss_bad_inputs("binary_cross_entropy_with_logits"))
register("binary_cross_entropy", binary_cross_entropy, functional=["binary_cross_entropy"],
         examples=[Example(lambda lib, p, y, r=r: lib.F.binary_cross_entropy(
             p, y, weight=lib.tensor(_WEIGHTS), reduction=r), [_PROBABILITIES, _TARGET_PROBABILITIES])
             for r in REDUCTIONS],
         bad_inputs=_loss_bad_inputs("binary_cross_entropy"))
register("nll_loss", nll_loss, functional=["nll_loss"], examples=[
    Example(lambda lib, x, r=r: lib.F.nll_loss(x, lib.tensor(np.array([0, 2, 1, 1])), reduction=r),
            [(4, 3)]) for r in REDUCTIONS] + [
    Example(lambda lib, x, r=r: lib.F.nll_loss(x, lib.tensor(np.array([0, 2, 1, 1])), ignore_index=1,
                                               weight=lib.tensor(_WEIGHTS[0]), reduction=r),
            [(4, 3)]) for r in REDUCTIONS] + [
    Example(lambda lib, x: lib.F.nll_loss(x, lib.tensor(np.array([[0, 2], [1, 1]]))), [(2, 3, 2)]),
], bad_inputs=[
    BadInput(lambda lib, x: lib.F.nll_loss(x, lib.tensor(np.array([0, 3]))), [(2, 3)], IndexError,
             r"nll_loss: targets must lie in \[0, 3\)"),
    BadInput(lambda lib, x: lib.F.nll_loss(x, lib.tensor(np.array([0, 1, 2]))), [(2, 3)],
             ValueError, "nll_loss: input float64\\[2, 3\\] needs one integer target per row"),
])
for _name, _function, _limit in (("smooth_l1_loss", smooth_l1_loss, "beta"),
                                 ("huber_loss", huber_loss, "delta")):
    register(_name, _function, functional=[_name], examples=[
        Example(lambda lib, x, y, r=r, f=_name, a=_limit, v=v: getattr(lib.F, f)(
            x * 2.0, y, reduction=r, **{a: v}), [(4, 3), (4, 3)])
        for r in REDUCTIONS for v in (1.0, 0.5)], bad_inputs=_loss_bad_inputs(_name))
