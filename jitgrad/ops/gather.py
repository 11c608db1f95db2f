"""index_select: rows of a table picked by integer indices (an embedding lookup)."""
import math

import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, check_indices, rows
from jitgrad.ops.registry import BadInput, Example, apply, array_of, register
from kernels import gather as k


class IndexSelect(Op):
    """weight.index_select(indices): ``weight[indices]``.

    weight (rows, *row_shape), indices int of any shape -> (*indices.shape, *row_shape).
    Repeated indices are allowed; their gradients add up in the selected row.
    """

    creation_op = "index_select"
    operands = ("indices",)  # data, not settings: a compiled step rebinds it at each call

    def __init__(self, indices):
        self.indices = indices

    def forward(self, weight):
        if weight.ndim == 0:
            raise ValueError(f"index_select: cannot select rows of 0-d {describe(weight)}")
        self.flat_indices = check_indices("index_select", self.indices, weight.shape[0])
        self.weight_shape = weight.shape
        width = math.prod(weight.shape[1:])
        table = rows(weight, float_dtype("index_select", weight), width, weight.shape[0])
        return k.index_select(table, self.flat_indices).reshape(self.indices.shape + weight.shape[1:])

    def backward(self, grad, needs_grad):
        grad_rows = rows(grad, grad.dtype, math.prod(self.weight_shape[1:]), self.flat_indices.size)
        table_grad = k.index_select_backward(grad_rows, self.flat_indices, self.weight_shape[0])
        return [table_grad.reshape(self.weight_shape)]


def index_select(weight, indices):
    """Rows ``weight.data[indices]``: (rows, *row) -> (*indices.shape, *row), the book's
    embedding lookup (a Tensor or array of ints). PyTorch's ``index_select(dim, index)``
    is spelled ``weight[indices]`` here."""
    return apply(IndexSelect(array_of(indices)), weight)


register("index_select", index_select, methods=["index_select"], examples=[
    Example(lambda lib, w: w.index_select(lib.tensor(np.array([[0, 2, 2], [4, 0, 2]]))), [(5, 3)],
            torch=lambda lib, w: w[lib.tensor(np.array([[0, 2, 2], [4, 0, 2]]))]),
    Example(lambda lib, w: w.index_select(lib.tensor(np.array([1, 1, 0]))), [(2, 3, 2)],
            torch=lambda lib, w: w[lib.tensor(np.array([1, 1, 0]))]),
], bad_inputs=[
    BadInput(lambda lib, w, i=i: w.index_select(lib.tensor(i)), [(5, 3)], error, match)
    for i, error, match in [
        (np.array([0, 5]), IndexError, r"index_select: indices must lie in \[0, 5\), got values from 0 to 5"),
        (np.array([-1, 2]), IndexError, r"index_select: indices must lie in \[0, 5\)"),
        (np.array([0.0, 1.0]), TypeError, r"index_select: indices must be integers, got float64\[2\]"),
        (np.array([True, False]), TypeError, r"index_select: indices must be integers, got bool\[2\]"),
        (np.array([2**64 - 1], dtype=np.uint64), IndexError, "got values from 18446744073709551615"),
    ]
] + [BadInput(lambda lib, w: w.index_select(lib.tensor(np.array([0]))), [()], ValueError,
              "index_select: cannot select rows of 0-d")])
