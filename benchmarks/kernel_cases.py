"""Each kernel in ``kernels/`` beside the plain NumPy expression for the same result: the cases
that ``tests/kernels/test_kernels.py`` checks for equal results and ``benchmarks/test_kernels.py`` times.

The kernels are jitgrad's internals and may be renamed or reshaped while jitgrad is optimized:
a kernel that no longer exists is skipped.
Sizes are a hidden layer's activations (128 x 512), a 512 x 512 weight, a character
vocabulary of 62, and for the LSTM step the char-LSTM's batch of 16 with 512 inputs and hidden. NumPy's ``@`` runs on NumPy's own BLAS, not the SciPy BLAS jitgrad uses.
"""
import importlib
from dataclasses import dataclass

import numpy as np

ROWS, WIDTH, VOCAB, LSTM_BATCH = 128, 512, 62, 16


@dataclass(frozen=True)
class KernelCase:
    """``kernels.<module>.<name>(*args)`` against ``numpy_fn(*args)``; ``make_args(rng,
    dtype)`` gives the arguments."""

    module: str
    name: str
    make_args: object
    numpy_fn: object

    def kernel(self):
        return getattr(importlib.import_module(f"kernels.{self.module}"), self.name, None)


FLAT, MATRIX, WEIGHT, TABLE = (ROWS * WIDTH,), (ROWS, WIDTH), (WIDTH, WIDTH), (VOCAB, WIDTH)


def _normal(*shapes):
    """make_args: standard normal arrays of ``shapes``."""
    return lambda rng, dtype: tuple(rng.standard_normal(shape).astype(dtype) for shape in shapes)


def _grad_and_output(squash, shape):
    """make_args: (gradient, squash(x)), as the backward kernels of activations take them."""
    return lambda rng, dtype: (rng.standard_normal(shape).astype(dtype),
                               squash(rng.standard_normal(shape).astype(dtype)))


def _expand_args(rng, dtype):
    return _normal((1, WIDTH))(rng, dtype) + (ROWS,)


def _logits_and_targets(rng, dtype):
    return _normal(MATRIX)(rng, dtype) + (rng.integers(0, WIDTH, ROWS),)


def _probs_targets_grad(rng, dtype):
    return (_softmax(_normal(MATRIX)(rng, dtype)[0]), rng.integers(0, WIDTH, ROWS), 1.0)


def _bytes(rng, dtype):
    """An array's bytes: 65,537 values, so float32's end 4 bytes past the last 8-byte word."""
    return (rng.standard_normal(FLAT[0] + 1).astype(dtype).view(np.uint8),)


def _fingerprint(data):
    """kernels.fingerprint's sum in NumPy's wrapping uint64 arithmetic."""
    from kernels.fingerprint import MIX, STEP
    words = data.size // 8
    values = np.concatenate([data[:words * 8].view(np.uint64), data[words * 8:]])
    positions = np.concatenate([np.arange(words), np.arange(words * 8, data.size)])
    with np.errstate(over="ignore"):
        x = values + positions.astype(np.uint64) * STEP
        x ^= x >> np.uint64(31)
        x *= MIX
        x ^= x >> np.uint64(29)
        return x.sum(dtype=np.uint64)


def _table_and_indices(rng, dtype):
    return _normal(TABLE)(rng, dtype) + (rng.integers(0, VOCAB, ROWS),)


def _grad_indices_rows(rng, dtype):
    return _normal(MATRIX)(rng, dtype) + (rng.integers(0, VOCAB, ROWS), VOCAB)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    exp = np.exp(x - x.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _cross_entropy(logits, targets):
    probs = _softmax(logits)
    loss = -np.log(probs[np.arange(len(targets)), targets]).mean()
    return loss, probs


def _cross_entropy_backward(probs, targets, grad):
    out = probs.copy()
    out[np.arange(len(targets)), targets] -= 1
    out *= grad / len(targets)
    return out


def _scatter_add(grad, indices, rows):
    out = np.zeros((rows, grad.shape[1]), dtype=grad.dtype)
    np.add.at(out, indices, grad)
    return out


def _lstm_step_args(rng, dtype):
    """(x, h, c, wx, bx, wh): a step of 16 rows, 512 inputs and hidden; weights per gate."""
    x, h, c = _normal(*[(LSTM_BATCH, WIDTH)] * 3)(rng, dtype)
    gate_weights = lambda shape: tuple(0.05 * w for w in _normal(*[shape] * 4)(rng, dtype))
    return x, h, c, gate_weights(WEIGHT), gate_weights((WIDTH,)), gate_weights(WEIGHT)


def _lstm_cell_args(rng, dtype):
    """``_lstm_step_args`` and ``transposed``: the recurrent products as their transposes."""
    return _lstm_step_args(rng, dtype) + (True,)


def _lstm_step(x, h, c, wx, bx, wh, transposed=False):
    """(state (2, batch, hidden): new h and c; gates (4, batch, hidden): f, i, o, candidate)."""
    return _lstm_step_projected(_lstm_input_products(x, wx), 0, h, c, bx, wh)


def _lstm_step_projected(projected, start, h, c, bx, wh, transposed=False):
    """``_lstm_step`` given x @ wx[g] for each gate: rows start to start + batch of
    projected (4, rows, hidden)."""
    rows = slice(start, start + c.shape[0])
    pre = [projected[g, rows] + h @ wh[g] + bx[g] for g in range(4)]
    gates = np.stack([_sigmoid(p) for p in pre[:3]] + [np.tanh(pre[3])])
    f, i, o, candidate = gates
    new_c = f * c + i * candidate
    return np.stack([o * np.tanh(new_c), new_c]), gates


def _lstm_input_products(x, wx):
    return np.stack([x @ w for w in wx])


def _lstm_projected_args(rng, dtype):
    """(projected, start, h, c, bx, wh, transposed): the step of ``_lstm_step_args`` as the
    third of four whose inputs were multiplied at once."""
    x, h, c, wx, bx, wh = _lstm_step_args(rng, dtype)
    others = _normal(*[x.shape] * 3)(rng, dtype)
    stacked = np.concatenate([others[0], others[1], x, others[2]])
    return _lstm_input_products(stacked, wx), 2 * x.shape[0], h, c, bx, wh, True


def _lstm_input_args(rng, dtype):
    """(x (rows, inputs), wx): the rows of 4 steps of ``_lstm_step_args``."""
    x, _, _, wx, _, _ = _lstm_step_args(rng, dtype)
    return np.concatenate([x, *_normal(*[x.shape] * 3)(rng, dtype)]), wx


def _lstm_input_grad_args(rng, dtype):
    """(d_pre (4, rows, hidden), wx) for the rows of ``_lstm_input_args``."""
    x, wx = _lstm_input_args(rng, dtype)
    return _normal((4, x.shape[0], wx[0].shape[1]))(rng, dtype) + (wx,)


def _lstm_input_grads(d_pre, wx):
    return sum(d_pre[g] @ wx[g].T for g in range(4))


def _lstm_backward_args(rng, dtype):
    """(grad, c, state, gates, wx, wh, input_grad, transposed) for the step of
    ``_lstm_step_args``."""
    x, h, c, wx, bx, wh = _lstm_step_args(rng, dtype)
    state, gates = _lstm_step(x, h, c, wx, bx, wh)
    return _normal(state.shape)(rng, dtype) + (c, state, gates, wx, wh, True, True)


def _lstm_step_backward(grad, c, state, gates, wx, wh, input_grad, transposed):
    """(d_pre (4, batch, hidden), the gates' gradients before activation; dx; dh; dc)."""
    f, i, o, candidate = gates
    tanh_c = np.tanh(state[1])
    dc_new = grad[1] + grad[0] * o * (1 - tanh_c * tanh_c)
    d_pre = np.stack([dc_new * c * f * (1 - f), dc_new * candidate * i * (1 - i),
                      grad[0] * tanh_c * o * (1 - o), dc_new * i * (1 - candidate * candidate)])
    dx = _lstm_input_grads(d_pre, wx) if input_grad else np.zeros((c.shape[0], wx[0].shape[0]))
    dh = sum(d_pre[g] @ wh[g].T for g in range(4))
    return d_pre, dx, dh, dc_new * f


CASES = [
    KernelCase("elementwise", "add", _normal(FLAT, FLAT), lambda a, b: a + b),
    KernelCase("elementwise", "mul", _normal(FLAT, FLAT), lambda a, b: a * b),
    KernelCase("matmul", "mm", _normal(MATRIX, WEIGHT), lambda a, b: a @ b),
    KernelCase("matmul", "mm_grad_left", _normal(MATRIX, WEIGHT), lambda grad, b: grad @ b.T),
    KernelCase("matmul", "mm_grad_right", _normal(MATRIX, MATRIX), lambda a, grad: a.T @ grad),
    KernelCase("broadcast", "expand_middle", _expand_args,
               lambda x, copies: np.repeat(x[:, np.newaxis, :], copies, axis=1)),
    KernelCase("broadcast", "sum_middle", _normal((1, ROWS, WIDTH)), lambda x: x.sum(axis=1)),
    KernelCase("activations", "sigmoid", _normal(FLAT), _sigmoid),
    KernelCase("activations", "sigmoid_backward", _grad_and_output(_sigmoid, FLAT),
               lambda grad, y: grad * y * (1 - y)),
    KernelCase("activations", "tanh", _normal(FLAT), np.tanh),
    KernelCase("activations", "tanh_backward", _grad_and_output(np.tanh, FLAT),
               lambda grad, y: grad * (1 - y * y)),
    KernelCase("softmax", "softmax", _normal(MATRIX), _softmax),
    KernelCase("softmax", "softmax_backward", _grad_and_output(_softmax, MATRIX),
               lambda grad, y: y * (grad - (grad * y).sum(axis=1, keepdims=True))),
    KernelCase("softmax", "cross_entropy", _logits_and_targets, _cross_entropy),
    KernelCase("softmax", "cross_entropy_backward", _probs_targets_grad, _cross_entropy_backward),
    KernelCase("gather", "index_select", _table_and_indices, lambda table, indices: table[indices]),
    KernelCase("gather", "index_select_backward", _grad_indices_rows, _scatter_add),
    KernelCase("recurrent", "lstm_cell", _lstm_cell_args, _lstm_step),
    KernelCase("recurrent", "lstm_cell_projected", _lstm_projected_args, _lstm_step_projected),
    KernelCase("recurrent", "lstm_input_products", _lstm_input_args, _lstm_input_products),
    KernelCase("recurrent", "lstm_cell_backward", _lstm_backward_args, _lstm_step_backward),
    KernelCase("recurrent", "lstm_input_grads", _lstm_input_grad_args, _lstm_input_grads),
    KernelCase("fingerprint", "fingerprint", _bytes, _fingerprint),
]


def assert_same(ours, numpy_result, dtype):
    """Results agree to the dtype's precision (tuples element by element) and keep its dtype;
    integers exactly."""
    if isinstance(numpy_result, tuple):
        for a, b in zip(ours, numpy_result, strict=True):
            assert_same(a, b, dtype)
        return
    if isinstance(numpy_result, np.integer):  # a fingerprint: every bit counts
        assert ours == numpy_result
        return
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(ours, numpy_result, rtol=tolerance, atol=tolerance)
    if np.ndim(numpy_result):
        assert np.asarray(ours).dtype == dtype
