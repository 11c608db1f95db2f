"""Dtypes: the two jitgrad computes in, the one an op picks, and the defaults for new tensors.

The two doors differ in their default: the book's layers (``jitgrad.Linear``) and
``Tensor(...)`` make float64, as the book does; PyTorch's door (``jitgrad.nn`` modules,
``jitgrad.tensor(...)`` of Python floats) makes float32, as PyTorch does. An explicit
``set_default_dtype`` sets both.

Every op computes in float32 or float64. An op's float operands must agree: mixing float32
and float64 raises instead of silently upcasting (twice the time and memory), as PyTorch's
matmul does. Integer and boolean operands, and Python numbers, take the float operand's dtype.
"""
import numpy as np

#: The float dtypes the kernels are compiled for.
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_default_dtype = KERNEL_DTYPES[1]  # the book's float64
_default_chosen = False  # whether set_default_dtype was called: then it holds for both doors


def describe(array):
    """A short description for error messages, e.g. ``float32[4, 3]``."""
    return f"{array.dtype}[{', '.join(map(str, array.shape))}]"


def kernel_dtype(op, dtype):
    """``dtype`` as one of KERNEL_DTYPES (float16 computes in float32), or a TypeError."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        return KERNEL_DTYPES[0]
    if dtype not in KERNEL_DTYPES:
        raise TypeError(f"{op}: unsupported dtype {dtype}; jitgrad computes in float32 or float64")
    return dtype


def float_dtype(op, *arrays):
    """The dtype ``op`` computes in: that of its float operands, which must agree.

    Integers and bools take the float operands' dtype; with no float operand the op computes
    in float64 (as NumPy's true division does). float16 computes in float32.
    Raises TypeError naming ``op``, the operands and the fix when float32 meets float64.
    """
    if arrays and arrays[0].dtype in KERNEL_DTYPES and all(
            array.dtype == arrays[0].dtype for array in arrays[1:]):
        return arrays[0].dtype  # the common case, without the general rule's bookkeeping
    first_of = {}  # compute dtype -> (position, array) of the first operand that has it
    for position, array in enumerate(arrays):
        if array.dtype.kind not in "biu":
            first_of.setdefault(kernel_dtype(op, array.dtype), (position, array))
    if len(first_of) > 1:
        operands = " and ".join(f"operand {position} is {describe(array)}"
                                for position, array in first_of.values())
        raise TypeError(
            f"{op}: expected float operands of one dtype, but {operands}; jitgrad does not "
            "upcast silently. Convert one side: tensor.float() or tensor.double(), "
            "model.to(np.float32), or jitgrad.set_default_dtype(np.float32) before building "
            "the model")
    return next(iter(first_of)) if first_of else KERNEL_DTYPES[1]


def set_default_dtype(dtype):
    """Make ``dtype`` (float32 or float64) the dtype new parameters are created in.

    float64 is the default, as in the book. Layers given ``dtype=`` explicitly ignore it.
    """
    global _default_dtype, _default_chosen
    _default_dtype = _float_dtype_or_raise(dtype, "set_default_dtype: ")
    _default_chosen = True


def get_default_dtype():
    """The dtype new parameters are created in (``set_default_dtype``); float64 unless set."""
    return _default_dtype


def parameter_dtype(dtype):
    """``dtype`` for a new parameter: the given one, or the default when None."""
    return _default_dtype if dtype is None else _float_dtype_or_raise(dtype)


def pytorch_parameter_dtype(dtype=None):
    """``dtype`` for a new tensor of PyTorch's door: the given one, else the default set by
    ``set_default_dtype``, else float32 (PyTorch's default)."""
    if dtype is not None:
        return _float_dtype_or_raise(dtype)
    return _default_dtype if _default_chosen else KERNEL_DTYPES[0]


def _float_dtype_or_raise(dtype, who=""):
    """``dtype`` as float32 or float64 (a parameter's dtype), else a TypeError."""
    dtype = np.dtype(dtype)
    if dtype not in KERNEL_DTYPES:
        raise TypeError(f"{who}dtype must be float32 or float64, got {dtype}")
    return dtype


# --- PyTorch's dtype objects -----------------------------------------------------------------
# ``jitgrad.float32`` and its aliases are NumPy dtypes, so they work wherever NumPy takes a
# dtype as well as everywhere jitgrad does. ``half`` stores float16; ops compute it in float32.
PYTORCH_DTYPES = {
    "float32": np.dtype(np.float32), "float": np.dtype(np.float32),
    "float64": np.dtype(np.float64), "double": np.dtype(np.float64),
    "float16": np.dtype(np.float16), "half": np.dtype(np.float16),
    "int64": np.dtype(np.int64), "long": np.dtype(np.int64),
    "int32": np.dtype(np.int32), "int": np.dtype(np.int32),
    "int16": np.dtype(np.int16), "short": np.dtype(np.int16),
    "int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8), "bool": np.dtype(np.bool_),
}


def as_dtype(dtype, who="dtype"):
    """``dtype`` (a jitgrad/NumPy dtype, a Python type such as ``float``, or a name such as
    ``"float32"``) as a NumPy dtype of bool, int or float data, or a TypeError naming ``who``."""
    if isinstance(dtype, str) and dtype in PYTORCH_DTYPES:
        return PYTORCH_DTYPES[dtype]
    try:
        result = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{who}: {dtype!r} is not a dtype; use jitgrad.float32, jitgrad.int64, "
                        "jitgrad.bool, ...") from None
    if result.kind not in "biuf":
        raise TypeError(f"{who}: unsupported dtype {result}; jitgrad tensors hold bool, int or "
                        "float data")
    return result
