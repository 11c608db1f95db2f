"""mm and transpose. Transposes are views, never copies: BLAS reads them with a flag."""
import numpy as np

from kernels import matmul as k

from ..gemm import ensure_chosen
from .base import Op, add_or_return, describe, float_dtype, matrix


class MM(Op):
    """a.mm(b): (n, k) @ (k, m) -> (n, m)."""

    creation_op = "mm"
    accumulates = True

    def forward(self, a, b):
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"mm: cannot multiply {describe(a)} by {describe(b)}; mm needs "
                             "2-D operands (n, k) and (k, m) with equal inner dims")
        dtype = float_dtype("mm", a, b)
        ensure_chosen()
        self.a, self.b = matrix(a, dtype), matrix(b, dtype)
        return k.mm(self.a, self.b)

    def backward(self, grad, needs_grad, into):
        grad = matrix(grad, grad.dtype)
        return [add_or_return(into[0], k.mm_grad_left, k.mm_grad_left_into, grad, self.b)
                if needs_grad[0] else None,
                add_or_return(into[1], k.mm_grad_right, k.mm_grad_right_into, self.a, grad)
                if needs_grad[1] else None]


class Transpose(Op):
    """a.transpose(): axes reversed, as NumPy's ``transpose()``; a view of the same data."""

    creation_op = "transpose"

    def forward(self, a):
        return a.transpose()

    def backward(self, grad, needs_grad):
        return [grad.transpose()]


class Linear(MM):
    """x (n, k), w (k, m)[, b (m,)] -> x @ w + b: the book's ``x.mm(w) + b.expand(0, n)`` as
    one op, with the bias added inside the kernel instead of through an expanded copy."""

    creation_op = "linear"

    def forward(self, x, w, b=None):
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0] or (
                b is not None and b.shape != (w.shape[1],)):
            bias = "" if b is None else f" + {describe(b)}"
            raise ValueError(f"linear: cannot compute {describe(x)} @ {describe(w)}{bias}; needs "
                             "x (n, k), weight (k, m) and bias (m,)")
        dtype = float_dtype("linear", x, w) if b is None else float_dtype("linear", x, w, b)
        ensure_chosen()
        self.a, self.b = matrix(x, dtype), matrix(w, dtype)
        if b is None:
            return k.mm(self.a, self.b)
        return k.linear(self.a, self.b, b.astype(dtype, copy=False))

    def backward(self, grad, needs_grad, into):
        grads = super().backward(grad, needs_grad[:2], into[:2])
        if len(needs_grad) == 3:
            grads.append(add_or_return(into[2], k.column_sums, k.column_sums_into,
                                       np.ascontiguousarray(grad)) if needs_grad[2] else None)
        return grads
