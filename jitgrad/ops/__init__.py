"""The ops of the graph, one module per kernel family (``kernels/<same name>.py``).

An op is a small class with ``forward(*arrays) -> array`` and
``backward(grad, needs_grad) -> one gradient (or None) per input``. It checks its inputs
and picks the kernels; it knows nothing of Tensors or of the graph, which ``jitgrad.tensor``
and ``jitgrad.autograd`` own. Adding an op: a kernel, an ``Op`` subclass, a Tensor method.
"""
from .activations import ReLU, Sigmoid, Tanh
from .broadcast import Expand, Sum
from .elementwise import Add, Div, Mul, Neg, Sub
from .gather import IndexSelect, Select
from .losses import SquaredError
from .matmul import MM, Linear, Transpose
from .recurrent import LSTMCell
from .softmax import CrossEntropy, Softmax

__all__ = ["Add", "CrossEntropy", "Div", "Expand", "IndexSelect", "LSTMCell", "Linear", "MM",
           "Mul", "Neg", "ReLU", "Select", "Sigmoid", "Softmax", "SquaredError", "Sub", "Sum",
           "Tanh", "Transpose"]
