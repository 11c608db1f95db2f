"""``jitgrad.functional``, imported as F: the functional forms of the ops.

Every function an op module registers with ``functional=`` names (``jitgrad/ops/``: relu,
gelu, softmax, log_softmax, cross_entropy, mse_loss, linear, layer_norm, dropout, ...) is
exported here under those names; ``lstm_cell`` is defined here, as it reads a layer.

``F.linear`` takes the weight as (in, out), the layout of the book's ``Linear.weight``;
PyTorch's takes (out, in).
"""
from . import ops
from .ops.registry import functional_names
from .tensor import Tensor

globals().update(functional_names())


def lstm_cell(x, h, c, cell):
    """One step of the book's LSTMCell as one op: (x, h, c) -> state (2, batch, hidden).

    ``cell`` provides the gate layers ``xf xi xo xc`` (with bias) and ``hf hi ho hc``.
    state[0] is the new h and state[1] the new c.
    """
    weights = [t for gate in (cell.xf, cell.xi, cell.xo, cell.xc) for t in (gate.weight, gate.bias)]
    weights += [gate.weight for gate in (cell.hf, cell.hi, cell.ho, cell.hc)]
    return Tensor._from_op(ops.LSTMCell(_window_before(h, weights)), (x, h, c, *weights))


def _window_before(h, weights):
    """The ``ops.LSTMCell`` window of the step whose new hidden state ``h`` is (``state[0]``),
    if that step ran on the same weight tensors and is still in the graph; else None."""
    state = h.creators[0] if h.creation_op == "select" else None
    step = getattr(state, "_op", None)
    if isinstance(step, ops.LSTMCell) and all(
            mine is theirs for mine, theirs in zip(weights, state.creators[3:])):
        return step.window
    return None
