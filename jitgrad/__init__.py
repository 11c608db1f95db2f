"""jitgrad: the autograd framework of Grokking Deep Learning (ch. 13-14), on Numba kernels,
with PyTorch's names for everything the book does not name.

Importing jitgrad compiles nothing; call ``jitgrad.warmup()`` to compile (or load from the
on-disk cache) every kernel before the first training step.
"""
import kernels as _kernels

if not getattr(_kernels, "JITGRAD_KERNELS", False):  # before anything imports a kernel
    raise ImportError(
        f"jitgrad: the package 'kernels' at {getattr(_kernels, '__file__', None) or _kernels.__path__} "
        "is not jitgrad's kernels folder (another package of that name, such as PyPI's "
        "'kernels', replaced it). Uninstall the other one, or install jitgrad into its own "
        "virtual environment, then reinstall jitgrad (pip install --force-reinstall jitgrad)")
from . import kernel_cache as _kernel_cache

_kernel_cache.drop_if_sources_changed()  # before any kernel loads from Numba's cache
from . import functional, init, optim
from .activation_layers import GELU, LeakyReLU, LogSoftmax, Softmax
from .amp import autocast, is_autocast_enabled
from .anomaly import AnomalyError, detect_anomaly
from .compiler import compile  # noqa: A004 -- torch.compile's name
from .creation import ones, ones_like, randn, zeros, zeros_like
from .dtypes import get_default_dtype, set_default_dtype
from .fitting import History, fit
from .grad_mode import no_grad
from .layers import Dropout, Embedding, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss
from .normalization import BatchNorm1d, LayerNorm
from .ops.joining import cat, stack
from .optim import SGD, Adam, AdamW, RMSprop, clip_grad_norm
from .profiler import profile
from .recurrent import LSTMCell, RNNCell
from .serialization import load, save
from .shape_layers import Flatten, Identity
from .tensor import Tensor
from .warmup import warmup

__version__ = "0.1.0"


def __getattr__(name):
    """``jitgrad.bfloat16``: NumPy's bfloat16 (ml_dtypes'), imported on first use (0.5 s)."""
    if name == "bfloat16":
        from .amp import bfloat16
        return bfloat16()
    raise AttributeError(f"module 'jitgrad' has no attribute {name!r}")


__all__ = ["Adam", "AdamW", "AnomalyError", "BCEWithLogitsLoss", "BatchNorm1d",
           "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "GELU", "History", "Identity",
           "L1Loss", "LSTMCell", "Layer", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax",
           "MSELoss", "RMSprop", "RNNCell", "ReLU", "SGD", "Sequential", "Sigmoid", "Softmax",
           "Tanh", "Tensor", "autocast", "cat", "clip_grad_norm", "compile", "detect_anomaly", "fit", "functional",
           "get_default_dtype", "init", "is_autocast_enabled", "load", "no_grad", "ones", "ones_like", "optim", "profile", "randn",
           "save", "set_default_dtype", "stack", "warmup", "zeros", "zeros_like"]
