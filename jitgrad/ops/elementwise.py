"""add, sub, mul, div and neg. Operands have equal shapes, or one is a scalar (0-d)."""
import numpy as np

from kernels import elementwise as k

from ..dtypes import describe, float_dtype
from .base import Op, flat


def broadcast_shape(op, a, b):
    """The shape of ``a <op> b``: the operands' common shape, where one may be 0-d."""
    if a.shape == b.shape or b.ndim == 0:
        return a.shape
    if a.ndim == 0:
        return b.shape
    raise ValueError(f"{op}: shapes {describe(a)} and {describe(b)} differ; elementwise ops "
                     "need equal shapes (use expand(dim, copies) to repeat along a dim)")


def spread(operand, shape, dtype):
    """An operand as a flat array of the op's full shape (a scalar is repeated)."""
    if operand.shape != shape:
        operand = np.full(shape, operand, dtype=dtype)
    return flat(operand, dtype)


def reduce_to(grad, shape):
    """Fold a flat gradient back onto an operand's shape (summed where it was a scalar)."""
    if shape == ():
        return np.array(grad.sum())  # an ndarray: a NumPy scalar has no buffer to add into
    return grad.reshape(shape)


class Binary(Op):
    """An elementwise op of two operands; subclasses give the kernel and the two gradients."""

    kernel = None

    def forward(self, a, b):
        shape = broadcast_shape(self.creation_op, a, b)
        dtype = float_dtype(self.creation_op, a, b)
        self.shape, self.input_shapes = shape, (a.shape, b.shape)
        self.a, self.b = spread(a, shape, dtype), spread(b, shape, dtype)
        self.out = type(self).kernel(self.a, self.b)
        return self.out.reshape(shape)

    def backward(self, grad, needs_grad):
        grads = self.flat_grads(flat(grad, self.out.dtype), needs_grad)
        return [None if g is None else reduce_to(g, shape)
                for g, shape in zip(grads, self.input_shapes)]

    def flat_grads(self, grad, needs_grad):
        """(grad for a, grad for b), both flat; either may be None where not needed."""
        raise NotImplementedError


class Add(Binary):
    creation_op = "add"
    kernel = k.add

    def flat_grads(self, grad, needs_grad):
        return grad, grad


class Sub(Binary):
    creation_op = "sub"
    kernel = k.sub

    def flat_grads(self, grad, needs_grad):
        return grad, k.neg(grad) if needs_grad[1] else None


class Mul(Binary):
    creation_op = "mul"
    kernel = k.mul

    def flat_grads(self, grad, needs_grad):
        return (k.mul(grad, self.b) if needs_grad[0] else None,
                k.mul(grad, self.a) if needs_grad[1] else None)


class Div(Binary):
    creation_op = "div"
    kernel = k.div

    def flat_grads(self, grad, needs_grad):
        return (k.div(grad, self.b) if needs_grad[0] else None,
                k.div_backward_divisor(grad, self.out, self.b) if needs_grad[1] else None)


class Neg(Op):
    creation_op = "neg"

    def forward(self, a):
        dtype = float_dtype(self.creation_op, a)
        return k.neg(flat(a, dtype)).reshape(a.shape)

    def backward(self, grad, needs_grad):
        return [k.neg(flat(grad, grad.dtype)).reshape(grad.shape)]
