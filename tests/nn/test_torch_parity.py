"""jitgrad.nn against torch.nn: names, order and layouts of parameters and buffers, default
initialisations, forward values and gradients given the same weights, losses with every
reduction, and the Module API. Skips without torch."""
from collections import OrderedDict

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor, nn
from jitgrad.nn import functional as F
from tests.helpers.gradcheck import assert_tensor_gradients

torch = pytest.importorskip("torch")


def pair(make):
    """(torch module, jitgrad module) built by ``make(nn_module)``, the jitgrad one holding
    the torch one's weights (float64)."""
    theirs = make(torch.nn).double()
    ours = make(nn).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


class Model:
    """The same model class written once for both libraries."""

    @staticmethod
    def build(lib):
        class Net(lib.Module):
            def __init__(self):
                super().__init__()
                self.embed = lib.Embedding(10, 4, padding_idx=0)
                self.lstm = lib.LSTM(4, 5, num_layers=2, batch_first=True)
                self.gru = lib.GRU(5, 3)
                self.norm = lib.LayerNorm(3)
                self.bn = lib.BatchNorm1d(3)
                self.heads = lib.ModuleList([lib.Linear(3, 2), lib.Linear(3, 2, bias=False)])
                self.extra = lib.ModuleDict({"act": lib.GELU(), "out": lib.Linear(2, 2)})
                self.seq = lib.Sequential(OrderedDict([("fc", lib.Linear(2, 2)), ("relu", lib.ReLU())]))
                self.scale = lib.Parameter(torch.ones(2) if lib is torch.nn else Tensor(np.ones(2, np.float32)))
                self.register_buffer("offset", torch.zeros(2) if lib is torch.nn else np.zeros(2, np.float32))

            def forward(self, x):
                out, _ = self.lstm(self.embed(x))
                out, _ = self.gru(out)
                last = self.bn(self.norm(out[:, -1]))
                out = self.heads[0](last) + self.heads[1](last)
                return self.seq(self.extra["out"](self.extra["act"](out))) * self.scale

        return Net()


def test_names_order_and_shapes_of_parameters_buffers_and_modules_are_torchs():
    theirs, ours = Model.build(torch.nn), Model.build(nn)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert all(isinstance(p, nn.Parameter) for p in ours.parameters())
    assert [p.dtype for p in ours.parameters()] == [np.float32] * len(list(ours.parameters()))


def test_the_same_weights_give_torchs_output_and_gradients():
    theirs, ours = pair(Model.build)
    tokens = np.random.default_rng(0).integers(0, 10, (3, 6))
    tokens[0, :2] = 0  # padding
    theirs.train(), ours.train()
    expected = theirs(torch.as_tensor(tokens))
    out = ours(Tensor(tokens))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(Tensor(weights))
    (expected * torch.as_tensor(weights)).sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
    for name, buffer in ours.state_dict().items():  # BatchNorm's running statistics moved alike
        np.testing.assert_allclose(buffer, theirs.state_dict()[name].numpy(), rtol=1e-10,
                                   err_msg=name)


@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.Linear(4, 3), (5, 4)),
    (lambda lib: lib.Linear(4, 3), (2, 5, 4)),
    (lambda lib: lib.Linear(4, 3, bias=False), (4,)),
    (lambda lib: lib.Sequential(lib.Linear(4, 6), lib.SiLU(), lib.Linear(6, 2), lib.ELU(0.5)), (3, 4)),
    (lambda lib: lib.Sequential(lib.Linear(4, 6), lib.GELU(approximate="tanh")), (3, 4)),
])
def test_layers_match_torch(make, shape):
    theirs, ours = pair(make)
    x = np.random.default_rng(2).standard_normal(shape)
    expected, xt = None, torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    xj = Tensor(x, autograd=True)
    out = ours(xj)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.backward(Tensor(np.ones(out.shape)))
    expected.sum().backward()
    np.testing.assert_allclose(xj.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("given_state", [False, True])
def test_cells_match_torch(name, given_state):
    theirs, ours = pair(lambda lib: getattr(lib, name)(3, 4))
    rng = np.random.default_rng(3)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    state = None
    if given_state:
        state = (h, c) if name == "LSTMCell" else h
    as_torch = lambda s: None if s is None else (tuple(map(torch.tensor, s)) if isinstance(s, tuple)
                                                 else torch.tensor(s))
    as_ours = lambda s: None if s is None else (tuple(map(Tensor, s)) if isinstance(s, tuple)
                                                else Tensor(s))
    expected, out = theirs(torch.tensor(x), as_torch(state)), ours(Tensor(x), as_ours(state))
    expected = expected if isinstance(expected, tuple) else (expected,)
    out = out if isinstance(out, tuple) else (out,)
    for mine, reference in zip(out, expected):
        np.testing.assert_allclose(mine.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum(o.sum() for o in out).backward()
    sum(e.sum() for e in expected).backward()
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first, layers, given_state, unbatched", [
    (False, 1, False, False), (True, 2, True, False), (False, 2, False, True)])
def test_sequence_layers_match_torch(name, batch_first, layers, given_state, unbatched):
    theirs, ours = pair(lambda lib: getattr(lib, name)(3, 4, num_layers=layers,
                                                        batch_first=batch_first))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3) if unbatched else (2, 5, 3))
    state_shape = (layers, 4) if unbatched else (layers, 2, 4)
    h, c = rng.standard_normal(state_shape), rng.standard_normal(state_shape)
    xt, xj = torch.tensor(x, requires_grad=True), Tensor(x, autograd=True)
    if given_state:
        args_t = ((torch.tensor(h), torch.tensor(c)),) if name == "LSTM" else (torch.tensor(h),)
        args_j = ((Tensor(h), Tensor(c)),) if name == "LSTM" else (Tensor(h),)
    else:
        args_t = args_j = ()
    out_t, state_t = theirs(xt, *args_t)
    out_j, state_j = ours(xj, *args_j)
    states_t = state_t if name == "LSTM" else (state_t,)
    states_j = state_j if name == "LSTM" else (state_j,)
    for mine, reference in zip((out_j, *states_j), (out_t, *states_t)):
        assert mine.shape == tuple(reference.shape)
        np.testing.assert_allclose(mine.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(out_j.shape)
    (out_j * Tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xj.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=n)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_sequence_layer_gradients_match_finite_differences(name):
    layer = getattr(nn, name)(2, 3, num_layers=2, dtype=np.float64)
    x = Tensor(np.random.default_rng(5).standard_normal((4, 2, 2)), autograd=True)
    assert_tensor_gradients(lambda: layer(x)[0], [x, *layer.parameters()])


def test_embedding_padding_row_gets_no_gradient():
    theirs, ours = pair(lambda lib: lib.Embedding(5, 3, padding_idx=1))
    idx = np.array([[1, 2], [1, 4]])
    ours(Tensor(idx)).sum().backward()
    theirs(torch.as_tensor(idx)).sum().backward()
    np.testing.assert_array_equal(ours.weight.grad.data, theirs.weight.grad.numpy())
    assert not ours.weight.grad.data[1].any()


def test_default_initialisations_have_torchs_distributions():
    np.random.seed(0)
    linear = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    for p in (linear.weight, linear.bias):
        assert p.dtype == np.float32 and np.abs(p.data).max() <= bound
        assert p.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)
    assert linear.weight.shape == (300, 400)
    embedding = nn.Embedding(1000, 50, padding_idx=3)
    assert embedding.weight.data.std() == pytest.approx(1.0, rel=0.05)
    assert not embedding.weight.data[3].any()
    lstm = nn.LSTM(10, 64)
    for p in lstm.parameters():
        assert np.abs(p.data).max() <= 1 / 8 and p.data.std() == pytest.approx(1 / 8 / np.sqrt(3),
                                                                                  rel=0.1)
    assert [tuple(p.shape) for p in lstm.parameters()] == [(256, 10), (256, 64), (256,), (256,)]


def test_parameters_take_float32_unless_told(monkeypatch):
    assert nn.Linear(2, 3).weight.dtype == np.float32
    assert nn.LayerNorm(3).weight.dtype == np.float32 and jitgrad.LayerNorm(3).weight.dtype == np.float64
    assert nn.GRU(2, 3, dtype=np.float64).weight_ih_l0.dtype == np.float64
    monkeypatch.setattr(jitgrad.backend.dtypes, "_default_dtype", np.dtype(np.float64))
    monkeypatch.setattr(jitgrad.backend.dtypes, "_default_chosen", True)
    assert nn.Linear(2, 3).weight.dtype == nn.BatchNorm1d(3).running_mean.dtype == np.float64


REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(6)
X, Y = rng.standard_normal((4, 3)) * 2, rng.standard_normal((4, 3))
P, T = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
LABELS = np.array([0, 2, 1, 1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kwargs, x, y", [
    ("MSELoss", {}, X, Y), ("L1Loss", {}, X, Y), ("SmoothL1Loss", {"beta": 0.5}, X, Y),
    ("HuberLoss", {"delta": 0.7}, X, Y), ("BCELoss", {}, P, T),
    ("BCEWithLogitsLoss", {"pos_weight": np.array([1.0, 2.0, 0.5])}, X, T),
    ("CrossEntropyLoss", {}, X, LABELS),
    ("CrossEntropyLoss", {"ignore_index": 1, "label_smoothing": 0.1}, X, LABELS),
    ("CrossEntropyLoss", {"weight": np.array([1.0, 2.0, 0.5])}, X, LABELS),
    ("CrossEntropyLoss", {"label_smoothing": 0.2}, X, np.full((4, 3), 1 / 3)),
    ("NLLLoss", {"ignore_index": 2}, X, LABELS),
])
def test_losses_match_torch_with_every_reduction(name, kwargs, reduction, x, y):
    ours = getattr(nn, name)(reduction=reduction, **kwargs)
    theirs = getattr(torch.nn, name)(reduction=reduction,
                                     **{k: torch.as_tensor(v) for k, v in kwargs.items()
                                        if isinstance(v, np.ndarray)},
                                     **{k: v for k, v in kwargs.items() if not isinstance(v, np.ndarray)})
    xj, xt = Tensor(x, autograd=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xj, Tensor(y)), theirs(xt, torch.as_tensor(y))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(xj.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_nn_mse_loss_means_and_the_books_sums():
    pred, target = Tensor(X), Tensor(Y)
    assert nn.MSELoss()(pred, target).shape == ()
    assert jitgrad.MSELoss()(pred, target).shape == (3,)


def test_cross_entropy_takes_classes_in_dim_1_and_the_book_in_the_last():
    logits = rng.standard_normal((2, 3, 4))  # (N, C, d) for torch
    targets = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.as_tensor(targets))
    np.testing.assert_allclose(F.cross_entropy(Tensor(logits), targets).data, expected.numpy())
    np.testing.assert_allclose(
        jitgrad.CrossEntropyLoss()(Tensor(logits.transpose(0, 2, 1)), targets).data, expected.numpy())


def test_functional_linear_is_torchs_and_jitgrad_functional_keeps_the_books():
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    expected = torch.nn.functional.linear(*map(torch.tensor, (x, w, b))).numpy()
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w), Tensor(b)).data, expected)
    np.testing.assert_allclose(jitgrad.functional.linear(Tensor(x), Tensor(w.T.copy()),
                                                         Tensor(b)).data, expected)
    with pytest.raises(ValueError, match=r"linear: cannot compute float64\[5, 3\] @ float64\[3, 4\]\.T"):
        F.linear(Tensor(x), Tensor(w.T.copy()))


def test_one_hot_and_embedding_functions():
    idx = np.array([[0, 2], [1, 0]])
    np.testing.assert_array_equal(F.one_hot(Tensor(idx), 3).data,
                                  torch.nn.functional.one_hot(torch.as_tensor(idx), 3).numpy())
    with pytest.raises(ValueError, match="one_hot: class 2 is not below num_classes 2"):
        F.one_hot(idx, 2)
    weight = rng.standard_normal((3, 2))
    np.testing.assert_array_equal(F.embedding(idx, Tensor(weight)).data, weight[idx])


@pytest.mark.parametrize("make", [
    lambda lib: lib.Sequential(lib.Linear(3, 4), lib.ReLU(inplace=True), lib.Dropout(0.1),
                               lib.LeakyReLU(0.2), lib.GELU(approximate="tanh"), lib.Linear(4, 2, bias=False)),
    lambda lib: lib.Embedding(10, 4, padding_idx=0),
    lambda lib: lib.LSTM(4, 5, num_layers=2, batch_first=True),
    lambda lib: lib.GRUCell(3, 4, bias=False),
    lambda lib: lib.ModuleDict({"a": lib.SiLU(), "b": lib.ModuleList([lib.ELU(), lib.Tanh()])}),
])
def test_repr_is_torchs(make):
    assert repr(make(nn)) == repr(make(torch.nn))
