"""PyTorch's recurrent layers: RNNCell, LSTMCell, GRUCell (one step, ``(input, hx)``) and
RNN, LSTM, GRU (a whole sequence, ``num_layers``, ``batch_first``).

PyTorch's parameter layout and names: ``weight_ih`` (gates * hidden, input), ``weight_hh``
(gates * hidden, hidden), ``bias_ih``, ``bias_hh`` (gates * hidden,), the gates stacked in
PyTorch's order (LSTM: input, forget, cell, output; GRU: reset, update, new), all drawn
from U(-1/sqrt(hidden), 1/sqrt(hidden)); the sequence layers name them ``weight_ih_l0``, ...
A cell's step is built from ``F.linear`` and elementwise ops; ``RNN`` and ``GRU`` compute
every step's input products of a layer in one product; ``LSTM`` runs each step as the book's
one-op LSTM step (``jitgrad.ops.recurrent``) on views of its weights. (The book's ``jitgrad.RNNCell`` and
``jitgrad.LSTMCell``, with its one-op LSTM step, keep the book's signatures.)
"""
import math

import numpy as np

from jitgrad.autograd.tensor import Tensor
from jitgrad.backend.dtypes import pytorch_parameter_dtype
from jitgrad.nn import functional
from jitgrad.nn.module import Layer
from jitgrad.nn.parameter import uniform_parameter
from jitgrad.ops import recurrent
from jitgrad.ops.joining import stack

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def rnn_step(mode, x_part, h, c, weight_hh, bias_hh):
    """One step given ``x_part`` = input @ weight_ih.T + bias_ih, (batch, gates * hidden):
    the new h (RNN, GRU) or (h, c) (LSTM)."""
    h_part = functional.linear(h, weight_hh, bias_hh)
    hidden = h.shape[-1]
    if mode == "LSTM":
        gates = x_part + h_part
        i, f = gates[:, :hidden].sigmoid(), gates[:, hidden:2 * hidden].sigmoid()
        g, o = gates[:, 2 * hidden:3 * hidden].tanh(), gates[:, 3 * hidden:].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c
    if mode == "GRU":
        r = (x_part[:, :hidden] + h_part[:, :hidden]).sigmoid()
        z = (x_part[:, hidden:2 * hidden] + h_part[:, hidden:2 * hidden]).sigmoid()
        n = (x_part[:, 2 * hidden:] + r * h_part[:, 2 * hidden:]).tanh()
        return n + z * (h - n)  # (1 - z) * n + z * h
    pre = x_part + h_part
    return pre.tanh() if mode == "RNN_TANH" else pre.relu()


#: The book's LSTM step op takes its gates as forget, input, output, candidate: PyTorch's
#: gates 1, 0, 3 and 2 (input, forget, cell, output).
BOOK_GATES = (1, 0, 3, 2)


def book_step_weights(weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's packed LSTM weights as the book's one-op step takes them: per gate, wx
    (in, hidden) and b (hidden,) (bias_ih + bias_hh), then wh (hidden, hidden) per gate.
    Made once per sequence (slices and transposes, differentiable), so every step of it
    shares them, and the steps' weight gradients are summed once (``recurrent.Window``)."""
    hidden = weight_hh.shape[1]
    rows = [slice(g * hidden, (g + 1) * hidden) for g in BOOK_GATES]
    weights = []
    for r in rows:
        bias = (Tensor(np.zeros(hidden, weight_ih.dtype)) if bias_ih is None
                else bias_ih[r] + bias_hh[r])
        weights += [weight_ih[r].T, bias]
    return weights + [weight_hh[r].T for r in rows]


def lstm_book_step(x, h, c, weights):
    """One LSTM step as the one op of ``jitgrad.ops.recurrent``: (new h, new c)."""
    step = recurrent.LSTMStep(recurrent.window_before(h, weights), weights)
    state = Tensor._from_op(step, (x, h, c, *weights))
    return state[0], state[1]


class RNNCellBase(Layer):
    """The parameters of one step and their checks."""

    mode = None

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = pytorch_parameter_dtype(dtype)
        bound, rows = 1 / math.sqrt(hidden_size), GATES[self.mode] * hidden_size
        self.weight_ih = uniform_parameter((rows, input_size), bound, dtype)
        self.weight_hh = uniform_parameter((rows, hidden_size), bound, dtype)
        self.bias_ih = uniform_parameter(rows, bound, dtype) if bias else None
        self.bias_hh = uniform_parameter(rows, bound, dtype) if bias else None

    def _batched(self, input, hx):  # noqa: A002
        """(input (batch, input_size), hx or zeros, whether the input had no batch dim)."""
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input of shape {tuple(input.shape)} should be "
                             f"(batch, {self.input_size}) or ({self.input_size},)")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = lambda: Tensor(np.zeros((input.shape[0], self.hidden_size),
                                            self.weight_ih.dtype))
            return input, ((zeros(), zeros()) if self.mode == "LSTM" else zeros()), unbatched
        states = tuple(hx) if self.mode == "LSTM" else (hx,)
        expected = (self.hidden_size,) if unbatched else (input.shape[0], self.hidden_size)
        for state in states:
            if tuple(state.shape) != expected:
                raise ValueError(f"{name}: hidden state of shape {tuple(state.shape)} should "
                                 f"be {expected}")
        if unbatched:
            states = tuple(state.unsqueeze(0) for state in states)
        return input, (states if self.mode == "LSTM" else states[0]), unbatched

    def forward(self, input, hx=None):  # noqa: A002
        input, hx, unbatched = self._batched(input, hx)
        x_part = functional.linear(input, self.weight_ih, self.bias_ih)
        h, c = hx if self.mode == "LSTM" else (hx, None)
        out = rnn_step(self.mode, x_part, h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            return tuple(t.squeeze(0) for t in out) if isinstance(out, tuple) else out.squeeze(0)
        return out

    def extra_repr(self):
        bias = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{bias}"


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu): ``cell(input, hx=None)``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, device, dtype)


class LSTMCell(RNNCellBase):
    """``cell(input, (h, c)=None) -> (h', c')``; gates i, f, g, o stacked in that order."""

    mode = "LSTM"


class GRUCell(RNNCellBase):
    """``cell(input, h=None) -> h'``; gates r, z, n stacked in that order."""

    mode = "GRU"


class RNNBase(Layer):
    """A sequence layer: ``num_layers`` stacked, each layer's output the next one's input."""

    mode = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if bidirectional:
            raise NotImplementedError(f"{name}: bidirectional=True is not implemented; run "
                                      "two layers, one on the reversed sequence")
        if not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = False
        dtype = pytorch_parameter_dtype(dtype)
        bound, rows = 1 / math.sqrt(hidden_size), GATES[self.mode] * hidden_size
        for layer in range(num_layers):  # PyTorch's order: w_ih, w_hh, b_ih, b_hh per layer
            inputs = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_ih_l{layer}", uniform_parameter((rows, inputs), bound, dtype))
            setattr(self, f"weight_hh_l{layer}", uniform_parameter((rows, hidden_size), bound, dtype))
            if bias:
                setattr(self, f"bias_ih_l{layer}", uniform_parameter(rows, bound, dtype))
                setattr(self, f"bias_hh_l{layer}", uniform_parameter(rows, bound, dtype))

    def _weights(self, layer):
        get = lambda name: getattr(self, f"{name}_l{layer}", None)
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def forward(self, input, hx=None):  # noqa: A002
        """input (seq, batch, input_size) (``batch_first``: (batch, seq, input_size), or
        unbatched (seq, input_size)) -> (output (seq, batch, hidden) as the input's layout,
        h_n (num_layers, batch, hidden)); an LSTM's second result is (h_n, c_n)."""
        name = type(self).__name__
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input of shape {tuple(input.shape)} should end in "
                             f"input_size {self.input_size} and have 2 or 3 dims")
        unbatched = input.ndim == 2
        if unbatched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        steps, batch = input.shape[0], input.shape[1]
        h0, c0 = self._initial_state(hx, batch, unbatched)
        last_h, last_c = [], []
        for layer in range(self.num_layers):
            h, c, outputs = h0[layer], (c0[layer] if c0 is not None else None), []
            if self.mode == "LSTM":  # the book's one-op step, on views of the weights
                weights = book_step_weights(*self._weights(layer))
                for t in range(steps):
                    h, c = lstm_book_step(input[t], h, c, weights)
                    outputs.append(h)
            else:
                w_ih, w_hh, b_ih, b_hh = self._weights(layer)
                x_parts = functional.linear(input, w_ih, b_ih)  # every step's at once
                for t in range(steps):
                    h = rnn_step(self.mode, x_parts[t], h, c, w_hh, b_hh)
                    outputs.append(h)
            input = stack(outputs, 0)
            last_h.append(h)
            last_c.append(c)
            if self.dropout and self.training and layer < self.num_layers - 1:
                input = functional.dropout(input, self.dropout, True)
        h_n = stack(last_h, 0)
        c_n = stack(last_c, 0) if self.mode == "LSTM" else None
        if unbatched:
            input, h_n = input.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            input = input.transpose(0, 1)
        return input, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _initial_state(self, hx, batch, unbatched):
        """(h0, c0) as lists of (batch, hidden) Tensors per layer (c0 None but for LSTM)."""
        name = type(self).__name__
        dtype = self.weight_ih_l0.dtype
        zeros = lambda: Tensor(np.zeros((self.num_layers, batch, self.hidden_size), dtype))
        if hx is None:
            states = (zeros(), zeros()) if self.mode == "LSTM" else (zeros(),)
        else:
            states = tuple(hx) if self.mode == "LSTM" else (hx,)
            if unbatched:
                states = tuple(s.unsqueeze(1) for s in states)
        expected = (self.num_layers, batch, self.hidden_size)
        for state in states:
            if tuple(state.shape) != expected:
                raise ValueError(f"{name}: hidden state of shape {tuple(state.shape)} should be "
                                 f"{expected}")
        per_layer = [[state[layer] for layer in range(self.num_layers)] for state in states]
        return per_layer[0], (per_layer[1] if self.mode == "LSTM" else None)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text


class RNN(RNNBase):
    """An Elman RNN over a sequence, tanh (default) or relu."""

    def __init__(self, *args, nonlinearity="tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(*args, **kwargs)


class LSTM(RNNBase):
    """An LSTM over a sequence: ``lstm(input, (h0, c0)=None) -> (output, (h_n, c_n))``."""

    mode = "LSTM"


class GRU(RNNBase):
    """A GRU over a sequence: ``gru(input, h0=None) -> (output, h_n)``."""

    mode = "GRU"
