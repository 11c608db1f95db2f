"""jitgrad: the autograd framework of Grokking Deep Learning (ch. 13-14), on Numba kernels.

Importing jitgrad compiles nothing; call ``jitgrad.warmup()`` to compile (or load from the
on-disk cache) every kernel before the first training step.
"""
from .anomaly import AnomalyError, detect_anomaly
from .grad_mode import no_grad
from .layers import Dropout, Embedding, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import CrossEntropyLoss, MSELoss
from .optim import SGD, Adam, clip_grad_norm
from .recurrent import LSTMCell, RNNCell
from .serialization import load, save
from .tensor import Tensor
from .warmup import warmup

__version__ = "0.1.0"

__all__ = ["Adam", "AnomalyError", "CrossEntropyLoss", "Dropout", "Embedding", "LSTMCell", "Layer",
           "Linear", "MSELoss", "RNNCell", "ReLU", "SGD", "Sequential", "Sigmoid", "Tanh", "Tensor",
           "clip_grad_norm", "detect_anomaly", "load", "no_grad", "save", "warmup"]

from . import functional
from .activation_layers import GELU, LeakyReLU, LogSoftmax, Softmax
from .creation import ones, ones_like, randn, zeros, zeros_like
from .losses import BCEWithLogitsLoss, L1Loss
from .normalization import BatchNorm1d, LayerNorm
from .ops.joining import cat, stack
from .shape_layers import Flatten, Identity

__all__ += ["BCEWithLogitsLoss", "BatchNorm1d", "Flatten", "GELU", "Identity", "L1Loss",
            "LayerNorm", "LeakyReLU", "LogSoftmax", "Softmax", "cat", "functional", "ones",
            "ones_like", "randn", "stack", "zeros", "zeros_like"]
