"""jitgrad.cat and jitgrad.stack: tensors joined along an existing dim, or a new one; and
back: ``split`` and ``chunk``, slices along a dim.

The forward copies the inputs side by side; the backward hands each input its slice of the
gradient, a view.
"""
import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.ops.base import Op, check_dim
from jitgrad.ops.indexing import getitem
from jitgrad.ops.registry import BadInput, Example, apply, register


class Cat(Op):
    """cat(tensors, dim): inputs of one shape except along ``dim``, joined along it.
    With ``new_dim`` (stack), inputs of one shape gain a dim at ``dim`` first."""

    def __init__(self, dim, new_dim=False):
        self.dim, self.new_dim = dim, new_dim
        self.creation_op = "stack" if new_dim else "cat"

    def forward(self, *arrays):
        op = self.creation_op
        if not arrays:
            raise ValueError(f"{op}: needs at least one tensor")
        dtype = float_dtype(op, *arrays)
        first = arrays[0]
        self.dim = check_dim(op, first, self.dim, extra=1 if self.new_dim else 0)
        if self.new_dim:
            if any(a.shape != first.shape for a in arrays):
                raise ValueError(f"{op}: tensors must have one shape, got "
                                 f"{', '.join(describe(a) for a in arrays)}")
            arrays = [np.expand_dims(a, self.dim) for a in arrays]
        elif any(a.ndim != first.ndim or a.shape[:self.dim] + a.shape[self.dim + 1:]
                 != first.shape[:self.dim] + first.shape[self.dim + 1:] for a in arrays):
            raise ValueError(f"{op}: tensors must match in every dim but {self.dim}, got "
                             f"{', '.join(describe(a) for a in arrays)}")
        self.bounds = np.cumsum([0] + [a.shape[self.dim] for a in arrays])
        return np.concatenate([a.astype(dtype, copy=False) for a in arrays], axis=self.dim)

    def backward(self, grad, needs_grad):
        grads = []
        for start, stop in zip(self.bounds[:-1], self.bounds[1:]):
            part = grad[(slice(None),) * self.dim + (slice(start, stop),)]
            grads.append(part.squeeze(self.dim) if self.new_dim else part)
        return grads


def cat(tensors, dim=0):
    """Tensors joined along ``dim``; they match in every other dim."""
    return apply(Cat(dim), *tensors)


def stack(tensors, dim=0):
    """Tensors of one shape joined along a new dim at ``dim``."""
    return apply(Cat(dim, new_dim=True), *tensors)


def split(x, split_size_or_sections, dim=0):
    """``x`` in pieces along ``dim``: of ``split_size_or_sections`` each (an int; the last may
    be shorter), or of the sizes listed; a tuple of differentiable slices, as torch's."""
    d = check_dim("split", x.data, dim)
    length = x.data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: the split size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, length - start)
                 for start in range(0, length, split_size_or_sections)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ValueError(f"split: sizes {sizes} do not add up to {length}, the size of dim "
                             f"{d} of {describe(x.data)}")
    bounds = np.cumsum([0] + sizes)
    return tuple(getitem(x, (slice(None),) * d + (slice(int(a), int(b)),))
                 for a, b in zip(bounds[:-1], bounds[1:]))


def chunk(x, chunks, dim=0):
    """``x`` in ``chunks`` pieces along ``dim`` (the last may be smaller; fewer when the dim is
    short), as torch's."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    length = x.data.shape[check_dim("chunk", x.data, dim)]
    return split(x, max(-(-length // chunks), 1), dim)


register("cat", cat, examples=[
    Example(lambda lib, x, y: lib.cat([x, y], 0), [(2, 3), (1, 3)]),
    Example(lambda lib, x, y, z: lib.cat([x, y, z], -1), [(2, 3), (2, 1), (2, 2)]),
    Example(lambda lib, x, y: lib.cat([x, y, x], 1), [(2, 2, 3), (2, 1, 3)]),
], bad_inputs=[
    BadInput(lambda lib, x, y: lib.cat([x, y], 0), [(2, 3), (2, 4)], ValueError,
             r"cat: tensors must match in every dim but 0, got float64\[2, 3\], float64\[2, 4\]"),
    BadInput(lambda lib, x, y: lib.cat([x, y], 2), [(2, 3), (2, 3)], IndexError, "cat: dim 2"),
    BadInput(lambda lib, x, y: lib.cat([x, y], 0), [(2,), np.ones(2, np.float32)], TypeError,
             "cat: expected float operands of one dtype"),
])
register("stack", stack, examples=[
    Example(lambda lib, x, y: lib.stack([x, y], 0), [(2, 3), (2, 3)]),
    Example(lambda lib, x, y: lib.stack([x, y, y], -1), [(2, 3), (2, 3)]),
], bad_inputs=[
    BadInput(lambda lib, x, y: lib.stack([x, y]), [(2, 3), (3, 2)], ValueError,
             "stack: tensors must have one shape"),
])
register("split", split, methods=["split"], examples=[
    Example(lambda lib, x: x.split(2, 1)[1] * x.split(2, 1)[0][:, :1], [(3, 5)]),
    Example(lambda lib, x: x.split([1, 2], 0)[1], [(3, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x: x.split([1, 1], 0), [(3, 2)], ValueError, r"split: sizes \[1, 1\]"),
    BadInput(lambda lib, x: x.split(1, 2), [(3, 2)], IndexError, "split: dim 2"),
])
register("chunk", chunk, methods=["chunk"], examples=[
    Example(lambda lib, x: x.chunk(3, -1)[2], [(2, 7)]),
    Example(lambda lib, x: x.chunk(2)[0] - x.chunk(2)[1], [(4, 3)]),
], bad_inputs=[
    BadInput(lambda lib, x: x.chunk(0), [(3, 2)], ValueError, "chunk: chunks must be"),
])
