"""Ops that change only the shape or the order of dims: reshape/view, flatten, unsqueeze,
squeeze, permute, transpose and ``.T``.

Forward and backward are NumPy views of the same data (no copy, no kernel); an op that
needs contiguous memory later copies it then.
"""
import math

import numpy as np

from jitgrad.backend.dtypes import describe
from jitgrad.ops.base import Op, check_dim
from jitgrad.ops.registry import BadInput, Example, apply, register


class Reshape(Op):
    """a.reshape(shape): the same elements in C order under a new shape (one -1 allowed)."""

    creation_op = "reshape"

    def __init__(self, shape):
        self.new_shape = shape

    def forward(self, a):
        self.shape = a.shape
        try:
            return a.reshape(self.new_shape)
        except (ValueError, TypeError) as error:
            raise ValueError(f"reshape: cannot reshape {describe(a)} to {self.new_shape} "
                             f"({error})") from None

    def backward(self, grad, needs_grad):
        return [grad.reshape(self.shape)]


class Permute(Op):
    """a.permute(dims): dim i of the output is dim dims[i] of the input."""

    def __init__(self, dims, creation_op="permute"):
        self.dims, self.creation_op = dims, creation_op

    def forward(self, a):
        dims = [check_dim(self.creation_op, a, d) for d in self.dims]
        if sorted(dims) != list(range(a.ndim)):
            raise ValueError(f"{self.creation_op}: dims {tuple(self.dims)} are not a "
                             f"permutation of the {a.ndim} dims of {describe(a)}")
        self.dims = dims
        return a.transpose(dims)

    def backward(self, grad, needs_grad):
        return [grad.transpose(np.argsort(self.dims))]


def _shape_argument(shape):
    """reshape(2, 3) and reshape((2, 3)) alike."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def reshape(x, *shape):
    """The same elements under ``shape`` (a tuple or separate ints; one may be -1)."""
    return apply(Reshape(_shape_argument(shape)), x)


def flatten(x, start_dim=0, end_dim=-1):
    """Dims start_dim to end_dim merged into one: (2, 3, 4).flatten(1) -> (2, 12)."""
    start = check_dim("flatten", x.data, start_dim) if x.ndim else 0
    end = check_dim("flatten", x.data, end_dim) if x.ndim else 0
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                         f"{describe(x.data)}")
    shape = x.shape
    return reshape(x, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unsqueeze(x, dim):
    """A new dim of size 1 at ``dim`` (-1: last)."""
    dim = check_dim("unsqueeze", x.data, dim, extra=1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """Dims of size 1 removed: all of them, or only ``dim`` (left alone if not of size 1)."""
    if dim is None:
        return reshape(x, tuple(size for size in x.shape if size != 1))
    dim = check_dim("squeeze", x.data, dim)
    if x.shape[dim] != 1:
        return reshape(x, x.shape)
    return reshape(x, x.shape[:dim] + x.shape[dim + 1:])


def permute(x, *dims):
    """Dims reordered: output dim i is input dim dims[i]."""
    return apply(Permute(_shape_argument(dims)), x)


def transpose(x, dim0=None, dim1=None):
    """With no arguments the book's transpose, every dim reversed (NumPy's ``transpose()``);
    ``transpose(dim0, dim1)`` swaps two dims, as PyTorch's."""
    if dim0 is None and dim1 is None:
        return apply(Permute(tuple(range(x.ndim - 1, -1, -1)), "transpose"), x)
    if dim0 is None or dim1 is None:
        raise TypeError("transpose: give both dim0 and dim1, or neither (the book's transpose)")
    dims = list(range(x.ndim))
    a, b = check_dim("transpose", x.data, dim0), check_dim("transpose", x.data, dim1)
    dims[a], dims[b] = dims[b], dims[a]
    return apply(Permute(tuple(dims), "transpose"), x)


def T(x):  # noqa: N802 -- the property's name
    """Every dim reversed, as ``x.T`` in NumPy and PyTorch (2-D: the matrix transpose)."""
    return transpose(x)


register("reshape", reshape, methods=["reshape", "view"], examples=[
    Example(lambda lib, x: x.reshape(3, 4), [(2, 6)]),
    Example(lambda lib, x: x.view((4, -1)), [(2, 3, 2)]),
], bad_inputs=[BadInput(lambda lib, x: x.reshape(4, 2), [(2, 3)], ValueError,
                        r"reshape: cannot reshape float64\[2, 3\] to \(4, 2\)")])
register("flatten", flatten, methods=["flatten"], examples=[
    Example(lambda lib, x: x.flatten(), [(2, 3, 4)]),
    Example(lambda lib, x: x.flatten(1), [(2, 3, 4)]),
    Example(lambda lib, x: x.flatten(0, 1), [(2, 3, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x: x.flatten(2, 1), [(2, 3, 4)], ValueError, "flatten: start_dim 2 comes after"),
    BadInput(lambda lib, x: x.flatten(3), [(2, 3, 4)], IndexError, "flatten: dim 3 is out of range")])
register("unsqueeze", unsqueeze, methods=["unsqueeze"], examples=[
    Example(lambda lib, x, d=d: x.unsqueeze(d), [(2, 3)]) for d in (0, 1, 2, -1)
], bad_inputs=[BadInput(lambda lib, x: x.unsqueeze(3), [(2, 3)], IndexError, "unsqueeze: dim 3")])
register("squeeze", squeeze, methods=["squeeze"], examples=[
    Example(lambda lib, x: x.squeeze(), [(2, 1, 3, 1)]),
    Example(lambda lib, x: x.squeeze(1), [(2, 1, 3)]),
    Example(lambda lib, x: x.squeeze(0), [(2, 1, 3)]),
], bad_inputs=[BadInput(lambda lib, x: x.squeeze(3), [(2, 1, 3)], IndexError, "squeeze: dim 3")])
register("permute", permute, methods=["permute"], examples=[
    Example(lambda lib, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    Example(lambda lib, x: x.permute((1, 0)), [(2, 3)]),
], bad_inputs=[BadInput(lambda lib, x: x.permute(0, 0), [(2, 3)], ValueError,
                        r"permute: dims \(0, 0\) are not a permutation")])
register("transpose", transpose, methods=["transpose"], examples=[
    Example(lambda lib, x: x.transpose(), [(2, 5)], torch=lambda lib, x: x.t()),
    Example(lambda lib, x: x.transpose(), [(2, 3, 4)], torch=lambda lib, x: x.permute(2, 1, 0)),
    Example(lambda lib, x: x.transpose(0, 2), [(2, 3, 4)]),
    Example(lambda lib, x: x.transpose(-1, 1), [(2, 3, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x: x.transpose(0), [(2, 3)], TypeError, "transpose: give both"),
    BadInput(lambda lib, x: x.transpose(0, 2), [(2, 3)], IndexError, "transpose: dim 2")])
register("T", T, properties=["T"], examples=[Example(lambda lib, x: x.T, [(2, 3)])])
