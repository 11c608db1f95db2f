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
        self.dtype = dtype

    def forward(self, a):
        return a.astype(self.dtype)

    def backward(self, grad, needs_grad):
        # autograd converts every gradient to its input's dtype (float64 for integers)
        return [grad]


def to(x, dtype):
    """``x`` as ``dtype`` (float32 or float64); ``x`` itself when it already is."""
    dtype = kernel_dtype("to", dtype)
    return x if x.data.dtype == dtype else apply(Cast(dtype), x)


# in float64 the example converts nothing; in float32 it converts up and back down
register("to", to, methods=["to"], examples=[
    Example(lambda lib, x: x.double().to(x.dtype) * 2.0, [(2, 3)])])
