"""The book's chapter-13 training runs, reproduced number for number.

The book's Tensor drew ``np.random.randint(0, 100000)`` for the id of every tensor it made, and
those draws move the global RNG between its initialisers. jitgrad's ids come from a counter,
so each example makes the same draws itself, where the book's code created a tensor: one per
``Tensor(...)``, one per parameter of a Linear (two with bias), one per Embedding.
The expected losses are what the book's notebook printed.
"""
import numpy as np
import pytest

from jitgrad import (
    SGD,
    CrossEntropyLoss,
    Embedding,
    Linear,
    MSELoss,
    Sequential,
    Sigmoid,
    Tanh,
    Tensor,
)


def book_id_draws(count):
    """Advance the global RNG as ``count`` of the book's tensor constructors would have."""
    for _ in range(count):
        np.random.randint(0, 100000)


def book_tensor(data, **kwargs):
    tensor = Tensor(data, **kwargs)
    book_id_draws(1)
    return tensor


def book_linear(n_inputs, n_outputs):
    layer = Linear(n_inputs, n_outputs)
    book_id_draws(2)
    return layer


def book_embedding(vocab_size, dim):
    layer = Embedding(vocab_size, dim)
    book_id_draws(1)
    return layer


def xor_like_data():
    data = book_tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), autograd=True)
    target = book_tensor(np.array([[0], [1], [0], [1]]), autograd=True)
    return data, target


def train(model_forward, criterion, optim, data, target, steps=10):
    losses = []
    for _ in range(steps):
        loss = criterion(model_forward(data), target)
        loss.backward(Tensor(np.ones_like(loss.data)))
        optim.step()
        losses.append(loss.data.copy())
    return np.array(losses).reshape(steps)


def squared_error(pred, target):
    return ((pred - target) * (pred - target)).sum(0)


MANUAL_LOSSES = [0.58128304, 0.48988149, 0.41375111, 0.34489412, 0.28210124,
                 0.2254484, 0.17538853, 0.1324231, 0.09682769, 0.06849361]
SEQUENTIAL_LOSSES = [2.33428272, 0.06743796, 0.0521849, 0.04079507, 0.03184365,
                     0.02479336, 0.01925443, 0.01491699, 0.01153118, 0.00889602]


def test_manual_weight_updates():
    np.random.seed(0)
    data, target = xor_like_data()
    w = [book_tensor(np.random.rand(2, 3), autograd=True),
         book_tensor(np.random.rand(3, 1), autograd=True)]
    losses = []
    for _ in range(10):
        pred = data.mm(w[0]).mm(w[1])
        loss = ((pred - target) * (pred - target)).sum(0)
        loss.backward(Tensor(np.ones_like(loss.data)))
        for w_ in w:
            w_.data -= w_.grad.data * 0.1
            w_.grad.data *= 0
        losses.append(loss.data[0])
    np.testing.assert_allclose(losses, MANUAL_LOSSES, atol=1e-6)


def test_sgd_optimizer():
    np.random.seed(0)
    data, target = xor_like_data()
    w = [book_tensor(np.random.rand(2, 3), autograd=True),
         book_tensor(np.random.rand(3, 1), autograd=True)]
    forward = lambda x: x.mm(w[0]).mm(w[1])
    losses = train(forward, squared_error, SGD(parameters=w, alpha=0.1), data, target)
    np.testing.assert_allclose(losses, MANUAL_LOSSES, atol=1e-6)


@pytest.mark.parametrize("criterion", [squared_error, MSELoss().forward], ids=["inline", "MSELoss"])
def test_sequential_of_two_linear(criterion):
    np.random.seed(0)
    data, target = xor_like_data()
    model = Sequential([book_linear(2, 3), book_linear(3, 1)])
    optim = SGD(parameters=model.get_parameters(), alpha=0.05)
    losses = train(model.forward, criterion, optim, data, target)
    np.testing.assert_allclose(losses, SEQUENTIAL_LOSSES, atol=1e-6)


def test_tanh_sigmoid_layers():
    np.random.seed(0)
    data, target = xor_like_data()
    model = Sequential([book_linear(2, 3), Tanh(), book_linear(3, 1), Sigmoid()])
    optim = SGD(parameters=model.get_parameters(), alpha=1)
    losses = train(model.forward, MSELoss().forward, optim, data, target)
    np.testing.assert_allclose(losses, [1.06372865, 0.75148144, 0.57384259, 0.39574294,
                                        0.2482279, 0.15515294, 0.10423398, 0.07571169,
                                        0.05837623, 0.04700013], atol=1e-6)


def test_index_select_gradient():
    x = Tensor(np.eye(5), autograd=True)
    x.index_select(Tensor([[1, 2, 3], [2, 3, 4]])).backward()
    expected = np.array([0, 1, 2, 2, 1.0])[:, None] * np.ones(5)
    np.testing.assert_array_equal(x.grad.data, expected)


def test_embedding_layer():
    np.random.seed(0)
    data = book_tensor(np.array([1, 2, 1, 2]), autograd=True)
    target = book_tensor(np.array([[0], [1], [0], [1]]), autograd=True)
    model = Sequential([book_embedding(5, 3), Tanh(), book_linear(3, 1), Sigmoid()])
    optim = SGD(parameters=model.get_parameters(), alpha=0.5)
    losses = train(model.forward, MSELoss().forward, optim, data, target)
    np.testing.assert_allclose(losses, [0.98874126, 0.6658868, 0.45639889, 0.31608168,
                                        0.2260925, 0.16877423, 0.13120515, 0.10555487,
                                        0.08731868, 0.07387834], atol=1e-6)


def test_cross_entropy_with_alpha_times_batch_size():
    # The book back-propagated `softmax - onehot`, batch_size times the gradient of the mean
    # loss it reports; jitgrad's true gradient with alpha * batch_size takes the same steps.
    np.random.seed(0)
    data = book_tensor(np.array([1, 2, 1, 2]), autograd=True)
    target = book_tensor(np.array([0, 1, 0, 1]), autograd=True)
    model = Sequential([book_embedding(3, 3), Tanh(), book_linear(3, 4)])
    optim = SGD(parameters=model.get_parameters(), alpha=0.1 * len(data.data))
    losses = train(model.forward, CrossEntropyLoss().forward, optim, data, target)
    np.testing.assert_allclose(losses, [1.3885032434928422, 0.9558181509266037,
                                        0.6823083585795604, 0.5095259967493119,
                                        0.39574491472895856, 0.31752527285348264,
                                        0.2617222861964216, 0.22061283923954234,
                                        0.18946427334830068, 0.16527389263866668], atol=1e-6)
