"""Mixed precision on the CPU: ``jitgrad.autocast("cpu", dtype=jitgrad.bfloat16)``.

Inside the context (or a function it decorates), the matrix products of float32 operands
(``mm``, ``@``, ``linear``) multiply bfloat16 roundings of their operands and accumulate in
float32, on the fastest bf16 GEMM installed (``kernels.bf16``, chosen by measurement). Every
other op runs as it would outside: the products' results are float32 (PyTorch's are
bfloat16), so softmax, losses, normalization and reductions see float32, and no elementwise
op computes in bfloat16. Parameters, their gradients and optimizer state stay float32 (the
master weights). The backward products run in the forward's dtypes: ``grad_x = g @ W.T`` and
``grad_W = x.T @ g`` take bfloat16 roundings of ``g`` and the operands the forward rounded,
and accumulate into float32 gradients.

A parameter (a leaf tensor with ``autograd=True``) is rounded once per outermost autocast
block, however often it is used (an unrolled cell's weights), as PyTorch caches its casts:
change a parameter's data in place inside the block and its products keep the old rounding.

Without a bf16 GEMM (``pip install "jitgrad[bf16]"``) or on a CPU without native bfloat16
(AVX512-BF16 or AMX), the first product inside autocast warns once, ``AutocastFallback``,
and the products run in float32. Nothing is loaded at ``import jitgrad``.
"""
import contextlib
import functools
import os
import sys
import threading
import time
import warnings
import weakref

import numpy as np

from kernels import bf16 as k

from jitgrad.backend import gemm as gemm_module

#: The environment variable choosing the bf16 GEMM: "auto" (the fastest measured), a library
#: of ``LIBRARIES``, or "off" (products in float32, as on a CPU without native bfloat16).
OVERRIDE = "JITGRAD_BF16"
LIBRARIES = ("dnnl", "mkl")
#: The products the libraries are timed on: an MLP's hidden layer and a wide one.
REPRESENTATIVES = ((128, 512, 512), (256, 1024, 2048))
FLOAT32 = np.dtype(np.float32)


class AutocastFallback(UserWarning):
    """autocast cannot multiply in bfloat16 here: its products run in float32."""


class _State(threading.local):
    enabled = False
    depth = 0  # nesting of autocast blocks
    cache = None  # {id(parameter array)} rounded in the outermost block


_state = _State()


class autocast(contextlib.ContextDecorator):
    """Products in bfloat16 inside the block (see the module's docstring).

    ``autocast("cpu", dtype=jitgrad.bfloat16, enabled=True)``; ``dtype`` may also be the
    string "bfloat16". ``enabled=False`` turns it off inside (for a block nested in another).
    """

    def __init__(self, device_type="cpu", dtype="bfloat16", enabled=True, cache_enabled=True):
        if device_type != "cpu":
            raise ValueError(f"autocast: device_type {device_type!r} is not supported; jitgrad "
                             "runs on the CPU: autocast('cpu', dtype=jitgrad.bfloat16)")
        name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
        if name != "bfloat16":
            raise TypeError(f"autocast: dtype {dtype!r} is not supported; jitgrad's autocast "
                            "computes products in bfloat16 (dtype=jitgrad.bfloat16)")
        self.enabled, self.cache_enabled = bool(enabled), bool(cache_enabled)
        self._saved = []

    def __enter__(self):
        self._saved.append((_state.enabled, _state.cache))
        _state.enabled = self.enabled
        if _state.depth == 0 or not self.cache_enabled:
            _state.cache = set() if self.cache_enabled else None
        _state.depth += 1
        return self

    def __exit__(self, *exc):
        _state.depth -= 1
        _state.enabled, _state.cache = self._saved.pop()
        return False


def bfloat16():
    """NumPy's bfloat16 dtype (``ml_dtypes.bfloat16``), whose arrays hold the bits that
    kernels see as uint16."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError('jitgrad.bfloat16 needs ml_dtypes: pip install "jitgrad[bf16]"') from None
    return np.dtype(ml_dtypes.bfloat16)


def is_autocast_enabled():
    """Whether products run in bfloat16 here (inside an enabled autocast block)."""
    return _state.enabled


def bf16_products(dtype):
    """Whether a product computing in ``dtype`` takes bfloat16 operands: inside autocast, for
    float32 (float64 products stay float64, as PyTorch's autocast leaves them), when a bf16
    GEMM runs here (else the one warning and False)."""
    return _state.enabled and dtype == FLOAT32 and gemm() is not None


# --- the products --------------------------------------------------------------------------

def rounded(array, parameter=False):
    """``array`` (float32, 2-D, any layout) as bfloat16 bits in the same layout (a transposed
    view stays one). A ``parameter``'s are rounded once per outermost autocast block, into a
    buffer kept while the parameter's array lives: allocating its pages anew every step cost
    more than the rounding itself (8 against 3.5 ms for 2048 x 2048, measured here)."""
    transposed = array.flags.f_contiguous and not array.flags.c_contiguous
    source = array.T if transposed else np.ascontiguousarray(array)
    if not parameter or _state.cache is None:
        bits = k.to_bf16(source)
    else:
        key = id(array)
        owner, bits = _buffers.get(key, (None, None))
        if owner is None or owner() is not array:  # a new parameter, or a new array for one
            owner, bits = weakref.ref(array, lambda _: _buffers.pop(key, None)), None
        if bits is None or key not in _state.cache:
            bits = np.empty(source.shape, k.BITS) if bits is None else bits
            k.to_bf16_into(source, bits)
            _buffers[key] = (owner, bits)
            _state.cache.add(key)
    return bits.T if transposed else bits


#: {id(parameter array): (weak reference to it, its bfloat16 buffer)}
_buffers = {}


def product(a16, b16, bias=None):
    """a16 @ b16 (+ bias) in float32: a16 (m, k), b16 (k, n) bfloat16 bits; bias (n,)."""
    out = np.empty((a16.shape[0], b16.shape[1]), FLOAT32)
    if bias is not None:
        out[...] = bias
    multiply_into(a16, b16, out, beta=0.0 if bias is None else 1.0)
    return out


def multiply_into(a16, b16, out, alpha=1.0, beta=1.0):
    """out = alpha * a16 @ b16 + beta * out, on the chosen bf16 GEMM."""
    if out.size == 0:
        return
    if a16.shape[1] == 0:  # an empty sum; ``out`` may be uninitialised when beta is 0
        if beta == 0:
            out[...] = 0
        else:
            out *= beta
        return
    gemm()(a16, b16, out, alpha, beta)


# --- which GEMM ----------------------------------------------------------------------------

_lock = threading.Lock()


def gemm():
    """The bf16 GEMM this process uses (chosen at its first call), or None after warning."""
    return _choice()[0]


@functools.cache
def _choice():
    """(gemm function or None, library name or the reason there is none)."""
    with _lock:
        wanted = os.environ.get(OVERRIDE, "auto").strip().lower() or "auto"
        if wanted not in ("auto", "off", *LIBRARIES):
            raise ValueError(f"{OVERRIDE}={wanted!r}: expected auto, off or one of {LIBRARIES}")
        if wanted == "off":
            return _fall_back(f"{OVERRIDE}=off")
        if not native_bf16():
            return _fall_back("this CPU has no native bfloat16 arithmetic (AVX512-BF16 or AMX)")
        loaded, reasons = {}, []
        for library in (LIBRARIES if wanted == "auto" else (wanted,)):
            try:
                loaded[library] = k.gemm_function(library)
            except k.NoBf16Gemm as error:
                reasons.append(str(error))
        if not loaded:
            return _fall_back(f"no bfloat16 GEMM is installed ({'; '.join(reasons)}); "
                              'pip install "jitgrad[bf16]"')
        _limit_threads()
        name = _fastest(loaded) if len(loaded) > 1 else next(iter(loaded))
        return loaded[name], name


def _limit_threads():
    """Give the bf16 libraries' thread pools (OpenMP's, MKL's) the thread count of the float32
    BLAS, so that ``--threads`` and threadpoolctl limits hold for them too."""
    from threadpoolctl import ThreadpoolController
    threads = gemm_module.blas_threads()
    controller = ThreadpoolController()
    for api in ("openmp", "mkl"):
        controller.select(internal_api=api).limit(limits=threads)


def _fastest(loaded):
    """The library of ``loaded`` fastest on REPRESENTATIVES: measured alternating, each after
    a pause for the other pool's threads to stop spinning (as ``jitgrad.gemm`` measures), and
    cached beside the float32 verdict."""
    key = f"bf16 {', '.join(sorted(loaded))} {gemm_module.blas_threads()} threads {k.dnnl_path()}"
    cached = gemm_module._read_cache().get(key)
    if cached in loaded:
        return cached
    rng = np.random.default_rng(0)
    operands = [(k.to_bf16(rng.standard_normal((m, inner)).astype(FLOAT32)),
                 k.to_bf16(rng.standard_normal((inner, n)).astype(FLOAT32)),
                 np.empty((m, n), FLOAT32)) for m, inner, n in REPRESENTATIVES]
    best = dict.fromkeys(loaded, np.inf)
    for library in list(loaded) * gemm_module.MEASURE_ROUNDS:
        function = loaded[library]
        time.sleep(gemm_module.SETTLE)
        gemm_module._repeat_for(gemm_module.WARM_IN, lambda: [function(*o, 1.0, 0.0) for o in operands])
        seconds = sum(gemm_module._best_time(lambda: function(*o, 1.0, 0.0)) for o in operands)
        best[library] = min(best[library], seconds)
    choice = min(best, key=best.get)
    gemm_module._write_cache(key, choice)
    return choice


def _fall_back(reason):
    """Warn (pointing at the first caller outside jitgrad) and return (None, reason)."""
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"jitgrad.autocast: {reason}; matrix products run in float32",
                  AutocastFallback, stacklevel=level)
    return None, reason


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def native_bf16():
    """Whether this CPU multiplies bfloat16 natively (LLVM's host features)."""
    import llvmlite.binding
    features = llvmlite.binding.get_host_cpu_features()
    return bool(features.get("avx512bf16") or features.get("amx-bf16"))


def library():
    """The name of the bf16 GEMM used, or why there is none."""
    return _choice()[1]
