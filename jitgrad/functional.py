"""``jitgrad.functional``: the functional forms as jitgrad had them before PyTorch's door, with
the book's layout where PyTorch's differs.

Everything ``jitgrad.nn.functional`` gets from the op registry (relu, softmax, cross_entropy,
mse_loss, ...), except ``linear(x, weight, bias)``, whose weight is (in, out) as in the
book's ``Linear.weight`` (``x.mm(weight) + bias``; PyTorch's ``F.linear`` takes (out, in)),
and ``lstm_cell``, one step of the book's ``LSTMCell`` as one op.
"""
from jitgrad.autograd.tensor import Tensor
from jitgrad.ops import recurrent
from jitgrad.ops.matmul import linear  # noqa: F401 -- the (in, out) weight
from jitgrad.ops.registry import functional_names

globals().update({name: f for name, f in functional_names().items() if name != "linear"})


def lstm_cell(x, h, c, cell):
    """One step of the book's LSTMCell as one op: (x, h, c) -> state (2, batch, hidden).

    ``cell`` provides the gate layers ``xf xi xo xc`` (with bias) and ``hf hi ho hc``.
    state[0] is the new h and state[1] the new c. Steps of one unrolled sequence share a
    window (``jitgrad.ops.recurrent.Window``).
    """
    weights = [t for gate in (cell.xf, cell.xi, cell.xo, cell.xc) for t in (gate.weight, gate.bias)]
    weights += [gate.weight for gate in (cell.hf, cell.hi, cell.ho, cell.hc)]
    step = recurrent.LSTMStep(recurrent.window_before(h, weights), weights)
    return Tensor._from_op(step, (x, h, c, *weights))
