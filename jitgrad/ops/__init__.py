"""The ops of the graph, one module per family, each beside its kernels (``kernels/``).

An op is a small class with ``forward(*arrays) -> array`` and
``backward(grad, needs_grad) -> one gradient (or None) per input``. It checks its inputs
and picks the kernels; it knows nothing of Tensors or of the graph, which ``jitgrad.autograd.tensor``
and ``jitgrad.autograd.engine`` own. Each module also holds the public functions that apply its
ops and registers them (``registry.register``) with their Tensor method and ``F.`` names,
examples and bad inputs: see docs/adding-an-op.md. Importing a module registers its ops.
"""
from jitgrad.ops import (
               activations,
               broadcast,
               cast,
               dropout,
               elementwise,
               gather,
               indexing,
               joining,
               losses,
               matmul,
               normalization,
               reductions,
               shape,
               softmax,
               unary,
)
from jitgrad.ops.recurrent import LSTMStep

__all__ = ["LSTMStep", "activations", "broadcast", "cast", "dropout", "elementwise", "gather",
           "indexing", "joining", "losses", "matmul", "normalization", "reductions", "shape",
           "softmax", "unary"]
