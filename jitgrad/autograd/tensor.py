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
from jitgrad.backend import profiler, random
from jitgrad.backend.device import CPU, check_device
from jitgrad.backend.dtypes import describe

# Ids come from a counter, not the RNG: unique, and seeded runs draw no random numbers for them.
# next() on an itertools.count is atomic in CPython, so threads never share an id.
next_id = itertools.count(1).__next__

_versions = autograd.versions  # read at every recorded op: one global lookup, not two


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
                 "_op", "_retain_grad", "_grad_buffer", "_recorded_at", "__weakref__")

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
        out._recorded_at = _versions.now  # for backward's in-place check (engine.versions)
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

    def requires_grad_(self, requires_grad=True):
        """Set whether gradients flow to this leaf; returns the tensor, as PyTorch's."""
        if self.creators is not None and not requires_grad:
            raise RuntimeError("requires_grad_: only a leaf tensor's flag can be cleared; "
                               "use detach() for a tensor outside the graph")
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only tensors of floating point dtype can "
                               f"require gradients, got {describe(self.data)}")
        self.autograd = bool(requires_grad)
        return self

    @property
    def is_leaf(self):
        """True for a tensor no op made (parameters, inputs), as in PyTorch."""
        return self.creators is None

    def bfloat16(self):
        """This tensor rounded to ``jitgrad.bfloat16``, for storing (ops refuse it)."""
        from jitgrad.backend.amp import bfloat16
        return self.to(bfloat16())

    def _grad_dtype(self):
        """Gradients keep a float tensor's dtype; integer tensors get float64 gradients."""
        return self.data.dtype if self.data.dtype.kind == "f" else np.dtype(np.float64)

    # --- ops -----------------------------------------------------------------------------
    # The op methods (``+``, ``mm``, ``sum``, ``exp``, ``__getitem__``, ``to``, ``clone``, ...)
    # are installed from the op registry at the end of this module: ``t.exp`` is
    # ``jitgrad.ops.<module>.exp``, the function registered as ``"exp"``
    # (``jitgrad.ops.registry.SPECS["exp"]``).

    # --- dtype and device conversions (``to`` is the registered op) ----------------------
    def float(self):
        """This tensor as float32 (``to(jitgrad.float32)``): differentiable, itself if it
        already is."""
        return self.to(np.float32)

    def double(self):
        """This tensor as float64."""
        return self.to(np.float64)

    def half(self):
        """This tensor's data as float16 (ops compute it in float32)."""
        return self.to(np.float16)

    def long(self):
        """This tensor as int64 (no gradient flows through an integer tensor)."""
        return self.to(np.int64)

    def int(self):
        """This tensor as int32."""
        return self.to(np.int32)

    def bool(self):
        """This tensor as bool (non-zero is True)."""
        return self.to(np.bool_)

    def type(self, dtype=None):
        """Without ``dtype``: the dtype's name (``"float32"``); with it: ``to(dtype)``."""
        return str(self.data.dtype) if dtype is None else self.to(dtype)

    def cpu(self):
        """The tensor itself: jitgrad runs on the CPU."""
        return self

    def cuda(self, *args, **kwargs):
        check_device("cuda", "cuda")

    @property
    def device(self):
        return CPU

    # --- comparisons: bool tensors, outside the graph ------------------------------------
    #: Hashing stays by identity (autograd keys dicts by tensor), although ``==`` is elementwise.
    __hash__ = object.__hash__

    def __eq__(self, other):
        return Tensor.wrap(np.asarray(self.data == _data(other)))

    def __ne__(self, other):
        return Tensor.wrap(np.asarray(self.data != _data(other)))

    def __lt__(self, other):
        return Tensor.wrap(np.asarray(self.data < _data(other)))

    def __le__(self, other):
        return Tensor.wrap(np.asarray(self.data <= _data(other)))

    def __gt__(self, other):
        return Tensor.wrap(np.asarray(self.data > _data(other)))

    def __ge__(self, other):
        return Tensor.wrap(np.asarray(self.data >= _data(other)))

    def all(self, dim=None, keepdim=False):
        """Whether every element is non-zero (over ``dim``), as a bool tensor."""
        return Tensor.wrap(np.asarray(self.data.all(axis=dim, keepdims=keepdim)))

    def any(self, dim=None, keepdim=False):
        """Whether any element is non-zero (over ``dim``), as a bool tensor."""
        return Tensor.wrap(np.asarray(self.data.any(axis=dim, keepdims=keepdim)))

    # --- one element as a Python value ---------------------------------------------------
    def __bool__(self):
        return bool(self._one("bool"))

    def __float__(self):
        return float(self._one("float"))

    def __int__(self):
        return int(self._one("int"))

    def __index__(self):
        """An integer tensor of one element indexes lists (``vocab[t.argmax()]``)."""
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"only integer tensors of one element can be used as an index, "
                            f"got {describe(self.data)}")
        return int(self._one("index"))

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a one-element tensor's value, as PyTorch's."""
        if spec and self.data.size == 1:
            return format(self.data.item(), spec)
        return format(str(self), spec)

    def _one(self, what):
        if self.data.size != 1:
            raise RuntimeError(f"{what}: only a tensor of one element converts to a Python "
                               f"value, got {describe(self.data)} (its truth or value is "
                               "ambiguous)")
        return self.data.item()

    # --- NumPy interop ---------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)`` is ``t.data`` itself (no copy), as for any array-like that wraps
        an array; ``np.array(t)`` or ``copy=True`` copies."""
        return np.array(self.data, dtype=dtype, copy=True if copy else None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy meeting a Tensor. ``array <op> tensor`` is the tensor's reflected op (a
        Tensor, in the graph); an in-place ``array += tensor`` (the book's ``w.data``,
        PyTorch's ``p.data += -lr * p.grad``) writes into the array itself; anything else
        (``np.exp(t)``) computes on the arrays, as NumPy does."""
        names = _REFLECTED.get(ufunc)
        if names and method == "__call__" and len(inputs) == 2 and not kwargs:
            a, b = inputs
            return getattr(a, names[0])(b) if isinstance(a, Tensor) else getattr(b, names[1])(a)
        if "out" in kwargs:
            if recording.switch.active:  # a write the tape would not replay
                recording.switch.tape.escape(f"an in-place NumPy {ufunc.__name__} with a Tensor")
            kwargs["out"] = tuple(_data(out) for out in kwargs["out"])
        return getattr(ufunc, method)(*map(_data, inputs), **kwargs)

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

    def dim(self):
        """The number of dims (``ndim``)."""
        return self.data.ndim

    def size(self, dim=None):
        """The shape, or its ``dim``-th entry (PyTorch's ``size``)."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        """The number of elements."""
        return self.data.size

    nelement = numel

    def item(self):
        """The one element of a tensor as a Python number."""
        if recording.switch.active:
            recording.switch.tape.escape("item()")
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor of one element has an item, got "
                             f"{describe(self.data)}")
        return self.data.item()

    def tolist(self):
        """The values as (nested) Python lists, or a number for a 0-d tensor."""
        if recording.switch.active:
            recording.switch.tape.escape("tolist()")
        return self.data.tolist()

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

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 -- torch's names
        """(values, indices) of the ``k`` largest (or smallest) entries along ``dim``, as
        PyTorch's ``topk``; both outside the graph (for predictions, not for training)."""
        data = np.moveaxis(self.data, dim, -1)
        if not 0 <= k <= data.shape[-1]:
            raise ValueError(f"topk: k={k} is out of range for dim {dim} of {describe(self.data)}")
        order = np.argsort(-data if largest else data, axis=-1, kind="stable")[..., :k]
        values = np.take_along_axis(data, order, axis=-1)
        return (Tensor.wrap(np.moveaxis(values, -1, dim)), Tensor.wrap(np.moveaxis(order, -1, dim)))

    # --- in place, PyTorch's way -----------------------------------------------------------
    # Each writes into ``.data`` itself. A tensor that gradients flow to may be written only
    # under ``no_grad()`` (an optimizer's update), and a write bumps the tensor's version, so
    # that a backward pass through an op recorded before it raises instead of computing a
    # wrong gradient from the changed values.
    def add_(self, other, alpha=1):
        """self += alpha * other, in place; returns self."""
        return self._ufunc_(np.add, "add_", other if alpha == 1 else _data(other) * alpha)

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return self._ufunc_(np.subtract, "sub_", other if alpha == 1 else _data(other) * alpha)

    def mul_(self, other):
        """self *= other, in place."""
        return self._ufunc_(np.multiply, "mul_", other)

    def div_(self, other):
        """self /= other, in place (a float tensor: integer data cannot hold the quotient)."""
        return self._ufunc_(np.true_divide, "div_", other)

    def clamp_(self, min=None, max=None):  # noqa: A002 -- torch's keyword names
        """self limited to [min, max], in place."""
        if min is None and max is None:
            raise ValueError("clamp_: give min, max or both")
        self._check_inplace("clamp_", ())
        np.clip(self.data, min, max, out=self.data)
        return self._bump()

    def zero_(self):
        """Fill with 0, in place."""
        return self.fill_(0)

    def fill_(self, value):
        """Fill with ``value`` (a number or a one-element tensor), in place."""
        self._check_inplace("fill_", (value,))
        self.data.fill(_data(value).item() if isinstance(value, Tensor) else value)
        return self._bump()

    def copy_(self, src):
        """Copy ``src``'s values (broadcast to this tensor's shape, converted to its dtype)."""
        self._check_inplace("copy_", (src,))
        source = np.asarray(_data(src))
        try:
            np.broadcast_to(source, self.data.shape)
        except ValueError:
            raise ValueError(f"copy_: the source {describe(source)} does not broadcast to "
                             f"{describe(self.data)}") from None
        np.copyto(self.data, source, casting="unsafe")
        return self._bump()

    def uniform_(self, a=0.0, b=1.0, generator=None):
        """Fill with uniform samples in [a, b), from ``generator`` or the global stream."""
        self._check_inplace("uniform_", ())
        values = random.source(generator, "uniform_").random(self.data.shape) * (b - a) + a
        np.copyto(self.data, values, casting="unsafe")
        return self._bump()

    def normal_(self, mean=0.0, std=1.0, generator=None):
        """Fill with normal samples of ``mean`` and ``std``, from ``generator`` or the global
        stream."""
        self._check_inplace("normal_", ())
        values = random.source(generator, "normal_").standard_normal(self.data.shape) * std + mean
        np.copyto(self.data, values, casting="unsafe")
        return self._bump()

    def __setitem__(self, index, value):
        """self[index] = value, in place (indices as ``__getitem__`` takes them). As in
        PyTorch, ``t[i][j] = v`` writes through: basic indexing gives views."""
        self._check_inplace("__setitem__", (value,))
        index = tuple(map(_data, index)) if isinstance(index, tuple) else _data(index)
        try:
            self.data[index] = _data(value)
        except (IndexError, ValueError, TypeError) as error:
            raise type(error)(f"__setitem__: cannot write {describe(np.asarray(_data(value)))} "
                              f"into {describe(self.data)} at {index!r} ({error})") from None
        self._bump()

    def __iadd__(self, other):
        return self + other if self._grows_graph(other) else self.add_(other)

    def __isub__(self, other):
        return self - other if self._grows_graph(other) else self.sub_(other)

    def __imul__(self, other):
        return self * other if self._grows_graph(other) else self.mul_(other)

    def __itruediv__(self, other):
        return self / other if self._grows_graph(other) else self.div_(other)

    def _grows_graph(self, other):
        """Whether ``self op= other`` is a new graph node (``self = self op other``): inside
        the graph, as the book's code writes ``loss += ...``. A leaf that gradients flow to
        is written in place (so under ``no_grad()``; outside it, ``add_`` raises)."""
        if not grad_mode.is_grad_enabled():
            return False
        if self.autograd:
            return self.creators is not None
        return isinstance(other, Tensor) and other.autograd

    def _ufunc_(self, ufunc, who, other):
        """self = ufunc(self, other), written into ``self.data``."""
        self._check_inplace(who, (other,))
        operand = _data(other)
        try:
            ufunc(self.data, operand, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as error:  # NumPy's casting and broadcasting errors
            operand = np.asarray(operand)
            kind = TypeError if isinstance(error, TypeError) else ValueError
            raise kind(f"{who}: cannot write the result for operand {describe(operand)} "
                              f"into {describe(self.data)} in place ({error})") from None
        return self._bump()

    def _check_inplace(self, who, operands):
        """Raise, before anything is written, where PyTorch would (or where a gradient would
        be lost without a word); note the write to a ``jitgrad.compile`` recording."""
        if grad_mode.is_grad_enabled():
            if self.autograd and self.creators is None:
                raise RuntimeError(
                    f"{who}: a leaf tensor that requires grad is used in an in-place "
                    "operation; update parameters inside `with jitgrad.no_grad():` "
                    "(as an optimizer does), or write to .data")
            if self.autograd or any(isinstance(t, Tensor) and t.autograd for t in operands):
                raise RuntimeError(
                    f"{who}: in-place operations inside the graph are not supported "
                    f"(the tensor was made by {self.creation_op!r}, or an operand requires "
                    "grad); write the out-of-place op, y = y + x")
        if recording.switch.active:
            recording.switch.tape.escape(who)

    def _bump(self):
        """Record the write: the graph edges recorded before it may no longer back-propagate."""
        _versions.wrote(self)
        return self

    def __str__(self):
        return str(self.data)

    def __repr__(self):
        """e.g. ``Tensor([1., 2.], dtype=float32, autograd=True, creation_op='add')``; the dtype
        is shown unless it is NumPy's default for the kind of data (float64, int64, bool)."""
        dtype = "" if self.data.dtype in _DEFAULT_DTYPES else f", dtype={self.data.dtype}"
        graph = f", creation_op={self.creation_op!r}" if self.creation_op else ""
        return (f"Tensor({np.array2string(self.data, separator=', ', prefix='Tensor(')}{dtype}, "
                f"autograd={self.autograd}{graph})")


#: NumPy's binary ufuncs and the Tensor's (forward, reflected) methods for them.
_REFLECTED = {
    np.add: ("__add__", "__radd__"), np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"), np.true_divide: ("__truediv__", "__rtruediv__"),
    np.matmul: ("__matmul__", "__rmatmul__"), np.power: ("__pow__", "__rpow__"),
    np.greater: ("__gt__", "__lt__"), np.less: ("__lt__", "__gt__"),
    np.greater_equal: ("__ge__", "__le__"), np.less_equal: ("__le__", "__ge__"),
    np.equal: ("__eq__", "__eq__"), np.not_equal: ("__ne__", "__ne__"),
}


def _data(value):
    return value.data if isinstance(value, Tensor) else value


ops.registry.install(Tensor)
