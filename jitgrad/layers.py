"""The book's layers: Layer, Linear, Sequential, Tanh, Sigmoid, Embedding.

Initialisers draw from NumPy's global RNG in the book's order, so seeded runs match the book.
``dtype`` (default float64, as the book) sets the parameters' dtype after the draw.
"""
import numpy as np

from . import functional
from .tensor import Tensor


class Layer:
    """A piece of a model: ``forward(...)`` and a list of trainable ``parameters``."""

    def __init__(self):
        self.parameters = []

    def get_parameters(self):
        return self.parameters


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
