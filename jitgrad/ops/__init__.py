"""The ops of the graph, one module per family, each beside its kernels (``kernels/``).

An op is a small class with ``forward(*arrays) -> array`` and
``backward(grad, needs_grad) -> one gradient (or None) per input``. It checks its inputs
and picks the kernels; it knows nothing of Tensors or of the graph, which ``jitgrad.tensor``
and ``jitgrad.autograd`` own. Each module also holds the public functions that apply its
ops and registers them (``registry.register``) with their Tensor method and ``F.`` names,
examples and bad inputs: see docs/adding-an-op.md.
"""
from . import (activations, broadcast, dropout, elementwise, gather, indexing, joining, losses,
               matmul, normalization, reductions, shape, softmax, unary)
from .activations import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .broadcast import Expand
from .elementwise import Add, Div, Mul, Neg, Sub
from .gather import IndexSelect
from .indexing import Index, Select
from .joining import Cat
from .losses import BCEWithLogits, SquaredError
from .matmul import MM, Linear
from .normalization import BatchNorm, LayerNorm
from .recurrent import LSTMCell
from .reductions import Amax, Amin, Mean, Sum
from .shape import Permute, Reshape
from .softmax import CrossEntropy, CrossEntropyRows, LogSoftmax, Softmax
from .unary import Abs, Clamp, Log, Pow, Sqrt

__all__ = ["Abs", "Add", "Amax", "Amin", "BCEWithLogits", "BatchNorm", "Cat", "Clamp",
           "CrossEntropy", "CrossEntropyRows", "Div", "Expand", "GELU", "Index", "IndexSelect",
           "LSTMCell", "LayerNorm", "LeakyReLU", "Linear", "Log", "LogSoftmax", "MM", "Mean",
           "Mul", "Neg", "Permute", "Pow", "ReLU", "Reshape", "Select", "Sigmoid", "Softmax",
           "Sqrt", "SquaredError", "Sub", "Sum", "Tanh", "activations", "broadcast", "dropout",
           "elementwise", "gather", "indexing", "joining", "losses", "matmul", "normalization",
           "reductions", "shape", "softmax", "unary"]
