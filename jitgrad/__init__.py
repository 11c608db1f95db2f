"""jitgrad: the autograd framework of Grokking Deep Learning (ch. 13-14), on Numba kernels.

Importing jitgrad compiles nothing; call ``jitgrad.warmup()`` to compile (or load from the
on-disk cache) every kernel before the first training step.
"""
from .anomaly import AnomalyError, detect_anomaly
from .grad_mode import no_grad
from .layers import Dropout, Embedding, Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import CrossEntropyLoss, MSELoss
from .optim import SGD, Adam, clip_grad_norm
from .profiler import profile
from .recurrent import LSTMCell, RNNCell
from .serialization import load, save
from .tensor import Tensor
from .warmup import warmup

__version__ = "0.1.0"

__all__ = ["Adam", "AnomalyError", "CrossEntropyLoss", "Dropout", "Embedding", "LSTMCell", "Layer",
           "Linear", "MSELoss", "RNNCell", "ReLU", "SGD", "Sequential", "Sigmoid", "Tanh", "Tensor",
           "clip_grad_norm", "detect_anomaly", "load", "no_grad", "profile", "save", "warmup"]
