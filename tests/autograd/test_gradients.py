"""Layers against finite differences in float64 (each op is checked through the registry,
tests/ops/test_registry.py)."""
import numpy as np
import pytest

from jitgrad import (
    Embedding,
    Linear,
    LSTMCell,
    MSELoss,
    RNNCell,
    Sequential,
    Sigmoid,
    Tanh,
    Tensor,
)
from tests.helpers.gradcheck import assert_gradients_match, assert_tensor_gradients

rng = np.random.default_rng(42)


def randn(*shape):
    return rng.standard_normal(shape)


def test_cross_entropy_scales_by_incoming_gradient():
    logits = Tensor(randn(3, 4), autograd=True)
    targets = Tensor(np.array([0, 1, 3]))
    (logits.cross_entropy(targets) * 2.5).backward()
    twice = logits.grad.data.copy()
    logits.grad = None
    logits.cross_entropy(targets).backward()
    np.testing.assert_allclose(twice, 2.5 * logits.grad.data)


def check_layer(layer, forward, x):
    """Gradients of the input ``x`` and of every parameter of ``layer``."""
    x = Tensor(x, autograd=True)
    assert_tensor_gradients(lambda: forward(x), [x] + layer.get_parameters())


def test_linear_and_sequential():
    np.random.seed(1)
    model = Sequential([Linear(3, 4), Tanh(), Linear(4, 2), Sigmoid()])
    check_layer(model, model.forward, randn(5, 3))


def test_linear_without_bias():
    np.random.seed(1)
    layer = Linear(3, 2, bias=False)
    check_layer(layer, layer.forward, randn(4, 3))


def test_mse_loss():
    target = Tensor(randn(4, 2))
    assert_gradients_match(lambda p: MSELoss().forward(p, target), randn(4, 2))


def test_embedding():
    np.random.seed(1)
    embed = Embedding(6, 3)
    indices = Tensor(np.array([[1, 5], [1, 0]]))
    assert_tensor_gradients(lambda: embed.forward(indices), embed.get_parameters())


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_rnn_cell_unrolled(activation):
    np.random.seed(1)
    cell = RNNCell(3, 4, 2, activation=activation)

    def unroll(x):
        hidden = Tensor(np.zeros((2, 4)))
        outputs = None
        for t in range(3):
            output, hidden = cell.forward(x, hidden)
            outputs = output if outputs is None else outputs + output
        return outputs
    check_layer(cell, unroll, randn(2, 3))


def test_lstm_cell_unrolled():
    np.random.seed(1)
    cell = LSTMCell(3, 4, 2)

    def unroll(x):
        hidden = cell.init_hidden(batch_size=2)
        total = None
        for _ in range(3):
            output, hidden = cell.forward(x, hidden)
            total = output if total is None else total + output
        return total + hidden[1].sum(1).expand(1, 2)
    check_layer(cell, unroll, randn(2, 3))
