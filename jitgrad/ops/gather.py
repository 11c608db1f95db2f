"""index_select: rows of a table picked by integer indices (an embedding lookup)."""
import math

import numpy as np

from kernels import gather as k

from ..dtypes import describe, float_dtype
from .base import Op, check_indices, rows


class IndexSelect(Op):
    """weight.index_select(indices): ``weight[indices]``.

    weight (rows, *row_shape), indices int of any shape -> (*indices.shape, *row_shape).
    Repeated indices are allowed; their gradients add up in the selected row.
    """

    creation_op = "index_select"

    def __init__(self, indices):
        self.indices = indices

    def forward(self, weight):
        if weight.ndim == 0:
            raise ValueError(f"index_select: cannot select rows of 0-d {describe(weight)}")
        self.index_shape = self.indices.shape
        self.indices = check_indices("index_select", self.indices, weight.shape[0])
        self.weight_shape = weight.shape
        width = math.prod(weight.shape[1:])
        table = rows(weight, float_dtype("index_select", weight), width, weight.shape[0])
        return k.index_select(table, self.indices).reshape(self.index_shape + weight.shape[1:])

    def backward(self, grad, needs_grad):
        grad_rows = rows(grad, grad.dtype, math.prod(self.weight_shape[1:]), self.indices.size)
        table_grad = k.index_select_backward(grad_rows, self.indices, self.weight_shape[0])
        return [table_grad.reshape(self.weight_shape)]


class Select(Op):
    """a[index]: the index-th slice along dim 0, (n, *rest) -> rest; a view, not a copy."""

    creation_op = "select"

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        if a.ndim == 0:
            raise IndexError(f"select: cannot index a 0-d tensor {describe(a)}")
        if isinstance(self.index, (bool, np.bool_)) or not isinstance(self.index, (int, np.integer)):
            raise TypeError(f"select: index must be an int, got {self.index!r}; use "
                            "index_select for arrays of indices")
        if not -a.shape[0] <= self.index < a.shape[0]:
            raise IndexError(f"select: index {self.index} is out of range for {describe(a)}")
        self.shape, self.dtype = a.shape, a.dtype
        return a[self.index]

    def backward(self, grad, needs_grad):
        out = np.zeros(self.shape, dtype=grad.dtype)
        out[self.index] = grad
        return [out]
