"""Dtype conversion: ``x.to(dtype)`` (``x.float()`` and ``x.double()`` call it), differentiable.

The one way to mix float32 and float64 (ops refuse to, ``jitgrad.backend.dtypes``): convert one side
explicitly. The gradient flows back converted to the input's dtype. A copy, as NumPy's
``astype``: conversion is a memory pass, not a hot-path kernel.
"""
import numpy as np

from jitgrad.backend.dtypes import KERNEL_DTYPES, describe
from jitgrad.ops.base import Op
from jitgrad.ops.registry import BadInput, Example, apply, register
from kernels import bf16


class Cast(Op):
    creation_op = "to"

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, a):
        if self.dtype.name == "bfloat16":  # rounded to nearest even by jitgrad's kernel
            return bf16.to_bf16(a.astype(np.float32, copy=False)).view(self.dtype)
        if a.dtype.name == "bfloat16":  # exact
            return bf16.from_bf16(a.view(bf16.BITS)).astype(self.dtype, copy=False)
        return a.astype(self.dtype)

    def backward(self, grad, needs_grad):
        # autograd converts every gradient to its input's dtype (float64 for integers)
        return [grad]


def to(x, dtype):
    """``x`` as ``dtype`` (float32 or float64); ``x`` itself when it already is.

    A float tensor also converts to ``jitgrad.bfloat16`` (rounded to nearest even), which
    ops refuse: it is for storing (``jitgrad.save``) and converting back.

    Any other dtype is refused: float16 data computes in float32, so ``to(float16)`` would
    hand back a float32 tensor without a word.
    """
    dtype = np.dtype(dtype)
    storable = dtype.name == "bfloat16" and x.data.dtype in KERNEL_DTYPES
    if dtype not in KERNEL_DTYPES and not storable:
        raise TypeError(f"to: cannot convert a tensor of {describe(x.data)} to {dtype}; jitgrad "
                        "computes in float32 or float64, and stores bfloat16 (from those)")
    return x if x.data.dtype == dtype else apply(Cast(dtype), x)


# in float64 the example converts nothing; in float32 it converts up and back down
register("to", to, methods=["to"], examples=[
    Example(lambda lib, x: x.double().to(x.dtype) * 2.0, [(2, 3)])], bad_inputs=[
    BadInput(lambda lib, x, dtype=dtype: x.to(dtype), [(2, 3)], TypeError,
             rf"to: cannot convert a tensor of float64\[2, 3\] to {dtype}")
    for dtype in ("float16", "int64", "complex128")])
