"""The book's layers -- Layer, Linear, Sequential, Tanh, Sigmoid, Embedding -- plus ReLU and
Dropout, and PyTorch-style ``parameters()`` / ``train()`` / ``eval()``.

Initialisers draw from NumPy's global RNG in the book's order, so seeded runs match the book.
``dtype`` (default float64, as the book) sets the parameters' dtype after the draw.
"""
import numpy as np

from . import functional
from .tensor import Tensor


class ParameterList(list):
    """The list behind a layer's ``parameters`` attribute, which can also be called.

    As a list it is the book's: ``self.parameters.append(p)`` and
    ``self.parameters += layer.get_parameters()`` change the layer's own parameters.
    Called, ``layer.parameters()`` returns a new list of *all* the layer's parameters,
    ``layer.get_parameters()`` (for a Sequential, those of its layers).
    """

    def __init__(self, layer, values=()):
        super().__init__(values)
        self.layer = layer

    def __call__(self):
        return list(self.layer.get_parameters())


class Layer:
    """A piece of a model: ``forward(...)`` and a list of trainable ``parameters``.

    ``parameters`` serves two styles at once. The book's code treats it as a list attribute
    (``self.parameters = list()``, ``.append(p)``, ``+= other.get_parameters()``), and
    ``get_parameters()`` returns it; PyTorch-style code calls ``model.parameters()``. The
    attribute is a property whose setter turns any list assigned to it into a
    ``ParameterList`` -- a list that belongs to this layer and, when called, returns
    ``get_parameters()``. So both ``layer.parameters.append(p)`` and ``model.parameters()``
    work, and ``model.parameters() == model.get_parameters()`` for every layer, including a
    Sequential, whose own list stays empty while ``get_parameters()`` gathers its layers'.
    (The layer keeps the list it was given as a ``ParameterList`` copy: append to
    ``layer.parameters``, not to the plain list you assigned.)

    ``train()`` and ``eval()`` set ``training`` on the layer and every layer inside it;
    ``Dropout`` drops only while training.
    """

    training = True

    def __init__(self):
        self.parameters = []

    @property
    def parameters(self):
        if "_parameters" not in vars(self):  # a subclass that never called Layer.__init__
            self._parameters = ParameterList(self)
        return self._parameters

    @parameters.setter
    def parameters(self, values):
        if not (isinstance(values, ParameterList) and values.layer is self):  # += keeps it
            values = ParameterList(self, values)
        self._parameters = values

    def get_parameters(self):
        return self.parameters

    def train(self, mode=True):
        """Put this layer and every layer inside it in training mode (``mode=False``: eval)."""
        for layer in self.layers_within():
            layer.training = mode
        return self

    def eval(self):
        """Put this layer and every layer inside it in evaluation mode (no dropout)."""
        return self.train(False)

    def layers_within(self):
        """This layer and every Layer reachable through its attributes (and lists of them)."""
        found, stack = {}, [self]
        while stack:
            layer = stack.pop()
            if id(layer) in found:
                continue
            found[id(layer)] = layer
            for value in vars(layer).values():
                items = value if isinstance(value, (list, tuple)) else (value,)
                stack.extend(item for item in items if isinstance(item, Layer))
        return list(found.values())


class Linear(Layer):
    """input (batch, n_inputs) -> input.mm(weight) + bias: (batch, n_outputs).

    weight ~ randn(n_inputs, n_outputs) * sqrt(2 / n_inputs) (He), bias = zeros.
    """

    def __init__(self, n_inputs, n_outputs, bias=True, dtype=np.float64):
        super().__init__()
        self.use_bias = bias
        W = np.random.randn(n_inputs, n_outputs) * np.sqrt(2.0 / n_inputs)
        self.weight = Tensor(W.astype(dtype), autograd=True)
        self.parameters.append(self.weight)
        if bias:
            self.bias = Tensor(np.zeros(n_outputs, dtype=dtype), autograd=True)
            self.parameters.append(self.bias)

    def forward(self, input):
        """The book's ``input.mm(weight) + bias.expand(0, len(input))``, as one fused op."""
        return functional.linear(input, self.weight, self.bias if self.use_bias else None)


class Sequential(Layer):
    """Layers applied in order; its parameters are theirs, in order."""

    def __init__(self, layers=None):
        super().__init__()
        self.layers = [] if layers is None else layers  # the book's `layers=list()` was shared

    def add(self, layer):
        self.layers.append(layer)

    def forward(self, input):
        for layer in self.layers:
            input = layer.forward(input)
        return input

    def get_parameters(self):
        return [p for layer in self.layers for p in layer.get_parameters()]


class Tanh(Layer):
    def forward(self, input):
        return input.tanh()


class Sigmoid(Layer):
    def forward(self, input):
        return input.sigmoid()


class ReLU(Layer):
    def forward(self, input):
        return input.relu()


class Dropout(Layer):
    """Inverted dropout: while training, zero each input element with probability ``p`` and
    scale the rest by 1 / (1 - p), so the expected output is the input; in eval mode the input
    passes unchanged. Masks come from NumPy's global RNG unless an ``rng``
    (``np.random.Generator``) is given.
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p, self.rng = p, rng

    def forward(self, input):
        return functional.dropout(input, self.p, self.training, self.rng)


class Embedding(Layer):
    """indices (any shape, int) -> rows of weight: (*indices.shape, dim).

    weight ~ (rand(vocab_size, dim) - 0.5) / dim, the word2vec convention the book uses.
    """

    def __init__(self, vocab_size, dim, dtype=np.float64):
        super().__init__()
        self.vocab_size, self.dim = vocab_size, dim
        weight = (np.random.rand(vocab_size, dim) - 0.5) / dim
        self.weight = Tensor(weight.astype(dtype), autograd=True)
        self.parameters.append(self.weight)

    def forward(self, input):
        return self.weight.index_select(input)
