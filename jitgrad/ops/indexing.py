"""t[index]: the book's select by an int, and NumPy's indexing by anything else.

Ints, slices, None and Ellipsis give a view ("basic" indexing); integer arrays and boolean
masks pick elements ("advanced" indexing), which may repeat: their gradient is a scatter-add
(``kernels/gather.py``'s), so repeats add up. One int array picks rows: that is index_select.
"""
import numpy as np

from jitgrad.backend.dtypes import describe
from jitgrad.ops.base import Op
from jitgrad.ops.gather import IndexSelect
from jitgrad.ops.registry import (BadInput, Example, apply, array_of, constant, is_tensor, register,
                                  stays_integral)
from kernels import gather


class Select(Op):
    """a[index]: the index-th slice along dim 0, (n, *rest) -> rest; a view, not a copy."""

    creation_op = "select"

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        if a.ndim == 0:
            raise IndexError(f"select: cannot index a 0-d tensor {describe(a)}")
        if not -a.shape[0] <= self.index < a.shape[0]:
            raise IndexError(f"select: index {self.index} is out of range for {describe(a)}")
        self.shape, self.dtype = a.shape, a.dtype
        return a[self.index]

    def backward(self, grad, needs_grad):
        out = np.zeros(self.shape, dtype=grad.dtype)
        out[self.index] = grad
        return [out]


class Index(Op):
    """a[index] for any NumPy index other than a single int."""

    creation_op = "index"
    operands = ("index",)  # may hold index arrays: data a compiled step checks per call

    def __init__(self, index):
        self.index = index
        parts = index if isinstance(index, tuple) else (index,)
        self.advanced = any(isinstance(part, np.ndarray) for part in parts)

    def forward(self, a):
        self.shape = a.shape
        try:
            if self.advanced:  # each output element's flat position in a, for the backward
                self.positions = np.arange(a.size).reshape(a.shape)[self.index].reshape(-1)
            return a[self.index]
        except (IndexError, TypeError, ValueError) as error:
            raise IndexError(f"index: cannot index {describe(a)} with {self.index!r} "
                             f"({error})") from None

    def backward(self, grad, needs_grad):
        if not self.advanced:
            out = np.zeros(self.shape, dtype=grad.dtype)
            out[self.index] = grad
            return [out]
        rows = np.ascontiguousarray(grad, dtype=grad.dtype).reshape(-1, 1)
        return [gather.index_select_backward(rows, self.positions, int(np.prod(self.shape)))
                .reshape(self.shape)]


def _index_part(part):
    """One part of an index: Tensors and lists become arrays; ints, slices, None stay."""
    if isinstance(part, (list, np.ndarray)) or is_tensor(part):
        array = np.asarray(array_of(part))
        if array.dtype.kind not in "biu" and array.size:
            raise IndexError(f"index: index arrays must be integers or booleans, got "
                             f"{describe(array)}")
        return array.astype(np.intp) if array.dtype.kind in "iu" else array
    return part


def getitem(x, index):
    """x[index] as NumPy indexes: ints, slices, None, Ellipsis, integer arrays (repeats add
    their gradients) and boolean masks. ``x[i]`` with an int is the book's select."""
    if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
        return apply(Select(index), x)
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(_index_part(part) for part in parts)
    if len(parts) == 1 and isinstance(parts[0], np.ndarray) and parts[0].dtype.kind == "i":
        if stays_integral(x):  # an integer tensor's rows stay integers (the kernels are float)
            return constant(x.data[parts[0]])
        return _rows(x, parts[0])
    return apply(Index(parts if isinstance(index, tuple) else parts[0]), x)


def _rows(x, indices):
    """x[indices] for an int array: rows of dim 0 by index_select's kernels (an embedding
    lookup), with NumPy's negative indices counted from the end."""
    rows = x.shape[0] if x.ndim else 0
    if indices.size and (indices.min() < -rows or indices.max() >= rows):
        raise IndexError(f"index: indices from {indices.min()} to {indices.max()} are out of "
                         f"range for dim 0 of {describe(x.data)}")
    return apply(IndexSelect(np.where(indices < 0, indices + rows, indices)), x)


register("getitem", getitem, methods=["__getitem__"], examples=[
    Example(lambda lib, x: x[1], [(3, 4)]),
    Example(lambda lib, x: x[-1], [(2, 3, 4)]),
    Example(lambda lib, x: x[:, :2], [(3, 4)]),
    Example(lambda lib, x: x[..., 1:3, None], [(2, 3, 4)]),
    Example(lambda lib, x: x[1, ::2], [(3, 4)]),
    Example(lambda lib, x: x[lib.tensor(np.array([0, 2, 2, 1]))], [(3, 4)]),
    Example(lambda lib, x: x[lib.tensor(np.array([[-1, 0], [-3, -1]]))], [(3, 2, 2)]),
    Example(lambda lib, x: x[:, lib.tensor(np.array([[3, 0], [3, 3]]))], [(2, 4)]),
    Example(lambda lib, x: x[lib.tensor(np.array([True, False, True]))], [(3, 4)]),
    Example(lambda lib, x: x[lib.tensor(np.array([0, 1])), lib.tensor(np.array([2, 2]))], [(3, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x: x[3], [(3, 4)], IndexError, r"select: index 3 is out of range for float64\[3, 4\]"),
    BadInput(lambda lib, x: x[0], [()], IndexError, "select: cannot index a 0-d tensor"),
    BadInput(lambda lib, x: x[:, 5], [(3, 4)], IndexError, r"index: cannot index float64\[3, 4\]"),
    BadInput(lambda lib, x: x[np.array([0.5])], [(3, 4)], IndexError, "index: index arrays must be integers"),
    BadInput(lambda lib, x: x[np.array([True, False])], [(3, 4)], IndexError, "index: cannot index"),
    BadInput(lambda lib, x: x["a"], [(3, 4)], IndexError, "index: cannot index"),
    BadInput(lambda lib, x: x[np.array([0, 3])], [(3, 4)], IndexError,
             r"index: indices from 0 to 3 are out of range for dim 0 of float64\[3, 4\]"),
    BadInput(lambda lib, x: x[np.array([0])], [()], IndexError, "index: indices from 0 to 0"),
])
