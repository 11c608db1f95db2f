"""The book's recurrent cells, with its attribute names, so its chapter-14 scripts run as-is."""
import numpy as np

from . import functional
from .dtypes import parameter_dtype
from .layers import Layer, Linear, Sigmoid, Tanh
from .tensor import Tensor

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
