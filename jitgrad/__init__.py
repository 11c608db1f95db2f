"""jitgrad: the autograd framework of Grokking Deep Learning (ch. 13-14), on Numba kernels.

Importing jitgrad compiles nothing; call ``jitgrad.warmup()`` to compile (or load from the
on-disk cache) every kernel before the first training step.
"""
from .anomaly import AnomalyError, detect_anomaly
from .layers import Embedding, Layer, Linear, Sequential, Sigmoid, Tanh
from .losses import CrossEntropyLoss, MSELoss
from .optim import SGD
from .recurrent import LSTMCell, RNNCell
from .tensor import Tensor
from .warmup import warmup

__version__ = "0.1.0"

__all__ = ["AnomalyError", "CrossEntropyLoss", "Embedding", "LSTMCell", "Layer", "Linear",
           "MSELoss", "RNNCell", "SGD", "Sequential", "Sigmoid", "Tanh", "Tensor",
           "detect_anomaly", "warmup"]
