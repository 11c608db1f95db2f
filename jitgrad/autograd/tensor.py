"""The Tensor: an array, the graph that made it, and its op methods (from the op registry).

Each op method runs an ``Op`` (``jitgrad.ops``) on the arrays and, when any input has
``autograd=True``, records the graph edge as the book does: the output lists its
``creators`` and ``creation_op``, and each creator counts the output in its ``children``.
``backward`` hands the graph to ``jitgrad.autograd.engine``.
"""
import itertools
import numbers

import numpy as np

from jitgrad import ops
from jitgrad.autograd import anomaly, grad_mode, recording
from jitgrad.autograd import engine as autograd
from jitgrad.backend import profiler
from jitgrad.backend.dtypes import describe

# Ids come from a counter, not the RNG: unique, and seeded runs draw no random numbers for them.
# next() on an itertools.count is atomic in CPython, so threads never share an id.
next_id = itertools.count(1).__next__


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
        Whether gradients flow to this tensor.
    requires_grad : bool, optional
        PyTorch's name for ``autograd``; overrides it when given.

    Attributes: ``data``, ``grad`` (a Tensor, or None before any backward), ``autograd``,
    ``creators`` (input Tensors, or None for a leaf), ``creation_op`` (e.g. ``"mm"``),
    ``children`` (``{child id: uses}``: the book's count of pending children), ``id``.
    """

    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected methods
    __slots__ = ("data", "autograd", "grad", "creators", "creation_op", "children", "id",
                 "_op", "_retain_grad", "_grad_buffer", "__weakref__")

    def __init__(self, data, autograd=False, requires_grad=None):
        self.data = as_array(data)
        self.autograd = bool(autograd if requires_grad is None else requires_grad)
        self.grad = None
        self.creators = None
        self.creation_op = None
        self.children = {}
        self.id = next_id()
        self._op = None
        self._retain_grad = False
        self._grad_buffer = None  # a released gradient (a Tensor, zeroed), reused by backward
        if recording.switch.active:
            recording.switch.tape.tensor_made(data, self)

    @classmethod
    def wrap(cls, array, autograd=False):
        """A Tensor around ``array`` itself, not a copy (for arrays jitgrad just made)."""
        out = cls.__new__(cls)
        out.data, out.autograd, out.grad = array, autograd, None
        out.creators = out.creation_op = out._op = None
        out.children, out.id, out._retain_grad, out._grad_buffer = {}, next_id(), False, None
        return out

    def __del__(self):
        """Leave the ``children`` of the tensors this one was made from.

        The book counts a child when an op runs and uncounts it when backward reaches it, so a
        graph dropped without backward (inference, an evaluation loop) would leave its count
        on every parameter forever. A tensor that dies was never going to send a gradient.
        """
        creators = getattr(self, "creators", None)  # unset if __init__ raised
        if creators:
            for creator in creators:
                creator.children.pop(self.id, None)

    @classmethod
    def _from_op(cls, op, inputs):
        """Run ``op`` on the inputs' arrays; record the graph edge if any input wants grads
        (and ``no_grad()`` is not active in this thread)."""
        arrays = [t.data for t in inputs]
        out = cls.wrap(profiler.timed_forward(op, arrays) if profiler.switch.active else op.forward(*arrays))
        if anomaly.switch.active:
            anomaly.check_forward(op, [t.data for t in inputs], out.data)
        if recording.switch.active:
            recording.switch.tape.op(op, inputs, out)
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

    def float(self):
        """This tensor as float32 (``to(np.float32)``): differentiable, itself if it already is."""
        return self.to("float32")

    def double(self):
        """This tensor as float64 (``to(np.float64)``)."""
        return self.to("float64")

    def bfloat16(self):
        """This tensor rounded to ``jitgrad.bfloat16``, for storing (ops refuse it)."""
        from jitgrad.backend.amp import bfloat16
        return self.to(bfloat16())

    def _grad_dtype(self):
        """Gradients keep a float tensor's dtype; integer tensors get float64 gradients."""
        return self.data.dtype if self.data.dtype.kind == "f" else np.dtype(np.float64)

    # --- ops -----------------------------------------------------------------------------
    # The op methods (``+``, ``mm``, ``sum``, ``exp``, ``__getitem__``, ...) are installed from
    # the op registry at the end of this module: ``t.exp`` is ``jitgrad.ops.<module>.exp``,
    # the function registered as ``"exp"`` (``jitgrad.ops.registry.SPECS["exp"]``).

    # --- comparisons and NumPy interop (not differentiable) -------------------------------
    #: Comparisons return arrays, so hashing stays by identity (autograd keys dicts by tensor).
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self.data == _data(other)

    def __ne__(self, other):
        return self.data != _data(other)

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

    @property
    def ndim(self):
        return self.data.ndim

    def size(self, dim=None):
        """The shape, or its ``dim``-th entry (PyTorch's ``size``)."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def item(self):
        """The one element of a tensor as a Python number."""
        if recording.switch.active:
            recording.switch.tape.escape("item()")
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor of one element has an item, got "
                             f"{describe(self.data)}")
        return self.data.item()

    def numpy(self):
        """``.data`` itself, the NumPy array (no copy, as PyTorch's ``numpy()`` shares memory)."""
        if recording.switch.active:
            recording.switch.tape.escape("numpy()")
        return self.data

    def detach(self):
        """A tensor on the same data, outside the graph (autograd=False)."""
        return Tensor.wrap(self.data)

    @property
    def requires_grad(self):
        """PyTorch's name for ``autograd``."""
        return self.autograd

    @requires_grad.setter
    def requires_grad(self, value):
        self.autograd = bool(value)

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


ops.registry.install(Tensor)
