"""sigmoid, tanh, relu, leaky_relu, softplus and gelu (``kernels/activations.py``).

The book's three keep their output, from which their backward is computed; the others keep
their input. All but gelu are ``Unary`` ops (``jitgrad/ops/unary.py``): kernels
and settings, run by its programs, eagerly and in a compiled step's generated function.
"""
import math
import numbers

import numpy as np

from jitgrad.backend.dtypes import float_dtype
from jitgrad.ops.base import Op, flat
from jitgrad.ops.registry import BadInput, Example, apply, register
from jitgrad.ops.unary import Unary
from kernels import activations as k


class Sigmoid(Unary):
    creation_op = "sigmoid"
    kernel, backward_kernel = k.sigmoid, k.sigmoid_backward
    keeps_output = True


class Tanh(Unary):
    creation_op = "tanh"
    kernel, backward_kernel = k.tanh, k.tanh_backward
    keeps_output = True


class ReLU(Unary):
    creation_op = "relu"
    kernel, backward_kernel = k.relu, k.relu_backward
    keeps_output = True


class LeakyReLU(Unary):
    """x where x >= 0, else negative_slope * x."""

    creation_op = "leaky_relu"
    kernel, backward_kernel = k.leaky_relu, k.leaky_relu_backward

    def __init__(self, negative_slope):
        if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool):
            raise TypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
        self.slope = float(negative_slope)

    def params(self):
        return (self.slope,)


class Softplus(Unary):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (torch's)."""

    creation_op = "softplus"
    kernel, backward_kernel = k.softplus, k.softplus_backward

    def __init__(self, beta, threshold):
        for name, value in (("beta", beta), ("threshold", threshold)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"softplus: {name} must be a number, got {value!r}")
        self.beta, self.threshold = float(beta), float(threshold)

    def params(self):
        return self.beta, self.threshold


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


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta elementwise, x itself where beta * x > threshold
    (torch's defaults), a smooth relu."""
    return apply(Softplus(beta, threshold), x)


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
register("softplus", softplus, methods=["softplus"], functional=["softplus"], examples=[
    Example(lambda lib, x: lib.F.softplus(x), [(3, 4)]),
    Example(lambda lib, x: lib.F.softplus(x * 3.0, beta=1.5, threshold=2.0), [(3, 4)]),
], bad_inputs=[BadInput(lambda lib, x: lib.F.softplus(x, beta="a"), [(2,)], TypeError,
                        "softplus: beta must be a number")])
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
