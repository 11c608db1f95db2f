"""parameters() beside the book's parameter list, train()/eval(), ReLU and Dropout."""
import copy

import numpy as np
import pytest

from jitgrad import (
    Dropout,
    Embedding,
    Layer,
    Linear,
    LSTMCell,
    ReLU,
    Sequential,
    Tanh,
    Tensor,
)


class BookStyleLayer(Layer):
    """A layer written as the book writes them: it manages the `parameters` list itself."""

    def __init__(self):
        super().__init__()
        self.parameters = list()
        self.inner = Linear(2, 3)
        self.scale = Tensor(np.ones(3), autograd=True)
        self.parameters.append(self.scale)
        self.parameters += self.inner.get_parameters()

    def forward(self, input):
        return self.inner.forward(input) * self.scale.expand(0, len(input.data))


def same_tensors(a, b):
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def test_book_style_parameter_list_still_works():
    layer = BookStyleLayer()
    assert same_tensors(layer.get_parameters(), [layer.scale, layer.inner.weight, layer.inner.bias])
    assert same_tensors(layer.parameters(), layer.get_parameters())
    assert same_tensors(layer.parameters, layer.get_parameters())  # read as a list
    assert isinstance(layer.get_parameters(), list)
    assert [name for name, _ in layer.named_parameters()] == ["scale", "inner.weight", "inner.bias"]


@pytest.mark.parametrize("make", [
    lambda: Sequential([Linear(2, 3), Tanh(), BookStyleLayer()]),
    lambda: LSTMCell(2, 3, 4),
    lambda: Embedding(5, 2),
])
def test_parameters_call_equals_get_parameters(make):
    model = make()
    assert model.parameters() and same_tensors(model.parameters(), model.get_parameters())


def test_sequential_parameters_gathers_its_layers_and_returns_a_new_list():
    first, second = Linear(2, 3), Linear(3, 1)
    model = Sequential([first, ReLU(), second])
    params = model.parameters()
    assert same_tensors(params, first.get_parameters() + second.get_parameters())
    params.clear()
    assert len(model.parameters()) == 4


def test_a_deep_copy_keeps_its_own_parameters():
    layer = BookStyleLayer()
    clone = copy.deepcopy(layer)
    assert same_tensors(clone.parameters(), [clone.scale, clone.inner.weight, clone.inner.bias])
    assert not any(p is q for p, q in zip(clone.parameters(), layer.parameters()))


def test_train_and_eval_reach_nested_layers():
    dropout = Dropout(0.5)
    model = Sequential([Linear(2, 2), Sequential([ReLU(), dropout])])
    assert model.eval() is model
    assert all(not layer.training for layer in model.layers_within())
    assert not dropout.training
    model.train()
    assert dropout.training


def test_relu_values_and_dtype():
    x = Tensor(np.array([-2.0, 0.0, 3.0, np.nan], dtype=np.float32))
    out = ReLU().forward(x)
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 3.0, np.nan])
    assert out.data.dtype == np.float32


def test_dropout_scales_kept_units_and_passes_gradient_through_the_mask():
    x = Tensor(np.ones((200, 50)), autograd=True)
    out = Dropout(0.25, rng=np.random.default_rng(0)).forward(x)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    assert 0.7 < kept.mean() < 0.8
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75)


def test_dropout_is_identity_in_eval_mode_and_deterministic_with_a_seed():
    x = Tensor(np.arange(12.0).reshape(3, 4))
    layer = Dropout(0.5).eval()
    assert layer.forward(x) is x
    draws = [Dropout(0.5, rng=np.random.default_rng(7)).forward(x).data for _ in range(2)]
    np.testing.assert_array_equal(*draws)


@pytest.mark.parametrize("p", [-0.1, 1.0, 2])
def test_dropout_rejects_bad_probability(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\)"):
        Dropout(p)
