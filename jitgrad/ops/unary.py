"""Elementwise math of one tensor: exp, log, log10, sqrt, sin, cos, abs, clamp and ``**``.

Each op keeps what its backward kernel reads (``kernels/unary.py``): the input, or exp's and
sqrt's output.
"""
import math
import numbers

import numpy as np

from jitgrad.backend.dtypes import float_dtype
from jitgrad.ops.base import Op, contiguous, run_eagerly
from jitgrad.ops.elementwise import power
from jitgrad.ops.registry import (BadInput, Example, apply, constant, is_tensor, positive,
                                  register, stays_integral)
from kernels import unary as k


class Unary(Op):
    """y = kernel(x, *params) elementwise; its gradient is backward_kernel(grad, x, *params),
    or backward_kernel(grad, y, *params) for an op that ``keeps_output``."""

    kernel = backward_kernel = None
    keeps_output = False

    def params(self):
        """The numbers both kernels take after the array (clamp's bounds, the exponent)."""
        return ()

    def forward(self, a):
        out, self.saved = self.forward_program(
            run_eagerly, contiguous(a, float_dtype(self.creation_op, a)))
        return out

    def forward_program(self, run, a):
        x = a.reshape(-1)
        y = run(type(self).kernel, x, *self.params())
        return y.reshape(a.shape), (y if self.keeps_output else x)

    def backward(self, grad, needs_grad):
        return self.backward_program(run_eagerly, self.saved, contiguous(grad, self.saved.dtype),
                                     needs_grad)

    def backward_program(self, run, saved, grad, needs_grad):
        grad_in = run(type(self).backward_kernel, grad.reshape(-1), saved, *self.params())
        return [grad_in.reshape(grad.shape)]


class Exp(Unary):
    creation_op = "exp"
    kernel, backward_kernel = k.exp, k.exp_backward
    keeps_output = True


class Log(Unary):
    creation_op = "log"
    kernel, backward_kernel = k.log, k.log_backward


class Sqrt(Unary):
    creation_op = "sqrt"
    kernel, backward_kernel = k.sqrt, k.sqrt_backward
    keeps_output = True


class Sin(Unary):
    creation_op = "sin"
    kernel, backward_kernel = k.sin, k.sin_backward


class Cos(Unary):
    creation_op = "cos"
    kernel, backward_kernel = k.cos, k.cos_backward


class Abs(Unary):
    creation_op = "abs"
    kernel, backward_kernel = k.abs_, k.abs_backward


class Clamp(Unary):
    creation_op = "clamp"
    kernel, backward_kernel = k.clamp, k.clamp_backward

    def __init__(self, low, high):
        for name, bound in (("min", low), ("max", high)):
            if bound is not None and (not isinstance(bound, numbers.Real)
                                      or isinstance(bound, bool)):
                raise TypeError(f"clamp: {name} must be a number or None, got {bound!r}")
        if low is None and high is None:
            raise ValueError("clamp: give min, max or both")
        self.low = -math.inf if low is None else float(low)
        self.high = math.inf if high is None else float(high)

    def params(self):
        return self.low, self.high


class Pow(Unary):
    creation_op = "pow"
    kernel, backward_kernel = k.power, k.power_backward

    def __init__(self, exponent):
        if not isinstance(exponent, numbers.Real) or isinstance(exponent, bool):
            raise TypeError(f"pow: the exponent must be a number, got {type(exponent).__name__} "
                            f"{exponent!r}; tensor exponents are not supported")
        self.exponent = float(exponent)

    def params(self):
        return (self.exponent,)


def exp(x):
    """e ** x, elementwise."""
    return apply(Exp(), x)


def log(x):
    """Natural logarithm, elementwise."""
    return apply(Log(), x)


def log10(x):
    """Base-10 logarithm, elementwise."""
    return log(x) * (1.0 / math.log(10.0))


def sin(x):
    """Sine, elementwise."""
    return apply(Sin(), x)


def cos(x):
    """Cosine, elementwise."""
    return apply(Cos(), x)


def sqrt(x):
    """Square root, elementwise."""
    return apply(Sqrt(), x)


def abs(x):  # noqa: A001 -- the Tensor method's name
    """|x| elementwise; the gradient at 0 is 0, as in torch. An integer tensor without
    autograd stays one, as in PyTorch."""
    if stays_integral(x) and x.data.dtype.kind != "b":
        return constant(np.abs(x.data))
    return apply(Abs(), x)


def clamp(x, min=None, max=None):  # noqa: A002 -- torch's keyword names
    """x limited to [min, max] (either bound may be None); the gradient passes where
    min <= x <= max."""
    return apply(Clamp(min, max), x)


def pow(x, exponent):  # noqa: A001 -- the Tensor method's name
    """x ** exponent, for a number exponent or a tensor one (differentiable in both)."""
    if is_tensor(exponent):
        return power(x, exponent)
    return apply(Pow(exponent), x)


register("exp", exp, methods=["exp"], examples=[Example(lambda lib, x: x.exp(), [(2, 3)])])
register("log", log, methods=["log"], examples=[Example(lambda lib, x: x.log(), [positive(2, 3)])])
register("log10", log10, methods=["log10"], examples=[
    Example(lambda lib, x: x.log10(), [positive(2, 3)])])
register("sin", sin, methods=["sin"], examples=[Example(lambda lib, x: x.sin(), [(2, 3)])])
register("cos", cos, methods=["cos"], examples=[Example(lambda lib, x: x.cos(), [(2, 3)])])
register("sqrt", sqrt, methods=["sqrt"], examples=[
    Example(lambda lib, x: x.sqrt(), [positive(2, 3)])])
register("abs", abs, methods=["abs", "__abs__"], examples=[
    Example(lambda lib, x: x.abs(), [(2, 3)])])
register("clamp", clamp, methods=["clamp"], examples=[
    Example(lambda lib, x: x.clamp(-0.5, 0.5), [(3, 4)]),
    Example(lambda lib, x: x.clamp(min=0.1), [(3, 4)]),
    Example(lambda lib, x: x.clamp(max=0.2), [(3, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x: x.clamp(), [(2,)], ValueError, "clamp: give min, max or both"),
    BadInput(lambda lib, x: x.clamp("a"), [(2,)], TypeError, "clamp: min must be a number"),
])
register("pow", pow, methods=["__pow__", "pow"], examples=[
    Example(lambda lib, x: x ** 2, [(2, 3)]),
    Example(lambda lib, x: x ** 3, [(2, 3)]),
    Example(lambda lib, x: x ** -0.5, [positive(2, 3)]),
    Example(lambda lib, x: x.pow(1.5), [positive(2, 3)]),
], bad_inputs=[
    BadInput(lambda lib, x: x ** "2", [(2,)], TypeError, "pow: the exponent must be a number"),
])
