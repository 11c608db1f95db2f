"""sigmoid, tanh, relu, leaky_relu and gelu (``kernels/activations.py``).

The book's three keep their output, from which their backward is computed; leaky_relu and
gelu keep their input.
"""
import math
import numbers

import numpy as np

from jitgrad.backend.dtypes import float_dtype
from jitgrad.ops.base import Op, flat
from jitgrad.ops.registry import BadInput, Example, apply, register
from kernels import activations as k


class Activation(Op):
    """An elementwise nonlinearity whose derivative is a function of its output."""

    kernel = backward_kernel = None

    def forward(self, a):
        self.y = type(self).kernel(flat(a, float_dtype(self.creation_op, a)))
        return self.y.reshape(a.shape)

    def backward(self, grad, needs_grad):
        grad_in = type(self).backward_kernel(flat(grad, self.y.dtype), self.y)
        return [grad_in.reshape(grad.shape)]

    emits = True

    def emit_forward(self, src, name, ins):
        (a,) = ins
        src.add(f"{name}_y = {src.kernel(type(self).kernel)}({a}.reshape({a}.size))")
        src.add(f"{name} = {name}_y.reshape({a}.shape)")

    def emit_backward(self, src, name, ins, grad, needs_grad, into=None):
        src.add(f"{name}_grad0 = {src.kernel(type(self).backward_kernel)}("
                f"{grad}.reshape({grad}.size), {name}_y).reshape({grad}.shape)")
        return [f"{name}_grad0"]


class Sigmoid(Activation):
    creation_op = "sigmoid"
    kernel, backward_kernel = k.sigmoid, k.sigmoid_backward


class Tanh(Activation):
    creation_op = "tanh"
    kernel, backward_kernel = k.tanh, k.tanh_backward


class ReLU(Activation):
    creation_op = "relu"
    kernel, backward_kernel = k.relu, k.relu_backward


class LeakyReLU(Op):
    """x where x >= 0, else negative_slope * x."""

    creation_op = "leaky_relu"

    def __init__(self, negative_slope):
        if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool):
            raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
        self.slope = float(negative_slope)

    def forward(self, a):
        self.x = flat(a, float_dtype(self.creation_op, a))
        return k.leaky_relu(self.x, self.slope).reshape(a.shape)

    def backward(self, grad, needs_grad):
        return [k.leaky_relu_backward(flat(grad, self.x.dtype), self.x, self.slope)
                .reshape(grad.shape)]


class GELU(Op):
    """x * Phi(x) with Phi the standard normal CDF (the exact erf form, torch's default)."""

    creation_op = "gelu"

    def forward(self, a):
        self.x = flat(a, float_dtype(self.creation_op, a))
        self.cdf = np.empty_like(self.x)  # Phi(x), kept so the backward need not recompute it
        return k.gelu(self.x, self.cdf).reshape(a.shape)

    def backward(self, grad, needs_grad):
        return [k.gelu_backward(flat(grad, self.x.dtype), self.x, self.cdf).reshape(grad.shape)]


def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise."""
    return apply(Sigmoid(), x)


def tanh(x):
    """tanh(x), elementwise."""
    return apply(Tanh(), x)


def relu(x):
    """max(x, 0), elementwise."""
    return apply(ReLU(), x)


def leaky_relu(x, negative_slope=0.01):
    """x where x >= 0, else negative_slope * x (torch's default slope 0.01)."""
    return apply(LeakyReLU(negative_slope), x)


def gelu(x, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF (exact, with erf, one op), or with
    ``approximate='tanh'`` PyTorch's tanh form, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
        return x * 0.5 * (inner.tanh() + 1)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(GELU(), x)


register("sigmoid", sigmoid, methods=["sigmoid"], functional=["sigmoid"], examples=[
    Example(lambda lib, x: lib.F.sigmoid(x * 3.0), [(3, 4)])])
register("tanh", tanh, methods=["tanh"], functional=["tanh"], examples=[
    Example(lambda lib, x: lib.F.tanh(x), [(3, 4)])])
register("relu", relu, methods=["relu"], functional=["relu"], examples=[
    Example(lambda lib, x: lib.F.relu(x), [(3, 4)])])
register("leaky_relu", leaky_relu, functional=["leaky_relu"], examples=[
    Example(lambda lib, x: lib.F.leaky_relu(x, 0.2), [(3, 4)]),
    Example(lambda lib, x: lib.F.leaky_relu(x), [(3, 4)]),
], bad_inputs=[BadInput(lambda lib, x: lib.F.leaky_relu(x, "a"), [(2,)], TypeError,
                        "leaky_relu: negative_slope must be a number")])
def silu(x):
    """x * sigmoid(x)."""
    return x * x.sigmoid()


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return x.relu() + (x.clamp(max=0).exp() - 1) * alpha


register("silu", silu, functional=["silu"], examples=[Example(lambda lib, x: lib.F.silu(x), [(3, 4)])])
register("elu", elu, functional=["elu"], examples=[
    Example(lambda lib, x: lib.F.elu(x), [(3, 4)]),
    Example(lambda lib, x: lib.F.elu(x, alpha=0.5), [(3, 4)])])
register("gelu", gelu, functional=["gelu"], examples=[
    Example(lambda lib, x: lib.F.gelu(x), [(3, 4)]),
    Example(lambda lib, x: lib.F.gelu(x, approximate="tanh"), [(3, 4)]),
], bad_inputs=[
    BadInput(lambda lib, x: lib.F.gelu(x, approximate="erf"), [(2,)], ValueError,
             "gelu: approximate must be 'none' or 'tanh'"),
])
