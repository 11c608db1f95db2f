"""jitgrad: the autograd framework of Grokking Deep Learning (ch. 13-14), on Numba kernels,
with PyTorch's names for everything the book does not name.

Two doors on one Tensor. The book's names here at ``jitgrad.X`` keep the book's meanings
(``jitgrad.book``); PyTorch's names at ``jitgrad.nn``, ``jitgrad.optim`` and
``jitgrad.utils.data`` carry PyTorch's (docs/pytorch.md). The packages, each importing only
those below it (docs/design.md):

    kernels/           Numba kernels: arrays in, arrays out
    jitgrad/backend/   GEMM choice, kernel cache, dtypes, profiler
    jitgrad/ops/       one module per op family, and the op registry
    jitgrad/autograd/  Tensor, the backward pass, grad mode, anomaly detection
    jitgrad/nn/, optim/, utils/, book.py, serialization.py
    jitgrad/compiler/  jitgrad.compile and jitgrad.warmup
    jitgrad/apps/      the command line and what it trains

Importing jitgrad compiles nothing; call ``jitgrad.warmup()`` to compile (or load from the
on-disk cache) every kernel before the first training step.
"""
import builtins as _builtins

import kernels as _kernels

if not getattr(_kernels, "JITGRAD_KERNELS", False):  # before anything imports a kernel
    raise ImportError(
        f"jitgrad: the package 'kernels' at {getattr(_kernels, '__file__', None) or _kernels.__path__} "
        "is not jitgrad's kernels folder (another package of that name, such as PyPI's "
        "'kernels', replaced it). Uninstall the other one, or install jitgrad into its own "
        "virtual environment, then reinstall jitgrad (pip install --force-reinstall jitgrad)")
from jitgrad.backend import kernel_cache as _kernel_cache

_kernel_cache.drop_if_sources_changed()  # before any kernel loads from Numba's cache
# functional, init: the book door's (the (in, out) weight layout; nn has PyTorch's);
# metrics: jitgrad.utils's, under the name it had before utils
from jitgrad import functional, init, nn, optim, utils  # noqa: E402
from jitgrad.utils import metrics  # noqa: E402
from jitgrad.autograd import AnomalyError, Tensor, detect_anomaly, no_grad  # noqa: E402
from jitgrad.autograd.creation import (  # noqa: E402
    arange,
    as_tensor,
    empty,
    empty_like,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from jitgrad.autograd.functions import *  # noqa: E402, F403 -- jitgrad.exp, jitgrad.sum, ... (NAMES)
from jitgrad.autograd.functions import NAMES as _FUNCTION_NAMES  # noqa: E402
from jitgrad.backend.device import cuda, device  # noqa: E402
from jitgrad.backend.dtypes import PYTORCH_DTYPES as _PYTORCH_DTYPES  # noqa: E402
from jitgrad.backend.amp import autocast, is_autocast_enabled  # noqa: E402
from jitgrad.backend.dtypes import get_default_dtype, set_default_dtype  # noqa: E402
from jitgrad.backend.random import Generator, initial_seed, manual_seed, seed  # noqa: E402
from jitgrad.backend.profiler import profile  # noqa: E402
from jitgrad.book import (  # noqa: E402
    SGD,
    BatchNorm1d,
    CrossEntropyLoss,
    Embedding,
    LayerNorm,
    Linear,
    LSTMCell,
    MSELoss,
    RNNCell,
    Sequential,
)
from jitgrad.compiler import compile, warmup  # noqa: E402, A004 -- torch.compile's name
from jitgrad.fitting import History, fit  # noqa: E402
from jitgrad.nn import (  # noqa: E402
    GELU,
    BCEWithLogitsLoss,
    Dropout,
    Flatten,
    Identity,
    L1Loss,
    Layer,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from jitgrad.ops.joining import cat, stack  # noqa: E402
from jitgrad.optim import Adam, AdamW, RMSprop, clip_grad_norm  # noqa: E402
from jitgrad.serialization import load, save  # noqa: E402

__version__ = "0.1.0"

# jitgrad.float32, jitgrad.long, jitgrad.bool, ...: NumPy dtypes under PyTorch's names
globals().update(_PYTORCH_DTYPES)


def is_tensor(obj):
    """Whether ``obj`` is a jitgrad Tensor."""
    return isinstance(obj, Tensor)


def numel(t):
    """The number of elements of ``t``."""
    return t.numel()


def __getattr__(name):
    """``jitgrad.bfloat16``: NumPy's bfloat16 (ml_dtypes'), imported on first use (0.5 s)."""
    if name == "bfloat16":
        from jitgrad.backend.amp import bfloat16
        return bfloat16()
    raise AttributeError(f"module 'jitgrad' has no attribute {name!r}")


__all__ = ["Adam", "AdamW", "AnomalyError", "BCEWithLogitsLoss", "BatchNorm1d",
           "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "GELU", "History", "Identity",
           "L1Loss", "LSTMCell", "Layer", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax",
           "MSELoss", "RMSprop", "RNNCell", "ReLU", "SGD", "Sequential", "Sigmoid", "Softmax",
           "Tanh", "Tensor", "autocast", "cat", "clip_grad_norm", "compile", "detect_anomaly", "fit", "functional",
           "get_default_dtype", "init", "is_autocast_enabled", "load", "metrics", "nn", "no_grad", "ones", "ones_like", "optim",
           "profile", "randn", "save", "set_default_dtype", "stack", "utils", "warmup", "zeros",
           "zeros_like", "Generator", "arange", "as_tensor", "cuda", "device", "empty",
           "empty_like", "from_numpy", "full", "full_like", "initial_seed", "is_tensor",
           "linspace", "manual_seed", "multinomial", "numel", "rand", "rand_like", "randint",
           "randn_like", "randperm", "seed", "tensor"]
# PyTorch's functions and dtypes, except those named like Python's builtins (abs, max, sum,
# float, int, bool, ...), which ``from jitgrad import *`` must not replace
__all__ += [name for name in (*_FUNCTION_NAMES, *_PYTORCH_DTYPES)
            if not hasattr(_builtins, name) and name not in __all__]
