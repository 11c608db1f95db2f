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
    return Tensor._from_op(ops.LSTMCell(), (x, h, c, *weights))
