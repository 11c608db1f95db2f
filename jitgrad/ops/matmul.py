"""mm, matmul (``@``) and the fused linear. Transposed operands are views, never copies:
BLAS reads them with a flag."""
import numpy as np

from jitgrad.backend import amp
from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.backend.gemm import ensure_chosen
from jitgrad.ops.base import ACCUMULATED, Op, add_or_return, matrix, run_eagerly
from jitgrad.ops.registry import BadInput, Example, apply, lift, register
from kernels import matmul as k


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
        out, (self.a, self.b) = self.forward_program(run_eagerly, matrix(a, dtype), matrix(b, dtype))
        return out

    #: Under autocast (jitgrad.backend.amp): the operands' bfloat16 bits, else None.
    a16 = b16 = None
    #: Which inputs are parameters, whose rounding autocast keeps for the block (set by mm).
    cached_inputs = ()

    def _forward_bf16(self, a, b, bias=None):
        # the inputs' own arrays, kept by the graph anyway (profiler); b as given, rounded as
        # it is (a parameter's rounding is cached by its array), then read as the right operand
        self.a, self.b = a, self.right_operand(b)
        self.a16 = amp.rounded(a, 0 in self.cached_inputs)
        self.b16 = self.right_operand(amp.rounded(b, 1 in self.cached_inputs))
        # jitgrad.compile does not replay bf16 products yet: a step with them runs eagerly
        self.replayable = False
        return amp.product(self.a16, self.b16, bias)

    def backward(self, grad, needs_grad, into):
        if self.a16 is not None:
            return self._backward_bf16(grad, needs_grad, into)
        return self.backward_program(run_eagerly, (self.a, self.b), matrix(grad, grad.dtype),
                                     needs_grad, into)

    def _backward_bf16(self, grad, needs_grad, into):
        """The forward's bfloat16 operands times the gradient's rounding, in float32."""
        g16 = amp.rounded(matrix(grad, grad.dtype))
        grads = []
        weight_left, weight_right = self.weight_grad_operands(self.a16, g16)
        for index, (left, right) in enumerate(((g16, self.b16.T), (weight_left.T, weight_right))):
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
        # (never under autocast: a step with bf16 products is not replayed, so not fused)
        self.scaled_program(run_eagerly, (self.a, self.b), matrix(grad, grad.dtype), targets)

    # the programs (Op): eagerly, a and b may also be F-contiguous (BLAS reads either)

    def forward_program(self, run, a, b):
        return run(k.mm, a, b), (a, b)

    def backward_program(self, run, saved, grad, needs_grad, into):
        a, b = saved
        return [add_or_return(run, into[0], k.mm_grad_left, k.mm_grad_left_into, grad, b)
                if needs_grad[0] else None,
                add_or_return(run, into[1], k.mm_grad_right, k.mm_grad_right_into,
                              *self.weight_grad_operands(a, grad))
                if needs_grad[1] else None]

    def scaled_program(self, run, saved, grad, targets):
        for _, out, scale in targets:
            run(k.mm_grad_right_scaled_into, *self.weight_grad_operands(saved[0], grad), out,
                scale, results=0)

    def weight_grad_operands(self, a, grad):
        """(p, q) whose product p.T @ q is the right operand's gradient: (a, grad) for
        a.T @ grad (``LinearOutIn``'s (out, in) weight swaps them)."""
        return a, grad

    @staticmethod
    def right_operand(b):
        """The right operand of the product, as the op's input (``LinearOutIn``: its transpose)."""
        return b


class Linear(MM):
    """x (n, k), w (k, m)[, b (m,)] -> x @ w + b: the book's ``x.mm(w) + b.expand(0, n)`` as
    one op, with the bias added inside the kernel instead of through an expanded copy."""

    creation_op = "linear"

    def forward(self, x, w, b=None):
        self.check(x, w, b)
        dtype = float_dtype("linear", x, w) if b is None else float_dtype("linear", x, w, b)
        if amp.bf16_products(dtype):
            return self._forward_bf16(matrix(x, dtype), matrix(w, dtype), b)
        ensure_chosen()
        bias = () if b is None else (b.astype(dtype, copy=False),)
        out, (self.a, self.b) = self.forward_program(run_eagerly, matrix(x, dtype),
                                                     matrix(w, dtype), *bias)
        return out

    scaled_grad_inputs = (1, 2)

    def _backward_bf16(self, grad, needs_grad, into):
        grads = super()._backward_bf16(grad, needs_grad[:2], into[:2])
        return grads + self._bias_grad(run_eagerly, matrix(grad, grad.dtype), needs_grad, into)

    #: How the weight is read (``LinearOutIn``: transposed) and what the shapes must be, for
    #: the error message
    READ_AS, NEEDS = "", "x (n, k), weight (k, m) and bias (m,)"

    @classmethod
    def check(cls, x, w, b):
        """A ValueError unless x @ right_operand(w) + b is defined: (n, k) @ (k, m) + (m,)."""
        right = cls.right_operand(w)
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != right.shape[0] or (
                b is not None and b.shape != (right.shape[1],)):
            bias = "" if b is None else f" + {describe(b)}"
            raise ValueError(f"linear: cannot compute {describe(x)} @ {describe(w)}{cls.READ_AS}"
                             f"{bias}; needs {cls.NEEDS}")

    def forward_program(self, run, x, w, b=None):
        if b is None:
            return super().forward_program(run, x, w)
        return run(k.linear, x, w, b), (x, w)

    def backward_program(self, run, saved, grad, needs_grad, into):
        # the bias's sums read grad as the products do: its additions run in the same order
        # whatever its layout
        grads = super().backward_program(run, saved, grad, needs_grad[:2], into[:2])
        return grads + self._bias_grad(run, grad, needs_grad, into)

    @staticmethod
    def _bias_grad(run, grad, needs_grad, into):
        """[the bias's gradient: grad's column sums, in grad's dtype] when there is a bias."""
        if len(needs_grad) < 3:
            return []
        return [add_or_return(run, into[2], k.column_sums, k.column_sums_into, grad)
                if needs_grad[2] else None]

    def scaled_program(self, run, saved, grad, targets):
        for index, out, scale in targets:
            if index == 2:
                run(k.column_sums_scaled_into, grad, out, scale, results=0)
            else:
                super().scaled_program(run, saved, grad, [(index, out, scale)])


class LinearOutIn(Linear):
    """x (n, k), w (m, k)[, b (m,)] -> x @ w.T + b: PyTorch's ``F.linear``, whose weight is
    (out, in). The same kernels as ``Linear``: they read ``w.T`` as an F-contiguous view, and
    the weight's gradient grad.T @ x, (m, k), is ``mm_grad_right`` with its operands swapped."""

    READ_AS, NEEDS = ".T", "input (n, in), weight (out, in) and bias (out,)"

    def forward_program(self, run, x, w, b=None):
        return super().forward_program(run, x, self.right_operand(w), b)

    def weight_grad_operands(self, a, grad):
        return grad, a

    @staticmethod
    def right_operand(w):
        return w.T


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

    The weight is (in, out), as the book's ``Linear.weight`` stores it (``jitgrad.functional``'s
    ``linear``); PyTorch's ``F.linear`` (``linear_out_in``) takes (out, in).
    """
    op = _product_op(Linear, x, weight)
    return apply(op, x, weight) if bias is None else apply(op, x, weight, bias)


def linear_out_in(input, weight, bias=None):  # noqa: A002 -- torch's argument name
    """PyTorch's ``F.linear``: input (..., in), weight (out, in), bias (out,) ->
    input @ weight.T + bias, (..., out), as one op on the rows of ``input``."""
    if input.ndim != 2 and input.ndim >= 1:  # a batch of any shape: its rows, at once
        rows = input.reshape(-1, input.shape[-1])
        out = linear_out_in(rows, weight, bias)
        return out.reshape(*input.shape[:-1], out.shape[-1])
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return apply(_product_op(LinearOutIn, input, weight), *inputs)


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
register("linear", linear, examples=[  # the book's (in, out) weight: jitgrad.functional's
    Example(lambda lib, x, w, b: linear(x, w, b), [(5, 3), (3, 4), (4,)],
            torch=lambda lib, x, w, b: lib.F.linear(x, w.t(), b)),
    Example(lambda lib, x, w: linear(x, w), [(5, 3), (3, 4)],
            torch=lambda lib, x, w: lib.F.linear(x, w.t())),
], bad_inputs=[
    BadInput(lambda lib, x, w, b: linear(x, w, b), [(4, 5), (3, 2), (2,)], ValueError,
             r"linear: cannot compute float64\[4, 5\] @ float64\[3, 2\] \+ float64\[2\]"),
])
register("F.linear", linear_out_in, functional=["linear"], examples=[
    Example(lambda lib, x, w, b: lib.F.linear(x, w, b), [(5, 3), (4, 3), (4,)]),
    Example(lambda lib, x, w: lib.F.linear(x, w), [(5, 3), (4, 3)]),
    Example(lambda lib, x, w, b: lib.F.linear(x, w, b), [(2, 5, 3), (4, 3), (4,)]),
], bad_inputs=[
    BadInput(lambda lib, x, w, b: lib.F.linear(x, w, b), [(4, 5), (2, 3), (2,)], ValueError,
             r"linear: cannot compute float64\[4, 5\] @ float64\[2, 3\]\.T \+ float64\[2\]"),
])
