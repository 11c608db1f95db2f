"""softmax and log_softmax over a dim, and softmax cross-entropy against integer targets.

The kernels (``kernels/softmax.py``) work on the last axis of (rows, classes) arrays; another
``dim`` is moved last and back.
"""
import math
import numbers

import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, check_dim, check_indices, contiguous, rows, run_eagerly
from jitgrad.ops.registry import BadInput, Example, apply, array_of, constant, register
from kernels import softmax as k


class RowWise(Op):
    """An op of each slice along ``dim`` whose backward reads its output y."""

    kernel = backward_kernel = None

    def __init__(self, dim=-1):
        self.dim = dim

    def forward(self, a):
        if a.ndim == 0 or a.shape[self._dim(a)] == 0:
            raise ValueError(f"{self.creation_op}: needs at least 1 dim, and a non-empty dim "
                             f"to normalise over; got {describe(a)}")
        self.dim = self._dim(a)
        last = np.moveaxis(a, self.dim, -1)
        self.y = type(self).kernel(rows(last, float_dtype(self.creation_op, a), last.shape[-1]))
        return np.moveaxis(self.y.reshape(last.shape), -1, self.dim)

    def _dim(self, a):
        return check_dim(self.creation_op, a, self.dim)

    def backward(self, grad, needs_grad):
        last = np.moveaxis(grad, self.dim, -1)
        grad_rows = type(self).backward_kernel(rows(last, self.y.dtype, self.y.shape[1]), self.y)
        return [np.moveaxis(grad_rows.reshape(last.shape), -1, self.dim)]


class Softmax(RowWise):
    """Each slice along ``dim`` exponentiated and normalised to sum to 1."""

    creation_op = "softmax"
    kernel, backward_kernel = k.softmax, k.softmax_backward


class LogSoftmax(RowWise):
    """log(softmax) along ``dim``, computed as x - max - log(sum(exp(x - max)))."""

    creation_op = "log_softmax"
    kernel, backward_kernel = k.log_softmax, k.log_softmax_backward


def _check_targets(op, logits, targets):
    """(rows, classes) of ``logits`` and the flat targets, one per row, or a clear error."""
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"{op}: logits need a non-empty last dim of classes, got "
                         f"{describe(logits)}")
    classes = logits.shape[-1]
    n_rows = logits.size // classes
    if targets.size != n_rows:
        raise ValueError(f"{op}: logits {describe(logits)} have {n_rows} rows of {classes} "
                         f"classes but targets {describe(targets)} have {targets.size} entries; "
                         "need one target per row")
    return n_rows, classes, check_indices(op, targets, classes)


class CrossEntropy(Op):
    """logits.cross_entropy(targets): mean over rows of -log softmax(logits)[row, target].

    logits (..., classes) float; targets int with one entry per row of logits, i.e.
    ``targets.size == logits.size // classes`` (the book flattens both the same way).
    The output is 0-d. Its gradient is the true gradient of the mean, times the incoming
    gradient (the book's ``softmax - onehot`` is ``rows`` times larger).
    """

    creation_op = "cross_entropy"
    operands = ("targets",)  # data, not settings: a compiled step rebinds it at each call

    def __init__(self, targets):
        self.targets = targets

    def forward(self, logits):
        n_rows, _, targets = _check_targets("cross_entropy", logits, self.targets)
        if n_rows == 0:
            raise ValueError(f"cross_entropy: no rows to average over, logits {describe(logits)}")
        self.shape = logits.shape
        out, (self.probs, self.flat_targets) = self.forward_program(
            run_eagerly, contiguous(logits, float_dtype("cross_entropy", logits)), targets)
        return out

    def backward(self, grad, needs_grad):
        return self.backward_program(run_eagerly, (self.probs, self.flat_targets), grad,
                                     needs_grad)

    def operand_arrays(self, targets):
        logits = np.broadcast_to(np.empty((), self.probs.dtype), self.shape)  # as recorded
        return [_check_targets("cross_entropy", logits, targets)[2]]

    def forward_program(self, run, logits, targets):
        rows = (math.prod(self.shape[:-1]), self.shape[-1])
        loss, probs = run(k.cross_entropy, logits.reshape(rows), targets, results=2)
        # the loss comes as a float64 number: a 0-d array of the logits' dtype
        return run(np.asarray, loss).astype(probs.dtype), (probs, targets)

    def backward_program(self, run, saved, grad, needs_grad):
        probs, targets = saved
        # a float64 scale, whatever the dtype (the kernel's one compiled form)
        grad_rows = run(k.cross_entropy_backward, probs, targets, run(np.float64, grad.item()))
        return [grad_rows.reshape(self.shape)]


class CrossEntropyRows(Op):
    """Each row's cross-entropy with label smoothing: logits (..., classes) -> (...)."""

    creation_op = "cross_entropy_rows"
    operands = ("targets",)  # data, not settings: a compiled step rebinds it at each call

    def __init__(self, targets, smoothing):
        if not isinstance(smoothing, numbers.Real) or not 0 <= smoothing <= 1:
            raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {smoothing!r}")
        self.targets, self.smoothing = targets, float(smoothing)

    def forward(self, logits):
        _, classes, self.flat_targets = _check_targets("cross_entropy", logits, self.targets)
        self.shape = logits.shape
        losses, self.probs = k.cross_entropy_rows(
            rows(logits, float_dtype("cross_entropy", logits), classes), self.flat_targets,
            self.smoothing)
        return losses.reshape(logits.shape[:-1])

    def backward(self, grad, needs_grad):
        grad_rows = k.cross_entropy_rows_backward(self.probs, self.flat_targets,
                                                  np.ascontiguousarray(grad).reshape(-1),
                                                  self.smoothing)
        return [grad_rows.reshape(self.shape)]


REDUCTIONS = ("mean", "sum", "none")


def reduce_loss(losses, reduction):
    """A loss per element reduced as ``reduction`` says: 'mean', 'sum' or 'none'."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def check_reduction(op, reduction):
    """Raises naming ``op`` unless ``reduction`` is one of REDUCTIONS."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along ``dim``; the book's ``softmax()`` is the last dim."""
    return apply(Softmax(dim), x)


def log_softmax(x, dim=-1):
    """log(softmax(x, dim)), stable, with a fused backward."""
    return apply(LogSoftmax(dim), x)


def cross_entropy(logits, target):
    """The book's mean softmax cross-entropy of logits (..., classes) against int targets,
    one per row; a 0-d tensor."""
    return apply(CrossEntropy(array_of(target)), logits)


def functional_cross_entropy(input, target, weight=None, ignore_index=-100,  # noqa: A002
                             reduction="mean", label_smoothing=0.0):
    """PyTorch's ``F.cross_entropy``: logits (N, C), (N, C, d1, ...) or (C,), classes in dim 1,
    against int class targets (N, d1, ...) or class probabilities of the logits' shape.

    ``weight`` (C,) weighs each class; rows whose target is ``ignore_index`` count for nothing
    ('mean' divides by the other rows' weights, as PyTorch's); ``label_smoothing`` mixes each
    target with the uniform distribution; ``reduction`` 'mean', 'sum' or 'none'.
    """
    if input.ndim > 2:  # classes last, where the kernels want them
        input = input.permute(0, *range(2, input.ndim), 1)
        if array_of(target).dtype.kind == "f":
            target = target.permute(0, *range(2, target.ndim), 1)
    return cross_entropy_classes_last(input, target, weight, ignore_index, reduction,
                                      label_smoothing)


def cross_entropy_classes_last(input, target, weight=None, ignore_index=-100,  # noqa: A002
                               reduction="mean", label_smoothing=0.0):
    """``functional_cross_entropy`` of logits (..., classes), as the book's
    ``cross_entropy`` takes them."""
    check_reduction("cross_entropy", reduction)
    targets = array_of(target)
    if targets.dtype.kind == "f":
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    ignored = targets == ignore_index
    if weight is None and not ignored.any():
        if reduction == "mean" and label_smoothing == 0:
            return cross_entropy(input, targets)  # the book's fused mean, the fast path
        return reduce_loss(apply(CrossEntropyRows(targets, label_smoothing), input), reduction)
    if weight is not None and label_smoothing:
        raise ValueError("cross_entropy: weight together with label_smoothing is not supported")
    safe = np.where(ignored, 0, targets)
    losses = apply(CrossEntropyRows(safe, label_smoothing), input)
    return weighted_mean(losses, row_weights(input.dtype, safe, ignored, weight), reduction)


def _cross_entropy_probabilities(logits, target, weight, reduction, smoothing):
    if not getattr(target, "autograd", False):  # data: in the logits' dtype
        target = constant(np.asarray(array_of(target), dtype=logits.dtype))
    if target.shape != logits.shape:
        raise ValueError(f"cross_entropy: class-probability target {describe(target.data)} "
                         f"needs the shape of input {describe(logits.data)}")
    if smoothing:
        target = target * (1 - smoothing) + smoothing / logits.shape[-1]
    logp = log_softmax(logits, -1)
    if weight is not None:
        logp = logp * constant(np.asarray(array_of(weight), dtype=logits.dtype))
    losses = -(logp * target).sum(-1)
    if reduction == "mean":  # PyTorch divides by the rows, whatever the weights
        return losses.sum() * (1.0 / max(losses.data.size, 1))
    return reduce_loss(losses, reduction)


def row_weights(dtype, safe, ignored, weight):
    """Each row's weight: its target class's ``weight`` (or 1), 0 where it is ignored."""
    rows = np.where(ignored, 0, 1).astype(dtype)
    if weight is not None:
        rows = rows * array_of(weight).astype(dtype)[safe]
    return rows


def weighted_mean(losses, weights, reduction):
    """``losses`` times ``weights`` (an array of their shape), summed, per element, or
    averaged by the weights' sum (PyTorch's weighted mean; nan when every row is ignored)."""
    weighted = losses * constant(weights)
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() * (1.0 / weights.sum())


_TARGETS = np.array([0, 4, 2, 2])
_IGNORED = np.array([0, 2, 1, 4])  # with ignore_index=2
_TARGETS_2D = np.array([[0, 4, 2], [1, 1, 3]])  # (N, d1) for logits (N, C, d1)
_CLASS_WEIGHTS = np.array([0.5, 1.0, 2.0, 1.5, 0.25])
_PROBABILITIES = np.random.default_rng(3).dirichlet(np.ones(5), 4)

register("softmax", softmax, methods=["softmax"], functional=["softmax"], examples=[
    Example(lambda lib, x: x.softmax(), [(3, 5)], torch=lambda lib, x: x.softmax(-1)),
    Example(lambda lib, x: lib.F.softmax(x, -1), [(2, 3, 4)]),
    Example(lambda lib, x: lib.F.softmax(x, dim=0), [(3, 4)]),
    Example(lambda lib, x: lib.F.softmax(x, 1), [(2, 3, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x: x.softmax(), [()], ValueError, "softmax: needs at least 1 dim"),
    BadInput(lambda lib, x: x.softmax(), [(2, 0)], ValueError,
             r"softmax: needs .* a non-empty dim .* got float64\[2, 0\]"),
    BadInput(lambda lib, x: x.softmax(2), [(2, 3)], IndexError, "softmax: dim 2 is out of range"),
])
register("log_softmax", log_softmax, methods=["log_softmax"], functional=["log_softmax"], examples=[
    Example(lambda lib, x: lib.F.log_softmax(x, -1), [(3, 5)]),
    Example(lambda lib, x: lib.F.log_softmax(x, dim=1), [(2, 3, 4)]),
], bad_inputs=[BadInput(lambda lib, x: lib.F.log_softmax(x, 0), [()], ValueError,
                        "log_softmax: needs at least 1 dim")])
register("cross_entropy", cross_entropy, methods=["cross_entropy"], examples=[
    Example(lambda lib, x: x.cross_entropy(lib.tensor(_TARGETS)), [(4, 5)],
            torch=lambda lib, x: lib.F.cross_entropy(x, lib.tensor(_TARGETS))),
    Example(lambda lib, x: x.cross_entropy(lib.tensor(np.array([[0, 1, 2], [3, 3, 0]]))), [(2, 3, 4)],
            torch=lambda lib, x: lib.F.cross_entropy(x.reshape(-1, 4),
                                                     lib.tensor(np.array([0, 1, 2, 3, 3, 0])))),
], bad_inputs=[
    BadInput(lambda lib, x, t=t: x.cross_entropy(lib.tensor(t)), [shape], error, match)
    for shape, t, error, match in [
        ((2, 4), np.array([0, 4]), IndexError, r"cross_entropy: indices must lie in \[0, 4\)"),
        ((2, 4), np.array([0, -1]), IndexError, "cross_entropy: indices must lie"),
        ((2, 4), np.array([0.0, 1.0]), TypeError, "cross_entropy: indices must be integers"),
        ((2, 4), np.array([0, 1, 2]), ValueError, r"cross_entropy: logits float64\[2, 4\] have 2 rows"),
        ((), np.array(0), ValueError, r"cross_entropy: logits need a non-empty last dim of classes, got float64\[\]"),
        ((0, 4), np.array([], dtype=int), ValueError, r"cross_entropy: no rows to average over, logits float64\[0, 4\]"),
        ((2, 0), np.array([0, 0]), ValueError, r"cross_entropy: logits need a non-empty last dim"),
    ]
])
register("F.cross_entropy", functional_cross_entropy, functional=["cross_entropy"], examples=[
    Example(lambda lib, x, r=r, s=s: lib.F.cross_entropy(x, lib.tensor(_TARGETS), reduction=r,
                                                         label_smoothing=s), [(4, 5)])
    for r in REDUCTIONS for s in (0.0, 0.1)
] + [
    Example(lambda lib, x, r=r: lib.F.cross_entropy(x, lib.tensor(_IGNORED), ignore_index=2,
                                                    reduction=r), [(4, 5)])
    for r in REDUCTIONS
] + [
    Example(lambda lib, x, r=r: lib.F.cross_entropy(x, lib.tensor(_TARGETS), reduction=r,
                                                    weight=lib.tensor(_CLASS_WEIGHTS)), [(4, 5)])
    for r in REDUCTIONS
] + [
    Example(lambda lib, x, s=s: lib.F.cross_entropy(x, lib.tensor(_PROBABILITIES),
                                                    label_smoothing=s), [(4, 5)])
    for s in (0.0, 0.2)
] + [
    Example(lambda lib, x: lib.F.cross_entropy(x, lib.tensor(_TARGETS_2D)), [(2, 5, 3)]),
], bad_inputs=[
    BadInput(lambda lib, x: lib.F.cross_entropy(x, lib.tensor(_TARGETS), reduction="avg"), [(4, 5)],
             ValueError, "cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    BadInput(lambda lib, x: lib.F.cross_entropy(x, lib.tensor(_TARGETS), label_smoothing=2.0),
             [(4, 5)], ValueError, r"cross_entropy: label_smoothing must be in \[0, 1\]"),
    BadInput(lambda lib, x: lib.F.cross_entropy(x, lib.tensor(_TARGETS), reduction="sum"),
             [(4, 3)], IndexError, r"cross_entropy: indices must lie in \[0, 3\)"),
    BadInput(lambda lib, x: lib.F.cross_entropy(x, lib.tensor(_PROBABILITIES[:, :3])), [(4, 5)],
             ValueError,
             r"cross_entropy: class-probability target float64\[4, 3\] needs the shape"),
])
