"""Dtype conversion: ``x.to(dtype)`` (``x.float()`` and ``x.double()`` call it), differentiable.

The one way to mix float32 and float64 (ops refuse to, ``jitgrad.dtypes``): convert one side
explicitly. The gradient flows back converted to the input's dtype. A copy, as NumPy's
``astype``: conversion is a memory pass, not a hot-path kernel.
"""
from ..dtypes import kernel_dtype
from .base import Op
from .registry import Example, apply, register


class Cast(Op):
    creation_op = "to"

    def __init__(self, dtype):
        self.dtype = kernel_dtype("to", dtype)

    def forward(self, a):
        self.input_dtype = a.dtype
        return a.astype(self.dtype)

    def backward(self, grad, needs_grad):
        # an integer input gets its gradient in float64, as autograd gives every integer leaf
        return [grad.astype(self.input_dtype if self.input_dtype.kind == "f" else "float64")]


def to(x, dtype):
    """``x`` as ``dtype`` (float32 or float64); ``x`` itself when it already is."""
    return x if x.data.dtype == kernel_dtype("to", dtype) else apply(Cast(dtype), x)


# in float64 the example converts nothing; in float32 it converts up and back down
register("to", to, methods=["to"], examples=[
    Example(lambda lib, x: x.double().to(x.dtype) * 2.0, [(2, 3)])])
