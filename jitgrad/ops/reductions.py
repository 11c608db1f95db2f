"""Reductions over any dims: sum, mean, amax/amin (max()/min()), argmax/argmin.

sum(dim) without keepdim is the book's; ``dim`` may also be a tuple, and ``keepdim=True``
keeps the reduced dims with size 1, as in PyTorch. The kernels are ``kernels/strided.py``'s.
"""
import collections
import functools
import math

import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, check_dim, flat
from jitgrad.ops.broadcast import groups, reduce_to, spread_to
from jitgrad.ops.registry import BadInput, Example, apply, constant, register, stays_integral
from kernels import broadcast as middle
from kernels import strided


def reduced_dims(op, array, dim):
    """``dim`` (None, an int or a tuple of ints) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(array.ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(sorted(check_dim(op, array, d) for d in dims))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim!r} names an axis twice for {describe(array)}")
    return axes


def kept_shape(shape, dims):
    """``shape`` with the reduced ``dims`` set to 1 (keepdim=True's shape)."""
    return tuple(1 if d in dims else size for d, size in enumerate(shape))


class Reduction(Op):
    """The bookkeeping every reduction shares: dims, the kept shape, the output shape."""

    name = None  # for error messages

    def __init__(self, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    def prepare(self, a):
        """``a`` as a C-contiguous float array; sets dims, shapes and count (elements per
        output). The book's ``sum()`` and ``sum(dim)`` take short cuts through the
        bookkeeping: they run on every step of a training loop."""
        self.shape = shape = a.shape
        self.middle = None  # (outer, n, inner) when the reduced dims are one middle axis
        if self.dim is None:
            self.dims, self.kept, self.count = range(a.ndim), (1,) * a.ndim, a.size
            self.out_shape = self.kept if self.keepdim else ()
            self.middle = (1, a.size, 1)
        elif isinstance(self.dim, int):
            d = check_dim(self.name, a, self.dim)
            self.dims, self.count = (d,), shape[d]
            self.kept = shape[:d] + (1,) + shape[d + 1:]
            self.out_shape = self.kept if self.keepdim else shape[:d] + shape[d + 1:]
            self.middle = (math.prod(shape[:d]), shape[d], math.prod(shape[d + 1:]))
        else:
            self.dims = dims = reduced_dims(self.name, a, self.dim)
            self.kept = kept_shape(shape, dims)
            self.out_shape = self.kept if self.keepdim else tuple(
                size for d, size in enumerate(shape) if d not in dims)
            self.count = math.prod(shape[d] for d in dims)
        return np.ascontiguousarray(a, dtype=float_dtype(self.name, a))


class Sum(Reduction):
    """a.sum(dim, keepdim): the book's creation_op names ``sum`` and ``sum_<dim>`` stay.

    The book's sum() and sum(dim) reduce one middle axis of an (outer, n, inner) view: they
    run the book's kernels (``kernels/broadcast.py``), which take fewer arguments to check
    than the general ones of ``kernels/strided.py`` (a microsecond a call, on every step).
    """

    name = creation_op = "sum"

    def forward(self, a):
        x = self.prepare(a)
        if isinstance(self.dim, int):
            self.creation_op = f"{self.name}_{self.dims[0]}"
        if self.middle is not None and self.scale() == 1.0:
            return middle.sum_middle(x.reshape(self.middle)).reshape(self.out_shape)
        self.middle = None
        return reduce_to(x, self.kept, self.scale()).reshape(self.out_shape)

    def scale(self):
        return 1.0

    def backward(self, grad, needs_grad):
        grad = np.ascontiguousarray(grad)
        if self.middle is not None:
            outer, n, inner = self.middle
            return [middle.expand_middle(grad.reshape(outer, inner), n).reshape(self.shape)]
        return [spread_to(grad.reshape(self.kept), self.shape, self.scale())]


class Mean(Sum):
    """a.mean(dim, keepdim): the sum divided by the number of elements summed (NaN if 0)."""

    name = creation_op = "mean"

    def scale(self):
        return 1.0 / self.count if self.count else math.nan


class Extreme(Reduction):
    """amax / amin over ``dim``; the gradient is shared among ties, as in torch."""

    largest = True

    def forward(self, a):
        x = self.prepare(a)
        if self.count == 0:
            raise ValueError(f"{self.creation_op}: cannot reduce {describe(a)} over dims "
                             f"{tuple(self.dims)}, which hold no elements")
        self.x = x.reshape(-1)
        if a.size == 0:  # an empty dim that is not reduced: as many (no) outputs
            return np.empty(self.out_shape, dtype=x.dtype)
        self.sizes, self.strides = groups(self.shape, self.kept)
        self.out = strided.reduce_extreme(self.x, self.sizes, self.strides,
                                          math.prod(self.kept), self.largest)
        return self.out.reshape(self.out_shape)

    def backward(self, grad, needs_grad):
        if self.x.size == 0:
            return [np.zeros(self.shape, dtype=grad.dtype)]
        grad = flat(grad, self.out.dtype)
        return [strided.extreme_backward(self.x, self.sizes, self.strides, self.out,
                                         grad).reshape(self.shape)]


class Amax(Extreme):
    name = creation_op = "amax"
    largest = True


class Amin(Extreme):
    name = creation_op = "amin"
    largest = False


def accepts_keepdims(function):
    """``function`` taking NumPy's spelling ``keepdims=`` too, as torch's reductions do."""
    @functools.wraps(function)
    def wrapper(*args, keepdims=None, **kwargs):
        if keepdims is not None:
            if "keepdim" in kwargs:
                raise TypeError(f"{function.__name__}: give keepdim or keepdims, not both")
            kwargs["keepdim"] = keepdims
        return function(*args, **kwargs)
    return wrapper


@accepts_keepdims
def sum(x, dim=None, keepdim=False):  # noqa: A001 -- the Tensor method's name
    """Sum over ``dim`` (an int, a tuple, or None for every element); the reduced dims go
    unless ``keepdim``. ``x.sum(0)`` is the book's. Integer and bool tensors without autograd
    sum to int64 (counting ``(pred == y).sum()``), as in PyTorch."""
    if stays_integral(x):
        return _integral(np.sum, "sum", x, dim, keepdim, dtype=np.int64)
    return apply(Sum(dim, keepdim), x)


@accepts_keepdims
def mean(x, dim=None, keepdim=False):
    """Mean over ``dim`` (an int, a tuple, or None for every element), as ``sum``."""
    return apply(Mean(dim, keepdim), x)


@accepts_keepdims
def amax(x, dim=None, keepdim=False):
    """Largest value over ``dim``; the gradient goes to the largest entries (shared by ties).
    Integer and bool tensors without autograd keep their dtype, as in PyTorch."""
    if stays_integral(x):
        return _integral(np.amax, "amax", x, dim, keepdim)
    return apply(Amax(dim, keepdim), x)


@accepts_keepdims
def amin(x, dim=None, keepdim=False):
    """Smallest value over ``dim``, as ``amax``."""
    if stays_integral(x):
        return _integral(np.amin, "amin", x, dim, keepdim)
    return apply(Amin(dim, keepdim), x)


def _integral(numpy_function, op, x, dim, keepdim, dtype=None):
    """A reduction of integer or bool data, by NumPy: no gradient flows through integers."""
    array = x.data
    axes = reduced_dims(op, array, dim)
    if numpy_function is not np.sum and any(array.shape[d] == 0 for d in axes):
        raise ValueError(f"{op}: cannot reduce {describe(array)} over dims {axes}, which hold "
                         "no elements")
    return constant(np.asarray(numpy_function(array, axis=axes, keepdims=keepdim), dtype=dtype))


@accepts_keepdims
def argmax(x, dim=None, keepdim=False):
    """Index of the largest value (over the flattened tensor when ``dim`` is None), as an
    int64 Tensor without gradient."""
    return _arg_extreme("argmax", np.argmax, x, dim, keepdim)


@accepts_keepdims
def argmin(x, dim=None, keepdim=False):
    """Index of the smallest value, as ``argmax``."""
    return _arg_extreme("argmin", np.argmin, x, dim, keepdim)


def _arg_extreme(op, numpy_function, x, dim, keepdim):
    # NumPy's own C loop: an index is not differentiable, so no kernel pair to keep in step
    array = x.data
    if array.size == 0:
        raise ValueError(f"{op}: cannot take the {op} of an empty tensor {describe(array)}")
    axis = None if dim is None else check_dim(op, array, dim)
    return constant(numpy_function(array, axis=axis, keepdims=keepdim).astype(np.int64))


#: What max(dim) and min(dim) return, as torch's (values, indices) pair.
ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


@accepts_keepdims
def max(x, dim=None, keepdim=False):  # noqa: A001 -- the Tensor method's name
    """The largest value (a 0-d tensor), or with ``dim`` the pair (values, indices)."""
    if dim is None:
        return amax(x)
    return ValuesIndices(amax(x, dim, keepdim), argmax(x, dim, keepdim))


@accepts_keepdims
def min(x, dim=None, keepdim=False):  # noqa: A001 -- the Tensor method's name
    """The smallest value (a 0-d tensor), or with ``dim`` the pair (values, indices)."""
    if dim is None:
        return amin(x)
    return ValuesIndices(amin(x, dim, keepdim), argmin(x, dim, keepdim))


_DIMS = [None, 0, 1, -1, (0, 2), (1, 2), (0, 1, 2)]


def _reduction_examples(name):
    return [Example(lambda lib, x, d=d, k=k: getattr(x, name)(*(() if d is None else (d,)),
                                                            **({"keepdim": True} if k else {})),
                    [(2, 3, 4)]) for d in _DIMS for k in (False, True) if d is not None or not k]


def _bad_dims(name):
    return [BadInput(lambda lib, x: getattr(x, name)(3), [(2, 3)], IndexError,
                     rf"{name}: dim 3 is out of range for a tensor of shape float64\[2, 3\]"),
            BadInput(lambda lib, x: getattr(x, name)(1.0), [(2, 3)], TypeError,
                     f"{name}: dim must be an int"),
            BadInput(lambda lib, x: getattr(x, name)((0, -2)), [(2, 3)], ValueError,
                     f"{name}: dim .* names an axis twice")]


register("sum", sum, methods=["sum"], examples=_reduction_examples("sum"),
         bad_inputs=_bad_dims("sum"))
register("mean", mean, methods=["mean"], examples=_reduction_examples("mean"),
         bad_inputs=_bad_dims("mean"))
register("amax", amax, methods=["amax"], examples=_reduction_examples("amax"),
         bad_inputs=_bad_dims("amax") + [
             BadInput(lambda lib, x: x.amax(0), [(0, 3)], ValueError, "amax: cannot reduce")])
register("amin", amin, methods=["amin"], examples=_reduction_examples("amin"),
         bad_inputs=_bad_dims("amin"))
register("max", max, methods=["max"], examples=[
    Example(lambda lib, x: x.max(), [(3, 4)]),
    Example(lambda lib, x: x.max(1)[0], [(3, 4)]),
    Example(lambda lib, x: x.max(0).values, [(3, 4)]),
    Example(lambda lib, x: x.max(-1, keepdim=True).indices, [(3, 4)], grad=False),
    Example(lambda lib, x: x.max(0, keepdims=True)[0] * x.sum(1, keepdims=True), [(3, 4)]),
])
register("min", min, methods=["min"], examples=[
    Example(lambda lib, x: x.min(), [(3, 4)]),
    Example(lambda lib, x: x.min(0, keepdim=True)[0], [(3, 4)]),
])
register("argmax", argmax, methods=["argmax"], examples=[
    Example(lambda lib, x: x.argmax(), [(3, 4)], grad=False),
    Example(lambda lib, x: x.argmax(1, keepdim=True), [(3, 4)], grad=False),
], bad_inputs=[BadInput(lambda lib, x: x.argmax(2), [(3, 4)], IndexError, "argmax: dim 2")])
register("argmin", argmin, methods=["argmin"], examples=[
    Example(lambda lib, x: x.argmin(0), [(3, 4)], grad=False),
    Example(lambda lib, x: x.argmin(1, keepdims=True), [(3, 4)], grad=False),
], bad_inputs=[BadInput(lambda lib, x: x.argmin(), [(0,)], ValueError, "argmin: cannot")])
