"""The book's door: the layers of Grokking Deep Learning (ch. 13-14) with the book's meanings.

``from jitgrad import Linear, Sequential, MSELoss, Embedding, RNNCell, LSTMCell, SGD`` gives
these: ``Linear``'s weight is (in, out) with the book's He initialisation, ``Sequential``
takes the book's list, ``MSELoss()`` sums over the batch, ``Embedding`` draws the book's
word2vec initialisation, and the recurrent cells have the book's signatures and attribute
names, so its chapter-13 and -14 scripts run as written, with its numbers. Where PyTorch
means something else by the same name, its version is in ``jitgrad.nn`` (docs/pytorch.md).
``CrossEntropyLoss`` keeps the book's classes-last for logits of 3 or more dims, and
``LayerNorm``/``BatchNorm1d`` default to jitgrad's parameter dtype (``nn``'s to float32).

Initialisers draw from NumPy's global RNG in the book's order, so seeded runs match the book.
``dtype`` sets the parameters' dtype after the draw; by default it is
``jitgrad.get_default_dtype()``, float64 as in the book unless changed.
"""
import numpy as np

from jitgrad.autograd.tensor import Tensor
from jitgrad.backend.dtypes import parameter_dtype
from jitgrad import functional
from jitgrad.nn.activation import Sigmoid, Tanh
from jitgrad.nn import normalization
from jitgrad.nn import loss
from jitgrad.nn.loss import ReducedLoss
from jitgrad.ops.softmax import cross_entropy_classes_last
from jitgrad.nn.module import Layer, UniqueList
from jitgrad.optim import SGD  # noqa: F401 -- the book's SGD(parameters, alpha), re-exported


class Linear(Layer):
    """input (batch, n_inputs) -> input.mm(weight) + bias: (batch, n_outputs).

    weight ~ randn(n_inputs, n_outputs) * sqrt(2 / n_inputs) (He), bias = zeros.
    """

    def __init__(self, n_inputs, n_outputs, bias=True, dtype=None):
        super().__init__()
        dtype = parameter_dtype(dtype)
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

    def extra_repr(self):
        n_inputs, n_outputs = self.weight.data.shape
        return f"in_features={n_inputs}, out_features={n_outputs}, bias={self.use_bias}"

class Sequential(Layer):
    """Layers applied in order; its parameters are theirs, in order.

    ``Sequential([a, b])`` (the book's) or ``Sequential(a, b)`` (PyTorch's).
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], list):
            layers = layers[0]  # the book's list, kept as given
        elif len(layers) == 1 and layers[0] is None:
            layers = []
        self.layers = layers if isinstance(layers, list) else list(layers)

    def add(self, layer):
        self.layers.append(layer)

    def forward(self, input):
        for layer in self.layers:
            input = layer.forward(input)
        return input

    def get_parameters(self):
        found = UniqueList()
        for layer in self.layers:
            found.extend(layer.get_parameters())
        return found.items

    def _entries(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

class Embedding(Layer):
    """indices (any shape, int) -> rows of weight: (*indices.shape, dim).

    weight ~ (rand(vocab_size, dim) - 0.5) / dim, the word2vec convention the book uses.
    """

    def __init__(self, vocab_size, dim, dtype=None):
        super().__init__()
        dtype = parameter_dtype(dtype)
        self.vocab_size, self.dim = vocab_size, dim
        weight = (np.random.rand(vocab_size, dim) - 0.5) / dim
        self.weight = Tensor(weight.astype(dtype), autograd=True)
        self.parameters.append(self.weight)

    def forward(self, input):
        return self.weight.index_select(input)

    def extra_repr(self):
        return f"{self.vocab_size}, {self.dim}"

class MSELoss(ReducedLoss):
    """Squared error. ``MSELoss()`` is the book's: summed over the batch (dim 0),
    (batch, n) -> (n,). With ``reduction`` 'mean' (PyTorch's default), 'sum' or 'none' it
    is ``F.mse_loss``."""

    def __init__(self, reduction=None):
        super().__init__(reduction)

    def forward(self, pred, target):
        if self.reduction is None:  # the book's ((pred - target) * (pred - target)).sum(0)
            return functional.squared_error(pred, target)
        return functional.mse_loss(pred, target, reduction=self.reduction)

ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh}

class RNNCell(Layer):
    """One step of an Elman RNN: (input (batch, n_inputs), hidden (batch, n_hidden))
    -> (output (batch, n_output), new hidden (batch, n_hidden))."""

    def __init__(self, n_inputs, n_hidden, n_output, activation="sigmoid", dtype=None):
        super().__init__()
        self.n_inputs, self.n_hidden, self.n_output = n_inputs, n_hidden, n_output
        if activation not in ACTIVATIONS:  # the book compared (==) instead of assigning 'tanh'
            raise ValueError(f"RNNCell: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.activation = ACTIVATIONS[activation]()
        self.dtype = dtype = parameter_dtype(dtype)
        self.w_ih = Linear(n_inputs, n_hidden, dtype=dtype)
        self.w_hh = Linear(n_hidden, n_hidden, dtype=dtype)
        self.w_ho = Linear(n_hidden, n_output, dtype=dtype)
        for layer in (self.w_ih, self.w_hh, self.w_ho):
            self.parameters += layer.get_parameters()

    def forward(self, input, hidden):
        from_prev_hidden = self.w_hh.forward(hidden)
        combined = self.w_ih.forward(input) + from_prev_hidden
        new_hidden = self.activation.forward(combined)
        output = self.w_ho.forward(new_hidden)
        return output, new_hidden

    def init_hidden(self, batch_size=1):
        return Tensor(np.zeros((batch_size, self.n_hidden), dtype=self.dtype), autograd=True)

    def extra_repr(self):
        return f"n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, n_output={self.n_output}"

class LSTMCell(Layer):
    """One LSTM step: (input (batch, n_inputs), (h, c) each (batch, n_hidden))
    -> (output (batch, n_output), (new h, new c)). Gates as in the book: forget f, input i,
    output o, candidate g; c = f * c_prev + i * g; h = o * tanh(c)."""

    def __init__(self, n_inputs, n_hidden, n_output, dtype=None):
        super().__init__()
        self.n_inputs, self.n_hidden, self.n_output = n_inputs, n_hidden, n_output
        self.dtype = dtype = parameter_dtype(dtype)
        self.xf = Linear(n_inputs, n_hidden, dtype=dtype)
        self.xi = Linear(n_inputs, n_hidden, dtype=dtype)
        self.xo = Linear(n_inputs, n_hidden, dtype=dtype)
        self.xc = Linear(n_inputs, n_hidden, dtype=dtype)
        self.hf = Linear(n_hidden, n_hidden, bias=False, dtype=dtype)
        self.hi = Linear(n_hidden, n_hidden, bias=False, dtype=dtype)
        self.ho = Linear(n_hidden, n_hidden, bias=False, dtype=dtype)
        self.hc = Linear(n_hidden, n_hidden, bias=False, dtype=dtype)
        self.w_ho = Linear(n_hidden, n_output, bias=False, dtype=dtype)
        for layer in (self.xf, self.xi, self.xo, self.xc, self.hf, self.hi, self.ho, self.hc,
                      self.w_ho):
            self.parameters += layer.get_parameters()

    def forward(self, input, hidden):
        """The book's gates, computed by one fused op:
        f = sigmoid(xf(x) + hf(h)), i = sigmoid(xi(x) + hi(h)), o = sigmoid(xo(x) + ho(h)),
        g = tanh(xc(x) + hc(h)); c' = f * c + i * g; h' = o * tanh(c'); output = w_ho(h')."""
        prev_hidden, prev_cell = hidden
        state = functional.lstm_cell(input, prev_hidden, prev_cell, self)
        h, c = state[0], state[1]
        return self.w_ho.forward(h), (h, c)

    def init_hidden(self, batch_size=1):
        """The book's initial state: zeros, except 1 in the first unit of both h and c."""
        state = np.zeros((batch_size, self.n_hidden), dtype=self.dtype)
        state[:, 0] = 1
        return Tensor(state, autograd=True), Tensor(state, autograd=True)

    def extra_repr(self):
        return f"n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, n_output={self.n_output}"

class LayerNorm(normalization.LayerNorm):
    """``nn.LayerNorm`` whose parameters default to ``jitgrad.get_default_dtype()`` (float64
    unless set), the dtype of the book's layers it is used with."""

    parameter_dtype = staticmethod(parameter_dtype)

class BatchNorm1d(normalization.BatchNorm1d):
    """``nn.BatchNorm1d`` whose parameters default to ``jitgrad.get_default_dtype()``."""

    parameter_dtype = staticmethod(parameter_dtype)

class CrossEntropyLoss(loss.CrossEntropyLoss):
    """The book's: softmax cross-entropy with the classes in the *last* dim of any shape of
    logits (the book's ``input.cross_entropy(target)``); ``nn.CrossEntropyLoss`` has them in
    dim 1, as PyTorch. The same for 2-D logits, with PyTorch's options."""

    def forward(self, input, target):  # noqa: A002
        return cross_entropy_classes_last(input, target, self.weight, self.ignore_index,
                                          self.reduction, self.label_smoothing)
