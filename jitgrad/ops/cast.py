"""Dtype conversion, ``x.to(...)`` (``x.float()``, ``x.long()``, ... call it), and ``clone``.

The one way to mix float32 and float64 (ops refuse to, ``jitgrad.backend.dtypes``): convert one side
explicitly. A float result is differentiable: the gradient flows back converted to the input's
dtype. An integer or bool result is outside the graph, as in PyTorch. A copy, as NumPy's
``astype``: conversion is a memory pass, not a hot-path kernel.
"""
import numpy as np

from jitgrad.backend.device import check_device, device as Device
from jitgrad.backend.dtypes import KERNEL_DTYPES, as_dtype, describe
from jitgrad.ops.base import Op
from jitgrad.ops.registry import BadInput, Example, apply, constant, is_tensor, register
from kernels import bf16


#: PyTorch's device names, told apart from dtype names in ``to("cpu")`` / ``to("float32")``.
_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


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


class Clone(Op):
    creation_op = "clone"

    def forward(self, a):
        return a.copy()

    def backward(self, grad, needs_grad):
        return [grad]


def to(x, *args, dtype=None, device=None, copy=False, non_blocking=False):
    """``x`` as ``dtype``, PyTorch's overloads: ``to(dtype)``, ``to("cpu")``,
    ``to(device, dtype)``, ``to(other_tensor)`` (its dtype), ``to(dtype=..., device=...)``;
    ``x`` itself when nothing changes (unless ``copy``).

    The device can only be the CPU. float16 data is stored as float16 and computes in float32.
    """
    for arg in args:
        if is_tensor(arg):
            dtype = arg.data.dtype
        elif isinstance(arg, Device) or (isinstance(arg, str)
                                         and arg.split(":")[0] in _DEVICE_TYPES):
            device = arg
        else:
            dtype = arg
    check_device("to", device)
    if dtype is None:
        return apply(Clone(), x) if copy else x
    if getattr(dtype, "name", dtype) == "bfloat16":  # storage only (jitgrad.save), from floats
        if x.data.dtype not in KERNEL_DTYPES:
            raise TypeError(f"to: cannot convert a tensor of {describe(x.data)} to bfloat16; "
                            "only float32 and float64 tensors are stored as bfloat16")
        return apply(Cast(np.dtype(dtype)), x)
    try:
        dtype = as_dtype(dtype, "to")
    except TypeError as error:
        raise TypeError(f"to: cannot convert a tensor of {describe(x.data)} to {dtype!r} "
                        f"({error})") from None
    if x.data.dtype == dtype and not copy:
        return x
    if dtype.kind != "f":
        return constant(x.data.astype(dtype))
    return apply(Cast(dtype), x)


def clone(x):
    """A copy of ``x`` in the graph (the gradient passes through), as PyTorch's ``clone``."""
    return apply(Clone(), x)


# in float64 the example converts nothing; in float32 it converts up and back down
register("to", to, methods=["to"], examples=[
    Example(lambda lib, x: x.double().to(x.dtype) * 2.0, [(2, 3)])], bad_inputs=[
    BadInput(lambda lib, x, dtype=dtype: x.to(dtype), [(2, 3)], TypeError,
             rf"to: cannot convert a tensor of float64\[2, 3\] to {dtype!r}")
    for dtype in ("complex128", "datetime64")] + [
    BadInput(lambda lib, x: x.to("cuda"), [(2, 3)], RuntimeError, "to: jitgrad runs on the CPU")])
register("clone", clone, methods=["clone"], examples=[
    Example(lambda lib, x: x.clone() * x, [(2, 3)])])
