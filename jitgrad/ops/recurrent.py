"""One LSTM step as a single op: the book's LSTMCell.forward, ~25 ops, fused into one.

The steps of one unrolled sequence share a ``Window``. Each step's backward leaves its share
of the weights' gradients there, and the window's first step adds them all up at once: its
backward runs after every other step's, since they all depend on it. One product of
steps * batch rows per weight runs about twice as fast as one product of batch rows per step
and weight (16 rows in the book's char-LSTM), and it reads and writes each weight's gradient
once per window instead of once per step.
"""
import numpy as np

from jitgrad.backend.dtypes import describe, float_dtype
from jitgrad.backend.gemm import ensure_chosen, transposed_faster
from jitgrad.ops.base import ACCUMULATED, DEFERRED, Op
from kernels import recurrent as k

GATES = 4  # forget, input, output, candidate
WEIGHTS = 3 * GATES  # wx and b per gate, then wh per gate


class Window:
    """The steps of one unrolled sequence on the same weights, in one dtype: what their
    weights' gradients are made of, kept until the first step's backward sums them.

    The whole mechanism is here: ``window_before`` decides which window a new step joins,
    each later step's backward ``keep``s its share and owes it (DEFERRED), and the first
    step's backward delivers every share at once; autograd asks ``LSTMStep.undelivered``
    at the end of the pass, so a share can never be lost silently.
    """

    def __init__(self, dtype, weights):
        self.dtype, self.weights = dtype, weights
        self.steps, self.x, self.h, self.d_pre = [], [], [], []
        self.owed = 0  # steps whose weight gradients were deferred and not yet delivered
        # While a compiled step's replay batches the steps' input products
        # (jitgrad/input_batching.py): x @ wx[g] for all of them, and each step's share
        # of the inputs' gradient, made by the first step, until the replay delivers it.
        self.projected, self.input_grads = None, {}

    def keep(self, step, x, h, d_pre):
        """One step's x (batch, inputs), h (batch, hidden) and d_pre (4, batch, hidden)."""
        self.steps.append(step)
        self.x.append(x)
        self.h.append(h)
        self.d_pre.append(d_pre)

    def project(self, xs, wx):
        """x @ wx[g] for the steps' inputs ``xs`` (in step order), one product per gate."""
        self.projected = k.lstm_input_products(np.concatenate(xs), tuple(wx))

    def take(self):
        """(the kept steps, in the order kept; their x, h and d_pre, each stacked along the
        rows); the window is then empty and owes nothing."""
        steps, share = self.steps, (np.concatenate(self.x), np.concatenate(self.h),
                                    np.concatenate(self.d_pre, axis=1))
        self.steps, self.x, self.h, self.d_pre, self.owed = [], [], [], [], 0
        return steps, share

    def share_input_grads(self, steps, d_pre, wx):
        """Make the inputs' gradient of the ``steps`` (as ``take`` returns them) in one
        product per gate, and keep each step's rows for the replay to deliver."""
        grads, start = k.lstm_input_grads(d_pre, wx), 0
        for step in steps:
            rows = step.x.shape[0]
            self.input_grads[step] = grads[start:start + rows]
            start += rows


def window_before(h, weights):
    """The window of the step whose new hidden state ``h`` is (``state[0]``, a select of the
    step's output), if that step ran on the same weight tensors and its graph is still there
    to back-propagate; else None (the new step starts a window)."""
    state = h.creators[0] if h.creation_op == "select" else None
    step = getattr(state, "_op", None)
    if isinstance(step, LSTMStep) and len(weights) == len(step.window.weights) and all(
            mine is theirs for mine, theirs in zip(weights, step.window.weights)):
        return step.window
    return None


class LSTMStep(Op):
    """(x, h, c, wx_f, b_f, wx_i, b_i, wx_o, b_o, wx_c, b_c, wh_f, wh_i, wh_o, wh_c)
    -> state (2, batch, hidden): the new h and c, stacked.

    x (batch, inputs); h, c (batch, hidden); wx (inputs, hidden); b (hidden,); wh (hidden, hidden).
    ``window`` is the previous step's, when h comes from it and the weights are the same
    tensors; the step joins it if it also computes in the same dtype, else starts its own.
    """

    creation_op = "lstm_cell"
    accumulates = True
    scaled_grad_inputs = tuple(range(3, 3 + WEIGHTS))
    scaled_grads_together = True  # one product per weight for the whole window

    def __init__(self, window=None, weights=()):
        """``window``: the previous step's (``window_before``); ``weights``: the weight
        Tensors, by which a later step recognises the same cell."""
        self.window, self.weight_tensors = window, tuple(weights)
        self.first = False  # whether this step starts its window; set by its first forward
        self.share = None  # the window's (x, h, d_pre) kept for add_scaled_grads
        # set by a compiled step's replay that batches the window's input products
        # (jitgrad/input_batching.py): this step's rows of ``window.projected``, and whether
        # the window's first step makes its input's gradient
        self.rows, self.batched_input_grad = None, False

    def forward(self, x, h, c, *weights):
        self._check(x, h, c, weights)
        dtype = float_dtype("lstm_cell", x, h, c, *weights)
        ensure_chosen()
        self.x, self.h, self.c = (np.ascontiguousarray(a, dtype=dtype) for a in (x, h, c))
        weights = [np.ascontiguousarray(w, dtype=dtype) for w in weights]
        self.wx, self.bx, self.wh = by_kind(weights)
        # h @ wh[g] forward and d_pre[g] @ wh[g].T backward, as their transposes where faster
        batch, hidden = self.c.shape
        self.transposed = [transposed_faster(batch, hidden, hidden, backward, dtype)
                           for backward in (False, True)]
        if self.rows is None:
            self.state, self.gates = k.lstm_cell(self.x, self.h, self.c, self.wx, self.bx,
                                                 self.wh, self.transposed[0])
        else:
            self.state, self.gates = k.lstm_cell_projected(*self._projected(), self.h, self.c,
                                                           self.bx, self.wh, self.transposed[0])
        if self.window is None or self.window.dtype != dtype:
            # decided once: a replayed forward (jitgrad.compile) keeps the step's place
            self.window, self.first = Window(dtype, self.weight_tensors), True
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

    def _projected(self):
        """(the window's batched products x @ wx[g], the row where this step's start)."""
        projected = self.window.projected
        if projected.shape[1] < self.rows.stop or projected.shape[2] != self.c.shape[1] \
                or self.rows.stop - self.rows.start != self.c.shape[0]:
            raise RuntimeError(f"lstm_cell: rows {self.rows.start} to {self.rows.stop} of the "
                               f"batched input products {describe(projected)} do not fit the "
                               f"step's state {describe(self.c)}")
        return projected, self.rows.start

    def backward(self, grad, needs_grad, into):
        batched = self.batched_input_grad
        d_pre, dx, dh, dc = k.lstm_cell_backward(np.ascontiguousarray(grad), self.c, self.state,
                                                 self.gates, self.wx, self.wh,
                                                 needs_grad[0] and not batched, self.transposed[1])
        self.window.keep(self, self.x, self.h, d_pre)
        if not self.first:
            self.window.owed += 1
            return [DEFERRED if batched else dx, dh, dc] + [DEFERRED] * WEIGHTS
        steps, share = self.window.take()
        if batched:
            self.window.share_input_grads(steps, share[2], self.wx)
            dx = self.window.input_grads.pop(self)
        if any(needs_grad[3:]):
            return [dx, dh, dc] + self._weight_grads(share, into[3:])
        # no weight wants a gradient now: the window's share waits for add_scaled_grads (a
        # compiled step's fused SGD), replaced by the next pass's if nothing asks for it
        self.share = share
        return [dx, dh, dc] + [None] * WEIGHTS

    def _weight_grads(self, share, into):
        """The window's gradients for the weights (in the op's input order) from its
        ``share`` (x, h, d_pre), added into the ``into`` buffers where given (ACCUMULATED)
        or returned as new arrays."""
        buffers = [np.zeros_like(w) if buffer is None else buffer
                   for w, buffer in zip(self._weights(), into)]
        k.lstm_weight_grads(*share, *by_kind(buffers))
        return [ACCUMULATED if buffer is not None else new for buffer, new in zip(into, buffers)]

    def grad_delivery(self):
        return self.window, self.first

    def add_scaled_grads(self, grad, targets):
        indices, outs, scales = zip(*targets)
        if indices != self.scaled_grad_inputs or len(set(scales)) != 1:
            raise RuntimeError("lstm_cell: the weights' fused update takes all of them at once, "
                               f"with one scale; got inputs {indices}")
        k.lstm_weight_grads_scaled_into(*self.share, *by_kind(outs), scales[0])
        self.share = None

    def undelivered(self):
        if self.window.owed:
            return (f"lstm_cell: the weight gradients of {self.window.owed} unrolled step(s), "
                    "owed by their sequence's first step, which this pass did not reach")
        if self.window.input_grads:
            return (f"lstm_cell: the input gradients of {len(self.window.input_grads)} "
                    "unrolled step(s), which the replay did not deliver")
        return None

    def _weights(self):
        """The weights in the op's input order: wx and b interleaved per gate, then wh."""
        return [w for pair in zip(self.wx, self.bx) for w in pair] + list(self.wh)


def by_kind(weights):
    """(wx, bx, wh), four each, from the 12 weights (or their gradients) in the op's input order."""
    return tuple(weights[0:8:2]), tuple(weights[1:8:2]), tuple(weights[8:])
