"""NumPy broadcasting for the ops: shapes, and arrays spread out or summed back.

Also the book's expand(dim, copies), whose backward is a sum over the new dim.
"""
import functools
import math

import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, check_dim
from jitgrad.ops.registry import BadInput, Example, apply, register
from kernels import broadcast as k
from kernels import strided


def broadcast_shape(op, *arrays):
    """The shape NumPy broadcasts ``arrays`` to, or a ValueError naming ``op`` and them."""
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = " and ".join(describe(a) for a in arrays)
        raise ValueError(f"{op}: shapes {shapes} do not broadcast (NumPy's rule: trailing "
                         "dims must be equal or 1)") from None


@functools.lru_cache(maxsize=4096)
def groups(full_shape, *shapes):
    """The kernels' view of ``shapes`` broadcast to ``full_shape`` (kernels/strided.py):
    (group sizes int64 (k,), element strides int64 (len(shapes), k)).

    Dims of size 1 are dropped and adjacent dims that every operand spans or skips alike
    merge into one group, so (b, n, m) + (m,) is two groups, (b * n, m). Cached: the arrays
    must not be changed.
    """
    padded = [(1,) * (len(full_shape) - len(s)) + tuple(s) for s in shapes]
    sizes, patterns = [], []
    for d, size in enumerate(full_shape):
        if size == 1:
            continue
        pattern = tuple(p[d] == size for p in padded)
        if patterns and patterns[-1] == pattern:
            sizes[-1] *= size
        else:
            sizes.append(size)
            patterns.append(pattern)
    if not sizes:
        sizes, patterns = [1], [(True,) * len(shapes)]
    strides = np.zeros((len(shapes), len(sizes)), dtype=np.int64)
    for j in range(len(shapes)):
        running = 1
        for g in range(len(sizes) - 1, -1, -1):
            if patterns[g][j]:
                strides[j, g] = running
                running *= sizes[g]
    return np.array(sizes, dtype=np.int64), strides


def combine(code, a, a_shape, b, b_shape, shape):
    """a <code> b (``kernels.strided`` ADD, SUB, MUL or DIV) for flat a and b of the given
    shapes, broadcast to ``shape``: a flat array."""
    if math.prod(shape) == 0:
        return np.empty(0, dtype=a.dtype)
    sizes, strides = groups(shape, a_shape, b_shape)
    return strided.binary(code, a, b, sizes, strides)


def spread_to(array, shape, scale=1.0):
    """A C-contiguous float ``array`` broadcast to ``shape`` (a new array), times ``scale``."""
    if math.prod(shape) == 0:
        return np.zeros(shape, dtype=array.dtype)
    sizes, strides = groups(shape, array.shape)
    return strided.broadcast_to(array.reshape(-1), sizes, strides, scale).reshape(shape)


def sum_to(array, shape):
    """A C-contiguous float ``array`` summed over the dims it was broadcast along from
    ``shape`` (broadcasting's backward); ``array`` itself when it already has that shape."""
    return array if array.shape == tuple(shape) else reduce_to(array, shape)


def reduce_to(array, shape, scale=1.0):
    """A C-contiguous float ``array`` summed down to ``shape`` (of as many dims, or fewer:
    broadcasting's rule), times ``scale``; always a new array."""
    if array.size == 0:
        return np.zeros(shape, dtype=array.dtype) * array.dtype.type(scale)  # NaN for a mean
    sizes, strides = groups(array.shape, shape)
    return strided.reduce_sum(array.reshape(-1), sizes, strides, math.prod(shape),
                              scale).reshape(shape)


def sum_over(array, dim):
    """A C-contiguous float ``array`` summed over axis ``dim``."""
    shape = array.shape
    view = array.reshape(math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:]))
    return k.sum_middle(view).reshape(shape[:dim] + shape[dim + 1:])


def expand_at(array, dim, copies):
    """A C-contiguous float ``array`` repeated ``copies`` times along a new axis at ``dim``."""
    shape = array.shape
    view = array.reshape(math.prod(shape[:dim]), math.prod(shape[dim:]))
    return k.expand_middle(view, copies).reshape(shape[:dim] + (copies,) + shape[dim:])


class Expand(Op):
    """a.expand(dim, copies): a new axis of length ``copies`` inserted at position ``dim``."""

    def __init__(self, dim, copies):
        self.dim, self.copies = dim, copies
        self.creation_op = f"expand_{dim}"

    def forward(self, a):
        self.dim = check_dim("expand", a, self.dim, extra=1)
        self.creation_op = f"expand_{self.dim}"
        if isinstance(self.copies, (bool, np.bool_)) or not isinstance(
                self.copies, (int, np.integer)) or self.copies < 0:
            raise TypeError(f"expand: copies must be a non-negative int, got {self.copies!r}")
        source = np.asarray(a, dtype=float_dtype("expand", a), order="C")
        try:
            return expand_at(source, self.dim, int(self.copies))
        except MemoryError:  # raised by the kernel's allocation, which cannot name the op
            raise MemoryError(f"expand: {self.copies} copies of {describe(a)} need "
                              f"{source.nbytes * int(self.copies):,} bytes, more than "
                              "can be allocated") from None

    def backward(self, grad, needs_grad):
        return [sum_over(np.asarray(grad, order="C"), self.dim)]


def expand(x, dim, copies):
    """The book's expand: ``copies`` repeats along a new axis at ``dim``,
    (3,) -> expand(0, 4) -> (4, 3). (PyTorch's ``expand(*sizes)`` is another op.)"""
    return apply(Expand(dim, copies), x)


register("expand", expand, methods=["expand"], examples=[
    Example(lambda lib, x, d=d: x.expand(d, 3), [(2, 3)],
            torch=lambda lib, x, d=d: x.unsqueeze(d).expand(*x.shape[:d], 3, *x.shape[d:]))
    for d in (0, 1, 2)
], bad_inputs=[
    BadInput(lambda lib, x: x.expand(3, 2), [(2, 3)], IndexError, "expand: dim 3 is out of range"),
    BadInput(lambda lib, x: x.expand(0, -1), [(2,)], TypeError, "expand: copies must be"),
])
