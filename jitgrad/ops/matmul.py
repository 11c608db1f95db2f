"""mm and transpose. Transposes are views, never copies: BLAS reads them with a flag."""
from kernels import matmul as k

from .base import Op, describe, float_dtype, matrix


class MM(Op):
    """a.mm(b): (n, k) @ (k, m) -> (n, m)."""

    creation_op = "mm"

    def forward(self, a, b):
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"mm: cannot multiply {describe(a)} by {describe(b)}; mm needs "
                             "2-D operands (n, k) and (k, m) with equal inner dims")
        dtype = float_dtype("mm", a, b)
        self.a, self.b = matrix(a, dtype), matrix(b, dtype)
        return k.mm(self.a, self.b)

    def backward(self, grad, needs_grad):
        grad = matrix(grad, grad.dtype)
        return (k.mm_grad_left(grad, self.b) if needs_grad[0] else None,
                k.mm_grad_right(self.a, grad) if needs_grad[1] else None)


class Transpose(Op):
    """a.transpose(): axes reversed, as NumPy's ``transpose()``; a view of the same data."""

    creation_op = "transpose"

    def forward(self, a):
        return a.transpose()

    def backward(self, grad, needs_grad):
        return [grad.transpose()]
