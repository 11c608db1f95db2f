"""add, sub, mul, div, neg, ``**`` a tensor and where, with NumPy broadcasting.

Operands of one shape take the flat kernels of ``kernels/elementwise.py``; others broadcast
through ``kernels/strided.py``, and each operand's gradient is summed back to its shape.
"""
import operator

import numpy as np

from jitgrad.backend.dtypes import float_dtype
from jitgrad.ops.base import Op, flat
from jitgrad.ops.broadcast import broadcast_shape, combine, sum_to
from jitgrad.ops.registry import (BadInput, Example, apply, array_of, constant, is_tensor, lift,
                                  positive, register, stays_integral)
from kernels import elementwise as k
from kernels import strided

FLAT_KERNELS = {strided.ADD: k.add, strided.SUB: k.sub, strided.MUL: k.mul, strided.DIV: k.div}


class Binary(Op):
    """An elementwise op of two operands; subclasses give the kernel code and the gradients."""

    code = None

    def forward(self, a, b):
        dtype = float_dtype(self.creation_op, a, b)
        self.a_shape, self.b_shape = a.shape, b.shape
        self.a, self.b = flat(a, dtype), flat(b, dtype)
        if a.shape == b.shape:
            self.shape, self.out = a.shape, FLAT_KERNELS[self.code](self.a, self.b)
        else:
            self.shape = broadcast_shape(self.creation_op, a, b)
            self.out = combine(self.code, self.a, a.shape, self.b, b.shape, self.shape)
        return self.out.reshape(self.shape)

    def with_operand(self, code, full, operand, operand_shape):
        """full <code> operand for ``full`` flat of the output's shape: flat, output-sized."""
        if operand_shape == self.shape:
            return FLAT_KERNELS[code](full, operand)
        return combine(code, full, self.shape, operand, operand_shape, self.shape)

    def backward(self, grad, needs_grad):
        grads = self.flat_grads(flat(grad, self.out.dtype), needs_grad)
        return [None if g is None else sum_to(g.reshape(self.shape), shape)
                for g, shape in zip(grads, (self.a_shape, self.b_shape))]

    def flat_grads(self, grad, needs_grad):
        """(grad for a, grad for b), flat and of the output's shape, or None if not needed."""
        raise NotImplementedError


class Add(Binary):
    creation_op = "add"
    code = strided.ADD

    def flat_grads(self, grad, needs_grad):
        return grad, grad


class Sub(Binary):
    creation_op = "sub"
    code = strided.SUB

    def flat_grads(self, grad, needs_grad):
        return grad, k.neg(grad) if needs_grad[1] else None


class Mul(Binary):
    creation_op = "mul"
    code = strided.MUL

    def flat_grads(self, grad, needs_grad):
        return (self.with_operand(strided.MUL, grad, self.b, self.b_shape) if needs_grad[0] else None,
                self.with_operand(strided.MUL, grad, self.a, self.a_shape) if needs_grad[1] else None)


class Div(Binary):
    creation_op = "div"
    code = strided.DIV

    def flat_grads(self, grad, needs_grad):
        grad_a = self.with_operand(strided.DIV, grad, self.b, self.b_shape) if needs_grad[0] else None
        if not needs_grad[1]:
            return grad_a, None
        if self.b_shape == self.shape:
            return grad_a, k.div_backward_divisor(grad, self.out, self.b)
        return grad_a, k.neg(self.with_operand(strided.DIV, k.mul(grad, self.out), self.b,
                                               self.b_shape))


class Neg(Op):
    creation_op = "neg"

    def forward(self, a):
        dtype = float_dtype(self.creation_op, a)
        return k.neg(flat(a, dtype)).reshape(a.shape)

    def backward(self, grad, needs_grad):
        return [k.neg(flat(grad, grad.dtype)).reshape(grad.shape)]


class Power(Op):
    """a ** b for a tensor exponent b, differentiable in both. NumPy's loops: a tensor
    exponent is rare, not a hot path (``x ** 2`` is ``jitgrad.ops.unary.Pow``'s kernel)."""

    creation_op = "pow"

    def forward(self, a, b):
        dtype = float_dtype(self.creation_op, a, b)
        broadcast_shape(self.creation_op, a, b)
        self.a, self.b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
        self.out = np.power(self.a, self.b)
        return self.out

    def backward(self, grad, needs_grad):
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 is inf, as in torch
            if needs_grad[0]:  # b a^(b - 1)
                grad_a = sum_to(np.ascontiguousarray(grad * self.b * np.power(self.a, self.b - 1)),
                                self.a.shape)
            if needs_grad[1]:  # a^b log a, taken as 0 where a^b is 0 (a = 0), as torch does
                d_b = np.where(self.out == 0, 0.0, grad * self.out * np.log(self.a))
                grad_b = sum_to(np.ascontiguousarray(d_b, dtype=self.out.dtype), self.b.shape)
        return [grad_a, grad_b]


class Where(Op):
    """where(condition, a, b): a where the condition holds, else b; the gradient goes to the
    side that was taken (NumPy's loops: not a hot path)."""

    creation_op = "where"
    operands = ("condition",)

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        dtype = float_dtype(self.creation_op, a, b)
        self.condition = np.asarray(self.condition, dtype=bool)
        broadcast_shape(self.creation_op, self.condition, a, b)
        self.a_shape, self.b_shape = a.shape, b.shape
        return np.where(self.condition, a, b).astype(dtype, copy=False)

    def backward(self, grad, needs_grad):
        zero = np.zeros((), grad.dtype)
        return [sum_to(np.ascontiguousarray(np.where(self.condition, grad, zero)), self.a_shape)
                if needs_grad[0] else None,
                sum_to(np.ascontiguousarray(np.where(self.condition, zero, grad)), self.b_shape)
                if needs_grad[1] else None]


def power(a, b):
    """a ** b for a tensor ``b`` (and ``a`` a tensor or a number)."""
    return apply(Power(), lift(b, a), lift(a, b))


def rpow(a, b):
    """b ** a: a number or array raised to the tensor ``a``."""
    return apply(Power(), lift(a, b), a)


def where(condition, a, b):
    """``a`` where ``condition`` (a bool tensor or array) holds, else ``b``; either may be a
    number. With the condition alone, as ``torch.where``: the indices where it holds."""
    if is_tensor(a):
        return apply(Where(array_of(condition)), a, lift(a, b))
    if is_tensor(b):
        return apply(Where(array_of(condition)), lift(b, a), b)
    return apply(Where(array_of(condition)), constant(np.asarray(a, dtype=np.float64)),
                 constant(np.asarray(b, dtype=np.float64)))


def _binary(op_class, name, doc):
    """The public function of ``op_class`` and its reflected twin (``2 - x``)."""
    def function(a, b):
        return apply(op_class(), a, lift(a, b))

    def reflected(a, b):
        return apply(op_class(), lift(a, b), a)
    function.__name__, function.__doc__ = name, doc
    reflected.__name__, reflected.__doc__ = f"r{name}", f"{doc} (the number or array on the left)"
    return function, reflected


add, radd = _binary(Add, "add", "a + b, elementwise with NumPy broadcasting.")
sub, rsub = _binary(Sub, "sub", "a - b, elementwise with NumPy broadcasting.")
mul, rmul = _binary(Mul, "mul", "a * b, elementwise with NumPy broadcasting.")
div, rdiv = _binary(Div, "div", "a / b, elementwise with NumPy broadcasting.")


def neg(x):
    """-x (an integer tensor without autograd stays one, as in PyTorch)."""
    if stays_integral(x) and x.data.dtype.kind != "b":
        return constant(np.negative(x.data))
    return apply(Neg(), x)


#: Shape pairs the binary ops are checked on: equal, a 0-d side, and broadcasting both ways.
_PAIRS = [((3, 4), (3, 4)), ((2, 3), ()), ((), (2, 3)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)),
          ((2, 1, 4), (3, 1))]


def _register_binary(name, function, reflected, apply_operator, method):
    """``a <op> b`` for every shape pair and with a Python number on either side, as the
    operator (``method``, e.g. ``__add__``, and its reflected ``__radd__``) and by name.
    Divisors are kept away from 0."""
    def second(shape):
        return positive(*shape) if name == "div" else shape
    register(name, function, methods=[method, name], examples=[
        *(Example(lambda lib, x, y: apply_operator(x, y), [a, second(b)]) for a, b in _PAIRS),
        Example(lambda lib, x: apply_operator(x, 2.5), [(2, 3)]),
    ], bad_inputs=[
        BadInput(lambda lib, x, y: apply_operator(x, y), [(2, 3), (3, 2)], ValueError,
                 rf"{name}: shapes float64\[2, 3\] and float64\[3, 2\] do not broadcast"),
        BadInput(lambda lib, x, y: apply_operator(x, y), [(2,), np.ones(2, dtype=np.float32)],
                 TypeError, rf"{name}: expected float operands of one dtype"),
    ])
    register(f"r{name}", reflected, methods=[method.replace("__", "__r", 1)], examples=[
        Example(lambda lib, x: apply_operator(2.5, x * x + 1.0), [(2, 3)]),
    ])


_register_binary("add", add, radd, operator.add, "__add__")
_register_binary("sub", sub, rsub, operator.sub, "__sub__")
_register_binary("mul", mul, rmul, operator.mul, "__mul__")
_register_binary("div", div, rdiv, operator.truediv, "__truediv__")
register("neg", neg, methods=["__neg__", "neg"], examples=[Example(lambda lib, x: -x, [(2, 3)])])
register("power", power, examples=[
    Example(lambda lib, x, y: x ** y, [positive(2, 3), (2, 3)]),
    Example(lambda lib, x, y: x ** y, [positive(2, 3), (3,)]),
    Example(lambda lib, x, y: x.pow(y), [positive(3, 1), (1, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x, y: x ** y, [(2, 3), (3, 2)], ValueError, r"pow: shapes"),
])
register("rpow", rpow, methods=["__rpow__"], examples=[
    Example(lambda lib, x: 2.0 ** x, [(2, 3)]),
])
register("where", where, examples=[
    Example(lambda lib, x, y: lib.where(x > 0, x, y), [(2, 3), (2, 3)]),
    Example(lambda lib, x, y: lib.where(x > 0, x, y), [(2, 3), (3,)]),
    Example(lambda lib, x: lib.where(x > 0, x, 0.0), [(2, 3)]),
], bad_inputs=[
    BadInput(lambda lib, x, y: lib.where(x > 0, x, y), [(2, 3), (3, 2)], ValueError,
             r"where: shapes"),
])
