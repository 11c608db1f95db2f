"""``jitgrad.nn.functional``, imported as F: the functional forms of the ops.

Every function an op module registers with ``functional=`` names (``jitgrad/ops/``: relu,
gelu, softmax, log_softmax, cross_entropy, mse_loss, linear, layer_norm, dropout, ...) is
exported here under those names; ``lstm_cell`` is defined here, as it reads a layer.

``F.linear`` takes the weight as (in, out), the layout of the book's ``Linear.weight``;
PyTorch's takes (out, in).
"""
from jitgrad.autograd.tensor import Tensor
from jitgrad.ops import recurrent
from jitgrad.ops.registry import functional_names

globals().update(functional_names())


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
