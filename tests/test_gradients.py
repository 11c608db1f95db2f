"""Every op and layer against finite differences in float64."""
import numpy as np
import pytest

from jitgrad import Embedding, Linear, LSTMCell, MSELoss, RNNCell, Sequential, Sigmoid, Tanh, Tensor
from gradcheck import assert_gradients_match, assert_tensor_gradients

rng = np.random.default_rng(42)


def randn(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("name, fn, shapes", [
    ("add", lambda a, b: a + b, [(3, 4), (3, 4)]),
    ("sub", lambda a, b: a - b, [(3, 4), (3, 4)]),
    ("mul", lambda a, b: a * b, [(3, 4), (3, 4)]),
    ("div", lambda a, b: a / (b * b + 1.0), [(3, 4), (3, 4)]),
    ("neg", lambda a: -a, [(2, 3)]),
    ("scalar operand", lambda a, s: a * s + s - a / 2.0, [(2, 3), ()]),
    ("python scalars", lambda a: 2.0 - a * 0.5 + 1 / (a * a + 1.0), [(2, 3)]),
    ("mm", lambda a, b: a.mm(b), [(3, 4), (4, 2)]),
    ("mm transposed", lambda a, b: a.transpose().mm(b.transpose()), [(4, 3), (2, 4)]),
    ("transpose", lambda a: a.transpose(), [(2, 5)]),
    ("transpose 3-d", lambda a: a.transpose(), [(2, 3, 4)]),
    ("sigmoid", lambda a: (a * 3.0).sigmoid(), [(3, 4)]),
    ("tanh", lambda a: a.tanh(), [(3, 4)]),
    ("relu", lambda a: a.relu(), [(3, 4)]),
    ("softmax", lambda a: a.softmax(), [(3, 5)]),
    ("softmax 3-d", lambda a: a.softmax(), [(2, 3, 4)]),
    ("sum all", lambda a: a.sum(), [(3, 4)]),
] + [(f"sum dim {d} of {len(s)}-d", (lambda d: lambda a: a.sum(d))(d), [s])
     for s in [(5,), (3, 4), (2, 3, 4)] for d in range(len(s))] + [
    (f"expand dim {d} of {len(s)}-d", (lambda d: lambda a: a.expand(d, 3))(d), [s])
     for s in [(5,), (3, 4), (2, 3, 4)] for d in range(len(s) + 1)])
def test_op_gradient(name, fn, shapes):
    assert_gradients_match(fn, *[randn(*s) for s in shapes])


def test_index_select_gradient_with_repeats():
    indices = Tensor(np.array([[0, 2, 2], [4, 0, 2]]))
    assert_gradients_match(lambda w: w.index_select(indices), randn(5, 3))


def test_index_select_of_3d_table():
    indices = Tensor(np.array([1, 1, 0]))
    assert_gradients_match(lambda w: w.index_select(indices), randn(2, 3, 2))


@pytest.mark.parametrize("logit_shape, targets", [((4, 5), [0, 4, 2, 2]),
                                                  ((2, 3, 4), [[0, 1, 2], [3, 3, 0]])])
def test_cross_entropy_gradient(logit_shape, targets):
    targets = Tensor(np.array(targets))
    assert_gradients_match(lambda x: x.cross_entropy(targets), randn(*logit_shape))


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
