"""Fused ops that layers use in place of chains of the book's ops, with the same values."""
from . import ops
from .tensor import Tensor


def linear(x, weight, bias=None):
    """x.mm(weight) + bias.expand(0, len(x)) as one op: (n, k), (k, m), (m,) -> (n, m)."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._from_op(ops.Linear(), inputs)


def squared_error(pred, target):
    """((pred - target) * (pred - target)).sum(0) as one op: (n, ...), (n, ...) -> (...)."""
    return Tensor._from_op(ops.SquaredError(), (pred, target))


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
