"""mm, matmul (``@``) and the fused linear. Transposed operands are views, never copies:
BLAS reads them with a flag."""
import numpy as np

from kernels import matmul as k

from .. import amp
from ..dtypes import describe, float_dtype
from ..gemm import ensure_chosen
from .base import ACCUMULATED, Op, add_or_return, matrix
from .registry import BadInput, Example, apply, lift, register


class MM(Op):
    """a.mm(b): (n, k) @ (k, m) -> (n, m)."""

    creation_op = "mm"
    accumulates = True

    def forward(self, a, b):
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"mm: cannot multiply {describe(a)} by {describe(b)}; mm needs "
                             "2-D operands (n, k) and (k, m) with equal inner dims")
        dtype = float_dtype("mm", a, b)
        if amp.bf16_products(dtype):
            return self._forward_bf16(matrix(a, dtype), matrix(b, dtype))
        ensure_chosen()
        self.a, self.b = matrix(a, dtype), matrix(b, dtype)
        return k.mm(self.a, self.b)

    #: Under autocast (jitgrad.amp): the operands' bfloat16 bits, else None.
    a16 = b16 = None
    #: Which inputs are parameters, whose rounding autocast keeps for the block (set by mm).
    cached_inputs = ()

    def _forward_bf16(self, a, b, bias=None):
        self.a, self.b = a, b  # the inputs' own arrays, kept by the graph anyway (profiler)
        self.a16, self.b16 = (amp.rounded(x, i in self.cached_inputs) for i, x in enumerate((a, b)))
        # jitgrad.compile does not replay bf16 products yet: a step with them runs eagerly
        self.replayable = False
        return amp.product(self.a16, self.b16, bias)

    def backward(self, grad, needs_grad, into):
        if self.a16 is not None:
            return self._backward_bf16(grad, needs_grad, into)
        grad = matrix(grad, grad.dtype)
        return [add_or_return(into[0], k.mm_grad_left, k.mm_grad_left_into, grad, self.b)
                if needs_grad[0] else None,
                add_or_return(into[1], k.mm_grad_right, k.mm_grad_right_into, self.a, grad)
                if needs_grad[1] else None]

    def _backward_bf16(self, grad, needs_grad, into):
        """The forward's bfloat16 operands times the gradient's rounding, in float32."""
        g16 = amp.rounded(matrix(grad, grad.dtype))
        grads = []
        for index, (left, right) in enumerate(((g16, self.b16.T), (self.a16.T, g16))):
            if not needs_grad[index]:
                grads.append(None)
            elif into[index] is None:
                grads.append(amp.product(left, right))
            else:
                amp.multiply_into(left, right, into[index])
                grads.append(ACCUMULATED)
        return grads

    scaled_grad_inputs = (1,)

    def add_scaled_grads(self, grad, targets):
        for index, out, scale in targets:
            self._add_scaled_grad(index, grad, out, scale)

    def _add_scaled_grad(self, index, grad, out, scale):
        if self.a16 is not None:
            amp.multiply_into(self.a16.T, amp.rounded(matrix(grad, grad.dtype)), out, scale)
        else:
            k.mm_grad_right_scaled_into(self.a, matrix(grad, grad.dtype), out, scale)

    # the source form (jitgrad/codegen.py), whose arrays are C-contiguous, of one dtype
    emits = True

    def emit_forward(self, src, name, ins):
        src.add(f"{name} = {src.kernel(k.mm)}({ins[0]}, {ins[1]})")

    def emit_backward(self, src, name, ins, grad, needs_grad, into=None):
        into = into or [None] * len(needs_grad)
        return [_emit_add_or_return(src, f"{name}_grad0", into[0], k.mm_grad_left,
                                    k.mm_grad_left_into, grad, ins[1]) if needs_grad[0] else None,
                _emit_add_or_return(src, f"{name}_grad1", into[1], k.mm_grad_right,
                                    k.mm_grad_right_into, ins[0], grad) if needs_grad[1] else None]

    def emit_scaled(self, src, name, ins, grad, targets):
        for _, out, scale in targets:
            src.add(f"{src.kernel(k.mm_grad_right_scaled_into)}({ins[0]}, {grad}, {out}, {scale})")


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
        if amp.bf16_products(dtype):
            return self._forward_bf16(matrix(x, dtype), matrix(w, dtype), b)
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

    scaled_grad_inputs = (1, 2)

    def _add_scaled_grad(self, index, grad, out, scale):
        if index == 2:
            k.column_sums_scaled_into(np.ascontiguousarray(grad), out, scale)
        else:
            super()._add_scaled_grad(index, grad, out, scale)

    def emit_forward(self, src, name, ins):
        if len(ins) == 2:  # no bias: mm's
            super().emit_forward(src, name, ins)
        else:
            src.add(f"{name} = {src.kernel(k.linear)}({', '.join(ins)})")

    def emit_backward(self, src, name, ins, grad, needs_grad, into=None):
        into = into or [None] * len(needs_grad)
        grads = super().emit_backward(src, name, ins[:2], grad, needs_grad[:2], into[:2])
        if len(needs_grad) == 3:
            grads.append(_emit_add_or_return(src, f"{name}_grad2", into[2], k.column_sums,
                                             k.column_sums_into, grad) if needs_grad[2] else None)
        return grads

    def emit_scaled(self, src, name, ins, grad, targets):
        for index, out, scale in targets:
            if index == 2:
                src.add(f"{src.kernel(k.column_sums_scaled_into)}({grad}, {out}, {scale})")
            else:
                super().emit_scaled(src, name, ins, grad, [(index, out, scale)])


def _emit_add_or_return(src, name, into, fresh_kernel, into_kernel, *args):
    """``add_or_return`` as source: a line adding into the buffer named ``into`` (returns
    None), or one making the array ``name`` (returns ``name``)."""
    if into is not None:
        src.add(f"{src.kernel(into_kernel)}({', '.join(args)}, {into})")
        return None
    src.add(f"{name} = {src.kernel(fresh_kernel)}({', '.join(args)})")
    return name


def mm(a, b):
    """The book's matrix product: (n, k).mm((k, m)) -> (n, m)."""
    b = lift(a, b)
    return apply(_product_op(MM, a, b), a, b)


def _product_op(op_class, *operands):
    """An ``op_class`` op that knows which operands are parameters (autocast caches their
    bfloat16 roundings for its block)."""
    op = op_class()
    if amp.is_autocast_enabled():
        op.cached_inputs = tuple(i for i, t in enumerate(operands[:2]) if t.autograd and t.creators is None)
    return op


def matmul(a, b):
    """a @ b: (n, k) @ (k, m), (n, k) @ (k,), (k,) @ (k, m), (k,) @ (k,), and a batch
    (..., n, k) @ (k, m), which is one product of all the batch's rows."""
    b = lift(a, b)
    if a.ndim == 0 or b.ndim == 0 or b.ndim > 2:
        raise ValueError(f"matmul: cannot multiply {describe(a.data)} by {describe(b.data)}; "
                         "matmul takes a 1-D or 2-D right operand and a left one of 1 or more dims")
    if a.ndim > 2:  # a batch: its rows stacked, multiplied at once, unstacked
        return matmul(a.reshape(-1, a.shape[-1]), b).reshape(*a.shape[:-1], *b.shape[1:])
    left, right = (a.unsqueeze(0) if a.ndim == 1 else a), (b.unsqueeze(1) if b.ndim == 1 else b)
    out = mm(left, right)
    if b.ndim == 1:
        out = out.squeeze(1)
    return out.squeeze(0) if a.ndim == 1 else out


def rmatmul(a, b):
    """b @ a, with an array on the left."""
    return matmul(lift(a, b), a)


def linear(x, weight, bias=None):
    """x @ weight + bias as one op: x (n, k), weight (k, m), bias (m,) -> (n, m).

    The weight is (in, out), as the book's ``Linear.weight`` stores it; PyTorch's
    ``F.linear`` takes (out, in), so pass ``weight.T`` for a PyTorch-layout matrix.
    """
    op = _product_op(Linear, x, weight)
    return apply(op, x, weight) if bias is None else apply(op, x, weight, bias)


register("mm", mm, methods=["mm"], examples=[
    Example(lambda lib, x, y: x.mm(y), [(3, 4), (4, 2)]),
    Example(lambda lib, x, y: x.transpose().mm(y.transpose()), [(4, 3), (2, 4)],
            torch=lambda lib, x, y: x.t().mm(y.t())),
], bad_inputs=[
    BadInput(lambda lib, x, y: x.mm(y), [s, t], ValueError, r"mm: cannot multiply float64\[")
    for s, t in [((2, 3), (4, 5)), ((3,), (3, 2)), ((2, 3, 4), (4, 2)), ((), ())]
] + [BadInput(lambda lib, x, y: x.mm(y), [(2, 3), np.ones((3, 2), np.float32)], TypeError,
              "mm: expected float operands of one dtype")])
register("matmul", matmul, methods=["matmul", "__matmul__"], examples=[
    Example(lambda lib, x, y: x @ y, [a, b])
    for a, b in [((3, 4), (4, 2)), ((3, 4), (4,)), ((4,), (4, 2)), ((4,), (4,)), ((2, 3, 4), (4, 5))]
], bad_inputs=[
    BadInput(lambda lib, x, y: x @ y, [(2, 3), (2, 3, 4)], ValueError, "matmul: cannot multiply"),
    BadInput(lambda lib, x, y: x @ y, [(2, 3), (4, 2)], ValueError, "mm: cannot multiply"),
])
register("rmatmul", rmatmul, methods=["__rmatmul__"], examples=[
    Example(lambda lib, x: np.linspace(-1, 1, 6, dtype=x.dtype).reshape(2, 3) @ x, [(3, 4)],
            torch=lambda lib, x: lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3)) @ x)])
register("linear", linear, functional=["linear"], examples=[
    Example(lambda lib, x, w, b: lib.F.linear(x, w, b), [(5, 3), (3, 4), (4,)],
            torch=lambda lib, x, w, b: lib.F.linear(x, w.t(), b)),
    Example(lambda lib, x, w: lib.F.linear(x, w), [(5, 3), (3, 4)],
            torch=lambda lib, x, w: lib.F.linear(x, w.t())),
], bad_inputs=[
    BadInput(lambda lib, x, w, b: lib.F.linear(x, w, b), [(4, 5), (3, 2), (2,)], ValueError,
             r"linear: cannot compute float64\[4, 5\] @ float64\[3, 2\] \+ float64\[2\]"),
])
