"""bfloat16: conversion kernels and the libraries whose GEMM multiplies bfloat16 operands into
float32 (``bf16 @ bf16 -> f32``).

Inside kernels a bfloat16 array is its bits, a ``uint16`` array (Numba has no bfloat16 type);
NumPy's side of the dtype is ``ml_dtypes.bfloat16``, whose arrays view the same bits. The
conversion rounds to nearest, ties to even, as PyTorch's and ml_dtypes' do; NaN stays NaN.

The GEMMs (measured by ``benchmarks/bf16_gemm_candidates.py``, docs/performance-gemm.md):

- ``mkl``: MKL's ``cblas_gemm_bf16bf16f32`` from the optional ``mkl`` wheel;
- ``dnnl``: oneDNN's ``dnnl_gemm_bf16bf16f32``, from the ``onednn-cpu-gomp`` wheel
  (``pip install "jitgrad[bf16]"``; GNU OpenMP threads), or a ``libdnnl`` whose path
  ``JITGRAD_DNNL`` names.

Nothing here loads a library at import: ``gemm_function`` does, at the first bf16 product.
"""
import ctypes
import functools
import importlib.metadata
import os

import numpy as np
from numba.extending import register_jitable

from . import mkl
from .jit import kernel

#: The bits of a bfloat16 as stored inside kernels.
BITS = np.uint16
#: The environment variable naming a libdnnl to take oneDNN's bf16 GEMM from.
DNNL_PATH = "JITGRAD_DNNL"
#: The wheel whose libdnnl is used otherwise (it puts the library into the environment's lib).
DNNL_WHEEL = "onednn-cpu-gomp"


_U = np.uint32
_SIGN_OFF, _INF, _HALF, _QUIET = _U(0x7FFFFFFF), _U(0x7F800000), _U(0x7FFF), _U(0x40)


@register_jitable(inline="always")
def _round_bits(word):
    """The bfloat16 bits of the float32 whose bits are ``word`` (uint32): round to nearest,
    ties to even; a NaN keeps its sign and top mantissa bits, made quiet. Branch-free (a
    select), so that the loops calling it vectorize."""
    rounded = (word + _HALF + ((word >> _U(16)) & _U(1))) >> _U(16)
    quiet_nan = (word >> _U(16)) | _QUIET
    return np.uint16(quiet_nan if (word & _SIGN_OFF) > _INF else rounded)


@kernel
def round_flat(x, out):
    """out[i] = the bfloat16 bits of x[i]: x float32 (n,), out uint16 (n,)."""
    words = x.view(np.uint32)
    for i in range(words.size):
        out[i] = _round_bits(words[i])


@kernel
def widen_flat(bits, out):
    """out[i] = bfloat16 bits[i] as float32, exactly: bits uint16 (n,), out float32 (n,)."""
    words = out.view(np.uint32)
    for i in range(bits.size):
        words[i] = _U(bits[i]) << _U(16)


# The kernels take flat arrays, one signature whatever the shape; the wrappers allocate with
# NumPy, not inside the kernels: a 2048 x 2048 result allocated inside Numba took 4-8 times
# the conversion's own time in page faults (measured here).
def to_bf16_into(x, out):
    """out[...] = x rounded to bfloat16 bits: x float32 and out uint16 of one shape, both
    C-contiguous."""
    round_flat(_flat(x, "x"), _flat(out, "out"))


def from_bf16_into(bits, out):
    """out[...] = bfloat16 ``bits`` (uint16) as float32: both of one shape, C-contiguous."""
    widen_flat(_flat(bits, "bits"), _flat(out, "out"))


def _flat(array, name):
    if not array.flags.c_contiguous:
        raise ValueError(f"bf16 conversion: {name} must be C-contiguous, got strides {array.strides}")
    return array.reshape(-1)


def to_bf16(x):
    """x (float32) rounded to bfloat16: a new C-contiguous uint16 array of x's shape."""
    out = np.empty(x.shape, BITS)
    to_bf16_into(np.ascontiguousarray(x, np.float32), out)
    return out


def from_bf16(bits):
    """bfloat16 bits (uint16) as float32: a new C-contiguous array of their shape."""
    out = np.empty(bits.shape, np.float32)
    from_bf16_into(np.ascontiguousarray(bits, BITS), out)
    return out


# --- the GEMMs ----------------------------------------------------------------------------

class NoBf16Gemm(ImportError):
    """No library with a bfloat16 GEMM is installed (or it cannot be loaded)."""


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enums


@functools.cache
def gemm_function(library):
    """``f(a, b, c, alpha, beta)``: c = alpha * a @ b + beta * c with a (m, k), b (k, n)
    uint16 bfloat16 bits, C- or F-contiguous, and c (m, n) float32 C-contiguous; from
    ``library`` ("mkl" or "dnnl"), loaded at the first call. Raises NoBf16Gemm without it."""
    return {"mkl": _mkl_gemm, "dnnl": _dnnl_gemm}[library]()


def _layout(a, b):
    """(a transposed, lda, b transposed, ldb) for row-major GEMM arguments."""
    a_t, b_t = not a.flags.c_contiguous, not b.flags.c_contiguous
    return a_t, (a.shape[0] if a_t else a.shape[1]), b_t, (b.shape[0] if b_t else b.shape[1])


def _mkl_gemm():
    try:
        function = ctypes.CDLL(mkl.load()["path"]).cblas_gemm_bf16bf16f32
    except (mkl.MKLNotFound, AttributeError) as error:
        raise NoBf16Gemm(f"MKL's cblas_gemm_bf16bf16f32 is not available: {error}") from None
    integer, pointer = ctypes.c_int, ctypes.c_void_p
    function.argtypes = [integer, integer, integer, integer, integer, integer, ctypes.c_float,
                         pointer, integer, pointer, integer, ctypes.c_float, pointer, integer]
    function.restype = None

    def gemm(a, b, c, alpha=1.0, beta=0.0):
        a_t, lda, b_t, ldb = _layout(a, b)
        function(_ROW_MAJOR, _TRANS if a_t else _NO_TRANS, _TRANS if b_t else _NO_TRANS,
                 c.shape[0], c.shape[1], a.shape[1], alpha, a.ctypes.data, lda,
                 b.ctypes.data, ldb, beta, c.ctypes.data, c.shape[1])
    return gemm


def dnnl_path():
    """The libdnnl to load: ``JITGRAD_DNNL``'s, else the ``onednn-cpu-gomp`` wheel's, else
    None."""
    if os.environ.get(DNNL_PATH):
        return os.environ[DNNL_PATH]
    try:
        files = importlib.metadata.distribution(DNNL_WHEEL).files or ()
    except importlib.metadata.PackageNotFoundError:
        return None
    return next((str(file.locate()) for file in files if os.path.basename(str(file)) == "libdnnl.so.3"),
                None)


def _dnnl_gemm():
    path = dnnl_path()
    if path is None:
        raise NoBf16Gemm(f"oneDNN is not installed (pip install {DNNL_WHEEL}, or set {DNNL_PATH})")
    try:
        function = ctypes.CDLL(path).dnnl_gemm_bf16bf16f32
    except (OSError, AttributeError) as error:
        raise NoBf16Gemm(f"oneDNN's dnnl_gemm_bf16bf16f32 from {path}: {error}") from None
    dim, pointer = ctypes.c_int64, ctypes.c_void_p
    function.argtypes = [ctypes.c_char, ctypes.c_char, dim, dim, dim, ctypes.c_float, pointer,
                         dim, pointer, dim, ctypes.c_float, pointer, dim]
    function.restype = ctypes.c_int

    def gemm(a, b, c, alpha=1.0, beta=0.0):
        a_t, lda, b_t, ldb = _layout(a, b)
        status = function(b"T" if a_t else b"N", b"T" if b_t else b"N", c.shape[0], c.shape[1],
                          a.shape[1], alpha, a.ctypes.data, lda, b.ctypes.data, ldb, beta,
                          c.ctypes.data, c.shape[1])
        if status:
            raise RuntimeError(f"dnnl_gemm_bf16bf16f32 failed (status {status}) on "
                               f"{a.shape} @ {b.shape}")
    return gemm
