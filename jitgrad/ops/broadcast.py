"""sum(dim) and expand(dim, copies), each the other's backward."""
import math

import numpy as np

from kernels import broadcast as k

from ..dtypes import describe, float_dtype
from .base import Op, check_dim


def sum_over(array, dim):
    """A C-contiguous float ``array`` summed over axis ``dim`` (every axis when None)."""
    shape = array.shape
    if dim is None:
        view, out_shape = array.reshape(1, array.size, 1), ()
    else:
        view = array.reshape(math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:]))
        out_shape = shape[:dim] + shape[dim + 1:]
    return k.sum_middle(view).reshape(out_shape)


def expand_at(array, dim, copies):
    """A C-contiguous float ``array`` repeated ``copies`` times along a new axis at ``dim``."""
    shape = array.shape
    view = array.reshape(math.prod(shape[:dim]), math.prod(shape[dim:]))
    return k.expand_middle(view, copies).reshape(shape[:dim] + (copies,) + shape[dim:])


class Sum(Op):
    """a.sum(dim): shape without axis ``dim``; a.sum() sums everything to a 0-d tensor."""

    def __init__(self, dim=None):
        self.dim = dim
        self.creation_op = "sum" if dim is None else f"sum_{dim}"

    def forward(self, a):
        if self.dim is not None:
            self.dim = check_dim("sum", a, self.dim)
            self.creation_op = f"sum_{self.dim}"
        self.shape = a.shape
        return sum_over(np.asarray(a, dtype=float_dtype("sum", a), order="C"), self.dim)

    def backward(self, grad, needs_grad):
        grad = np.asarray(grad, order="C")  # ascontiguousarray would make 0-d 1-d
        if self.dim is None:
            return [expand_at(grad.reshape(1), 0, math.prod(self.shape)).reshape(self.shape)]
        return [expand_at(grad, self.dim, self.shape[self.dim])]


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
