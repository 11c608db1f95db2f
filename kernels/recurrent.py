"""One LSTM step as kernels (the book builds it from ~25 ops): the forward, the backward to
the step's inputs, and the weights' gradients, which take the rows of many steps at once.

Gates are stored gate-major, (4, batch, hidden) in the book's order forget, input, output,
candidate (``xf hf``, ``xi hi``, ``xo ho``, ``xc hc``), so each gate is a C-contiguous matrix
that BLAS reads and writes in place. Weights come as tuples of four: wx[g] (inputs, hidden),
bx[g] (hidden,), wh[g] (hidden, hidden).
"""
import numpy as np
from numba.extending import register_jitable

from . import vmath
from .blas import gemm
from .jit import kernel
from .matmul import column_sums_into, column_sums_scaled_into, product


@kernel
def lstm_cell(x, h, c, wx, bx, wh, transposed):
    """x (batch, inputs), h and c (batch, hidden) -> (state, gates).

    state (2, batch, hidden) holds the new h and c; gates (4, batch, hidden) the activated
    f, i, o, g that the backward needs. c' = f * c + i * g and h' = o * tanh(c').
    ``transposed``: compute h @ wh[g] as its transpose (``product``).
    """
    return _recurrent_step(_input_products(x, wx), h, c, bx, wh, transposed)


@kernel
def lstm_cell_projected(projected, start, h, c, bx, wh, transposed):
    """``lstm_cell`` given its input products x @ wx[g]: rows start to start + batch of
    ``projected`` (4, rows, hidden), ``lstm_input_products``' for a whole window."""
    batch, hidden = c.shape
    gates = np.empty((4, batch, hidden), dtype=c.dtype)
    for g in range(4):
        gates[g] = projected[g, start:start + batch]
    return _recurrent_step(gates, h, c, bx, wh, transposed)


@register_jitable
def _recurrent_step(gates, h, c, bx, wh, transposed):
    """Add h @ wh[g] to gates (4, batch, hidden), which hold x @ wx[g], and activate them:
    ``lstm_cell``'s (state, gates). The product is made apart and then added (not added in
    by BLAS), so that both orientations give the same numbers."""
    batch, hidden = c.shape
    for g in range(4):
        gates[g] += product(h, wh[g], transposed)
    state = np.empty((2, batch, hidden), dtype=c.dtype)
    for b in range(batch):
        for j in range(hidden):
            f = vmath.sigmoid(gates[0, b, j] + bx[0][j])
            i = vmath.sigmoid(gates[1, b, j] + bx[1][j])
            o = vmath.sigmoid(gates[2, b, j] + bx[2][j])
            candidate = vmath.tanh(gates[3, b, j] + bx[3][j])
            gates[0, b, j], gates[1, b, j], gates[2, b, j], gates[3, b, j] = f, i, o, candidate
            state[1, b, j] = f * c[b, j] + i * candidate
            state[0, b, j] = o * vmath.tanh(state[1, b, j])
    return state, gates


@kernel
def lstm_input_products(x, wx):
    """x @ wx[g] for each gate: x (rows, inputs) -> (4, rows, hidden). With the rows of all
    of a window's steps, one product per gate instead of one per gate and step."""
    return _input_products(x, wx)


@register_jitable
def _input_products(x, wx):
    products = np.empty((4, x.shape[0], wx[0].shape[1]), dtype=x.dtype)
    for g in range(4):
        gemm(x, wx[g], products[g], 1.0, 0.0)
    return products


@kernel
def lstm_cell_backward(grad, c, state, gates, wx, wh, input_grad, transposed):
    """Gradients of one step, given grad (2, batch, hidden) for the new (h, c).

    Returns (d_pre (4, batch, hidden), the gradients of the gates before their activations,
    which ``lstm_weight_grads`` turns into the weights' gradients; dx (batch, inputs), dh and
    dc (batch, hidden) for the step's inputs). dx is left zero unless ``input_grad``
    (``lstm_input_grads`` makes it for a whole window at once). ``transposed``: compute
    d_pre[g] @ wh[g].T as its transpose (``product``).
    """
    batch, hidden = c.shape
    d_pre = np.empty((4, batch, hidden), dtype=c.dtype)
    dc = np.empty((batch, hidden), dtype=c.dtype)
    for b in range(batch):
        for j in range(hidden):
            f, i, o, candidate = gates[0, b, j], gates[1, b, j], gates[2, b, j], gates[3, b, j]
            tanh_c = vmath.tanh(state[1, b, j])
            dh_new = grad[0, b, j]
            dc_new = grad[1, b, j] + dh_new * o * (1.0 - tanh_c * tanh_c)
            dc[b, j] = dc_new * f
            d_pre[0, b, j] = dc_new * c[b, j] * f * (1.0 - f)
            d_pre[1, b, j] = dc_new * candidate * i * (1.0 - i)
            d_pre[2, b, j] = dh_new * tanh_c * o * (1.0 - o)
            d_pre[3, b, j] = dc_new * i * (1.0 - candidate * candidate)
    dx = np.zeros((batch, wx[0].shape[0]), dtype=c.dtype)
    if input_grad:
        _input_grads_into(d_pre, wx, dx)
    dh = np.zeros((batch, hidden), dtype=c.dtype)
    for g in range(4):
        dh += product(d_pre[g], wh[g].T, transposed)
    return d_pre, dx, dh, dc


@kernel
def lstm_input_grads(d_pre, wx):
    """The inputs' gradients, sum over g of d_pre[g] @ wx[g].T: d_pre (4, rows, hidden) ->
    (rows, inputs), for any number of steps' rows at once."""
    dx = np.zeros((d_pre.shape[1], wx[0].shape[0]), dtype=d_pre.dtype)
    _input_grads_into(d_pre, wx, dx)
    return dx


@register_jitable
def _input_grads_into(d_pre, wx, dx):
    for g in range(4):
        gemm(d_pre[g], wx[g].T, dx, 1.0, 1.0)


@kernel
def lstm_weight_grads(x, h, d_pre, dwx, dbx, dwh):
    """Add the weights' gradients of any number of steps into dwx, dbx, dwh (tuples of four,
    shaped like wx, bx, wh), one product per weight for all the steps at once.

    x (rows, inputs), h (rows, hidden) and d_pre (4, rows, hidden) are the steps' inputs,
    previous hidden states and ``lstm_cell_backward``'s d_pre, stacked along the rows.
    """
    _weight_products(x, h, d_pre, dwx, dwh, 1.0)
    for g in range(4):
        column_sums_into(d_pre[g], dbx[g])


@kernel
def lstm_weight_grads_scaled_into(x, h, d_pre, wx, bx, wh, scale):
    """Add ``scale`` times the weights' gradients (``lstm_weight_grads``'s) into the weights
    themselves: a compiled step's plain SGD update (scale = -lr), the gradients never written
    out. The biases' column sums are rounded first, as ``column_sums`` gives them."""
    _weight_products(x, h, d_pre, wx, wh, scale)
    for g in range(4):
        column_sums_scaled_into(d_pre[g], bx[g], scale)


@register_jitable
def _weight_products(x, h, d_pre, wx, wh, scale):
    """wx[g] += scale * x.T @ d_pre[g] and wh[g] += scale * h.T @ d_pre[g], for each gate g."""
    for g in range(4):
        gemm(x.T, d_pre[g], wx[g], scale, 1.0)
        gemm(h.T, d_pre[g], wh[g], scale, 1.0)
