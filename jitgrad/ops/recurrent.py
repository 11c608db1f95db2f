"""One LSTM step as a single op: the book's LSTMCell.forward, ~25 ops, fused into one."""
import numpy as np

from kernels import recurrent as k

from .base import ACCUMULATED, Op, describe, float_dtype

GATES = 4  # forget, input, output, candidate


class LSTMCell(Op):
    """(x, h, c, wx_f, b_f, wx_i, b_i, wx_o, b_o, wx_c, b_c, wh_f, wh_i, wh_o, wh_c)
    -> state (2, batch, hidden): the new h and c, stacked.

    x (batch, inputs); h, c (batch, hidden); wx (inputs, hidden); b (hidden,); wh (hidden, hidden).
    """

    creation_op = "lstm_cell"
    accumulates = True

    def forward(self, x, h, c, *weights):
        self._check(x, h, c, weights)
        dtype = float_dtype("lstm_cell", x, h, c, *weights)
        self.x, self.h, self.c = (np.ascontiguousarray(a, dtype=dtype) for a in (x, h, c))
        weights = [np.ascontiguousarray(w, dtype=dtype) for w in weights]
        self.wx, self.bx, self.wh = tuple(weights[0:8:2]), tuple(weights[1:8:2]), tuple(weights[8:])
        self.state, self.gates = k.lstm_cell(self.x, self.h, self.c, self.wx, self.bx, self.wh)
        return self.state

    @staticmethod
    def _check(x, h, c, weights):
        batch, hidden = c.shape if c.ndim == 2 else (-1, -1)
        inputs = x.shape[1] if x.ndim == 2 else -1
        expected = [(inputs, hidden), (hidden,)] * GATES + [(hidden, hidden)] * GATES
        shapes_ok = (x.ndim == 2 and x.shape[0] == batch and h.shape == c.shape and c.ndim == 2
                     and [w.shape for w in weights] == expected)
        if not shapes_ok:
            raise ValueError(f"lstm_cell: input {describe(x)}, hidden {describe(h)}, cell "
                             f"{describe(c)} and weights {[describe(w) for w in weights]} do "
                             "not fit an LSTM step")

    def backward(self, grad, needs_grad, into):
        # weight gradients are added into the parameters' buffers, or into new zeroed ones
        buffers = [np.zeros_like(w) if buffer is None else buffer
                   for w, buffer in zip(self._weights(), into[3:])]
        dwx, dbx, dwh = tuple(buffers[0:8:2]), tuple(buffers[1:8:2]), tuple(buffers[8:])
        dx, dh, dc = k.lstm_cell_backward(np.ascontiguousarray(grad), self.x, self.h, self.c,
                                          self.state, self.gates, self.wx, self.wh, dwx, dbx, dwh)
        weight_grads = [ACCUMULATED if buffer is not None else new
                        for buffer, new in zip(into[3:], buffers)]
        return [dx, dh, dc] + weight_grads

    def _weights(self):
        """The weights in the op's input order: wx and b interleaved per gate, then wh."""
        return [w for pair in zip(self.wx, self.bx) for w in pair] + list(self.wh)
