"""Layers as PyTorch modules: callable, named parameters, state dicts, dtype conversion,
default dtype, repr, zero_grad."""
import numpy as np
import pytest

import jitgrad
from jitgrad import (
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Layer,
    Linear,
    LSTMCell,
    ReLU,
    RNNCell,
    Sequential,
    Tanh,
    Tensor,
)
from jitgrad.nn.module import StateDictError


class CharModel(Layer):
    """PyTorch style: sublayers assigned as attributes, no parameter list kept by hand."""

    def __init__(self, dtype=None):
        super().__init__()
        self.embed = Embedding(5, 3, dtype=dtype)
        self.cell = LSTMCell(3, 4, 5, dtype=dtype)
        self.head = Sequential(Linear(5, 2, dtype=dtype), Tanh())

    def forward(self, x, hidden):
        output, hidden = self.cell(self.embed(x), hidden)
        return self.head(output), hidden


def test_named_parameters_follow_the_attributes():
    names = [name for name, _ in CharModel().named_parameters()]
    assert names[:4] == ["embed.weight", "cell.xf.weight", "cell.xf.bias", "cell.xi.weight"]
    assert "cell.hc.weight" in names and "cell.w_ho.weight" in names
    assert names[-2:] == ["head.0.weight", "head.0.bias"]
    assert len(names) == len(set(names)) == 1 + 13 + 2
    assert [n for n, _ in Sequential(Linear(2, 3), ReLU(), Linear(3, 1)).named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]


def test_a_pytorch_style_model_finds_its_parameters():
    model = CharModel()
    assert len(model.parameters) == len(model.parameters()) == 16
    assert len(Sequential(Linear(2, 3), Linear(3, 1)).parameters) == 4  # never silently 0


def test_layers_are_callable_and_sequential_takes_either_form():
    np.random.seed(0)
    a, b = Linear(2, 3), Linear(3, 1)
    x = Tensor(np.ones((4, 2)))
    for model in (Sequential(a, ReLU(), b), Sequential([a, ReLU(), b])):
        np.testing.assert_array_equal(model(x).data, model.forward(x).data)
    assert CrossEntropyLoss()(Tensor(np.zeros((2, 3))), Tensor(np.array([0, 1]))).data == pytest.approx(np.log(3))


def test_state_dict_round_trips_and_is_a_copy():
    source, target = CharModel(), CharModel()
    state = source.state_dict()
    assert list(state) == [name for name, _ in source.named_parameters()]
    state["embed.weight"][...] = 0  # a copy: the model is untouched
    assert source.embed.weight.data.any()
    target.load_state_dict(source.state_dict())
    for (_, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    model = CharModel()
    before = {name: value.copy() for name, value in model.state_dict().items()}
    state = model.state_dict()
    del state["cell.xf.bias"]
    state["extra.weight"] = np.ones(2)
    state["embed.weight"] = np.ones((5, 4))
    state["head.0.bias"] = state["head.0.bias"].astype(np.float32)
    with pytest.raises(StateDictError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    for part in ("4 problem(s)", "missing cell.xf.bias", "unexpected extra.weight",
                 "mismatched embed.weight: float64[5, 4] given, float64[5, 3] in the model",
                 "mismatched head.0.bias: float32[2] given, float64[2]"):
        assert part in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_non_strict_reports_missing_and_unexpected():
    model = Sequential(Linear(2, 3))
    missing, unexpected = model.load_state_dict({"0.weight": np.zeros((2, 3)), "x": np.ones(1)},
                                                strict=False)
    assert missing == ["0.bias"] and unexpected == ["x"]
    assert not model.layers[0].weight.data.any()


@pytest.mark.parametrize("convert, dtype", [(lambda m: m.to(np.float32), np.float32),
                                            (lambda m: m.float(), np.float32),
                                            (lambda m: m.float().double(), np.float64)])
def test_to_converts_every_parameter_in_place_and_the_model_runs(convert, dtype):
    model = CharModel()
    assert convert(model) is model
    assert {p.data.dtype for p in model.parameters()} == {np.dtype(dtype)}
    hidden = model.cell.init_hidden(2)
    assert hidden[0].data.dtype == dtype
    out, _ = model(Tensor(np.array([1, 2])), hidden)
    assert out.data.dtype == dtype
    out.sum().backward()
    assert all(p.grad.data.dtype == dtype for p in model.parameters() if p.grad is not None)


def test_set_default_dtype_sets_the_dtype_of_new_parameters():
    jitgrad.set_default_dtype(np.float32)
    assert jitgrad.get_default_dtype() == np.float32
    model = CharModel()
    assert {p.data.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert RNNCell(2, 3, 4).init_hidden().data.dtype == np.float32
    assert {p.data.dtype for p in CharModel(dtype=np.float64).parameters()} == {np.dtype(np.float64)}
    with pytest.raises(TypeError, match="set_default_dtype: dtype must be float32 or float64, got int64"):
        jitgrad.set_default_dtype(np.int64)


def test_float32_data_into_a_float64_model_raises_with_the_fix():
    model = Sequential(Linear(4, 8), Tanh())
    with pytest.raises(TypeError, match=r"linear: expected float operands of one dtype, but operand 0 "
                                        r"is float32\[2, 4\] and operand 1 is float64\[4, 8\].*"
                                        r"model.to\(np.float32\).*set_default_dtype"):
        model(Tensor(np.ones((2, 4), dtype=np.float32)))


def test_repr_is_pytorchs_nested_form():
    model = Sequential(Linear(2, 3), ReLU(), Dropout(0.1))
    assert repr(model) == ("Sequential(\n"
                           "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                           "  (1): ReLU()\n"
                           "  (2): Dropout(p=0.1, inplace=False)\n"
                           ")")
    assert repr(CharModel()).startswith("CharModel(\n  (embed): Embedding(5, 3)\n  (cell): LSTMCell(\n"
                                        "    n_inputs=3, n_hidden=4, n_output=5\n    (xf): Linear(")


def test_book_style_layers_keep_their_own_parameter_lists():
    """The book's pattern: a layer that appends to self.parameters and += its sublayers'."""
    class Book(Layer):
        def __init__(self):
            super().__init__()
            self.parameters = list()
            self.inner = Linear(2, 2)
            self.parameters += self.inner.get_parameters()
            self.parameters.append(Tensor(np.ones(2), autograd=True))  # held by no attribute

    layer = Book()
    assert [name for name, _ in layer.named_parameters()] == ["inner.weight", "inner.bias",
                                                              "parameters.2"]


def test_batchnorm_running_statistics_are_saved_and_converted_as_buffers():
    np.random.seed(0)
    model = Sequential(Linear(3, 4), jitgrad.BatchNorm1d(4))
    model(Tensor(np.random.randn(8, 3)))  # training: the running statistics move
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                           "1.running_var", "1.num_batches_tracked"]  # PyTorch's order
    assert state["1.num_batches_tracked"] == 1
    fresh = Sequential(Linear(3, 4), jitgrad.BatchNorm1d(4))
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.layers[1].running_mean, model.layers[1].running_mean)
    fresh.eval()
    model.eval()
    x = Tensor(np.random.randn(2, 3))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    model.to(np.float32)
    assert model.layers[1].running_var.dtype == np.float32
    assert model(x.float()).data.dtype == np.float32
