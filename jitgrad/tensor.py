"""The Tensor: an array, the graph that made it, and the book's operator methods.

Each op method runs an ``Op`` (``jitgrad.ops``) on the arrays and, when any input has
``autograd=True``, records the graph edge as the book does: the output lists its
``creators`` and ``creation_op``, and each creator counts the output in its ``children``.
``backward`` hands the graph to ``jitgrad.autograd``.
"""
import itertools
import numbers

import numpy as np

from . import anomaly, autograd, grad_mode, ops, profiler
from .ops.base import describe

# Ids come from a counter, not the RNG: unique, and seeded runs draw no random numbers for them.
# next() on an itertools.count is atomic in CPython, so threads never share an id.
_next_id = itertools.count(1).__next__


_DEFAULT_DTYPES = (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))


def as_array(data, what="Tensor: data"):
    """``data`` as a new numeric NumPy array (the book copies too), or a clear error.

    ``what`` starts the error message: who was given ``data``.
    """
    try:
        array = np.array(data)
    except ValueError as error:  # NumPy's message for ragged nested lists
        raise ValueError(f"{what} is not a rectangular array of numbers ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric (bool, int or float), got dtype "
                        f"{array.dtype} from {type(data).__name__}")
    return array


class Tensor:
    """An n-d array that can record how it was computed and back-propagate through it.

    Parameters
    ----------
    data : array-like of bool, int or float
        Copied into ``.data`` (a NumPy array); its dtype is kept.
    autograd : bool
        Whether gradients flow to this tensor (PyTorch's ``requires_grad``).

    Attributes: ``data``, ``grad`` (a Tensor, or None before any backward), ``autograd``,
    ``creators`` (input Tensors, or None for a leaf), ``creation_op`` (e.g. ``"mm"``),
    ``children`` (``{child id: uses}``: the book's count of pending children), ``id``.
    """

    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected methods
    __slots__ = ("data", "autograd", "grad", "creators", "creation_op", "children", "id",
                 "_op", "_retain_grad", "__dict__", "__weakref__")

    def __init__(self, data, autograd=False):
        self.data = as_array(data)
        self.autograd = bool(autograd)
        self.grad = None
        self.creators = None
        self.creation_op = None
        self.children = {}
        self.id = _next_id()
        self._op = None
        self._retain_grad = False

    @classmethod
    def wrap(cls, array, autograd=False):
        """A Tensor around ``array`` itself, not a copy (for arrays jitgrad just made)."""
        out = cls.__new__(cls)
        out.data, out.autograd, out.grad = array, autograd, None
        out.creators = out.creation_op = out._op = None
        out.children, out.id, out._retain_grad = {}, _next_id(), False
        return out

    @classmethod
    def _from_op(cls, op, inputs):
        """Run ``op`` on the inputs' arrays; record the graph edge if any input wants grads
        (and ``no_grad()`` is not active in this thread)."""
        arrays = [t.data for t in inputs]
        out = cls.wrap(profiler.timed_forward(op, arrays) if profiler.switch.active else op.forward(*arrays))
        if anomaly.switch.active:
            anomaly.check_forward(op, [t.data for t in inputs], out.data)
        for t in inputs:
            if t.autograd:
                break
        else:
            return out
        if not grad_mode.is_grad_enabled():
            return out
        out.autograd, out.creators, out.creation_op, out._op = True, list(inputs), op.creation_op, op
        for creator in inputs:
            # a creator without autograd never hears back from backward, so counting its
            # children would only grow its dict (a data batch reused every step)
            if creator.autograd:
                creator.children[out.id] = creator.children.get(out.id, 0) + 1
        return out

    def _lift(self, other):
        """``other`` as a Tensor; Python numbers take this tensor's float dtype where they fit."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Number) and not isinstance(other, np.generic):
            return Tensor(np.asarray(other, dtype=np.result_type(self.data.dtype, other)))
        return Tensor(other)

    # --- gradients ------------------------------------------------------------------------
    def backward(self, grad=None):
        """Back-propagate ``grad`` (default: ones) into every tensor this one was made from.

        Each tensor on the way receives the sum of the gradients of all its uses in the graph
        before passing its own on. Leaves (tensors no op made, e.g. parameters) add theirs
        into ``.grad`` across calls until it is zeroed; tensors an op made keep theirs only
        after ``retain_grad()``, as in PyTorch.
        A graph can be back-propagated once; build it again (run forward) for another pass.
        """
        if not self.autograd:
            raise RuntimeError("backward: this tensor has autograd=False, so no graph was "
                               "recorded for it; create its inputs with autograd=True")
        if isinstance(grad, Tensor):
            grad = grad.data
        if grad is None:
            grad = np.ones_like(self.data, dtype=self._grad_dtype())
        else:
            grad = as_array(grad, what="backward: gradient")
        if grad.shape != self.data.shape:
            raise ValueError(f"backward: gradient {describe(grad)} does not match the tensor's "
                             f"shape {describe(self.data)}")
        autograd.backward(self, grad)

    def retain_grad(self):
        """Keep this tensor's gradient in ``.grad`` although an op made it (leaves always do)."""
        self._retain_grad = True
        return self

    def _grad_dtype(self):
        """Gradients keep a float tensor's dtype; integer tensors get float64 gradients."""
        return self.data.dtype if self.data.dtype.kind == "f" else np.dtype(np.float64)

    # --- the book's ops -------------------------------------------------------------------
    def __add__(self, other):
        return Tensor._from_op(ops.Add(), (self, self._lift(other)))

    def __radd__(self, other):
        return Tensor._from_op(ops.Add(), (self._lift(other), self))

    def __sub__(self, other):
        return Tensor._from_op(ops.Sub(), (self, self._lift(other)))

    def __rsub__(self, other):
        return Tensor._from_op(ops.Sub(), (self._lift(other), self))

    def __mul__(self, other):
        return Tensor._from_op(ops.Mul(), (self, self._lift(other)))

    def __rmul__(self, other):
        return Tensor._from_op(ops.Mul(), (self._lift(other), self))

    def __truediv__(self, other):
        return Tensor._from_op(ops.Div(), (self, self._lift(other)))

    def __rtruediv__(self, other):
        return Tensor._from_op(ops.Div(), (self._lift(other), self))

    def __neg__(self):
        return Tensor._from_op(ops.Neg(), (self,))

    def sum(self, dim=None):
        """Sum over axis ``dim`` (the book's ``sum(dim)``), or over everything when None."""
        return Tensor._from_op(ops.Sum(dim), (self,))

    def expand(self, dim, copies):
        """Repeat ``copies`` times along a new axis at ``dim``: (3,) -> expand(0, 4) -> (4, 3)."""
        return Tensor._from_op(ops.Expand(dim, copies), (self,))

    def transpose(self):
        return Tensor._from_op(ops.Transpose(), (self,))

    def mm(self, other):
        """Matrix product: (n, k).mm((k, m)) -> (n, m)."""
        return Tensor._from_op(ops.MM(), (self, self._lift(other)))

    def sigmoid(self):
        return Tensor._from_op(ops.Sigmoid(), (self,))

    def tanh(self):
        return Tensor._from_op(ops.Tanh(), (self,))

    def relu(self):
        """max(self, 0), elementwise."""
        return Tensor._from_op(ops.ReLU(), (self,))

    def softmax(self):
        """Softmax over the last axis, as a differentiable Tensor."""
        return Tensor._from_op(ops.Softmax(), (self,))

    def __getitem__(self, index):
        """The index-th slice along dim 0 (an int index only), differentiable."""
        return Tensor._from_op(ops.Select(index), (self,))

    def index_select(self, indices):
        """Rows ``self.data[indices]``: (rows, *row) -> (*indices.shape, *row)."""
        return Tensor._from_op(ops.IndexSelect(self._lift_indices(indices)), (self,))

    def cross_entropy(self, target_indices):
        """Mean softmax cross-entropy of these logits (..., classes) against integer targets."""
        return Tensor._from_op(ops.CrossEntropy(self._lift_indices(target_indices)), (self,))

    @staticmethod
    def _lift_indices(indices):
        return indices.data if isinstance(indices, Tensor) else as_array(indices)

    # --- comparisons and NumPy interop (not differentiable) -------------------------------
    def __lt__(self, other):
        return self.data < _data(other)

    def __le__(self, other):
        return self.data <= _data(other)

    def __gt__(self, other):
        return self.data > _data(other)

    def __ge__(self, other):
        return self.data >= _data(other)

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)`` is ``t.data`` itself (no copy), as for any array-like that wraps
        an array; ``np.array(t)`` or ``copy=True`` copies."""
        return np.array(self.data, dtype=dtype, copy=True if copy else None)

    def __len__(self):
        return len(self.data)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def __str__(self):
        return str(self.data)

    def __repr__(self):
        """e.g. ``Tensor([1., 2.], dtype=float32, autograd=True, creation_op='add')``; the dtype
        is shown unless it is NumPy's default for the kind of data (float64, int64, bool)."""
        dtype = "" if self.data.dtype in _DEFAULT_DTYPES else f", dtype={self.data.dtype}"
        graph = f", creation_op={self.creation_op!r}" if self.creation_op else ""
        return (f"Tensor({np.array2string(self.data, separator=', ', prefix='Tensor(')}{dtype}, "
                f"autograd={self.autograd}{graph})")


def _data(value):
    return value.data if isinstance(value, Tensor) else value
