"""jitgrad.nn's Module API and containers without torch: registration, containers, apply,
requires_grad_, to(), buffers, bad input; and the book's layers keeping theirs."""
from collections import OrderedDict

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor, nn


def test_sequential_indexes_slices_appends_and_iterates():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert [n for n, _ in model[1:].named_parameters()] == ["2.weight", "2.bias"]  # names kept
    model.append(nn.Sigmoid())
    assert len(model) == 4 and model(Tensor(np.ones((5, 2), np.float32))).shape == (5, 1)
    with pytest.raises(IndexError, match="Sequential: index 4 is out of range for 4 modules"):
        model[4]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert named.fc is named[0] and list(named.state_dict()) == ["fc.weight", "fc.bias"]


def test_module_list_and_dict_register_their_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 1)})

    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias"]
    assert list(net.heads) == ["a", "b"] and "a" in net.heads
    assert [n for n, _ in net.named_modules()] == ["", "blocks", "blocks.0", "blocks.1", "heads",
                                                   "heads.a", "heads.b"]
    with pytest.raises(TypeError, match="ModuleList: '2' is a int, not a Module"):
        net.blocks.append(3)


def test_own_parameters_and_buffers_come_before_the_submodules_as_in_torch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.scale = nn.Parameter(np.ones(2, np.float32))
            self.register_buffer("steps", np.zeros((), np.int64))
            self.register_buffer("cache", np.zeros(2, np.float32), persistent=False)

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert list(net.state_dict()) == ["scale", "steps", "fc.weight", "fc.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    net.to(np.float64)
    assert net.cache.dtype == np.float64 and net.steps.dtype == np.int64  # ints stay
    assert net.to("cpu") is net and net.to("cpu", dtype=np.float32).scale.dtype == np.float32


def test_apply_requires_grad_and_frozen_parameters():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Sequential"]
    model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
    assert not model[0].bias.data.any()
    model.requires_grad_(False)
    assert len(list(model.parameters())) == 4  # frozen Parameters are still parameters
    assert not any(p.requires_grad for p in model.parameters())
    out = model(Tensor(np.ones((1, 2), np.float32)))
    assert not out.autograd


def test_parameter_shares_a_tensors_array_and_prints_as_torch():
    t = Tensor(np.ones(3, np.float32))
    p = nn.Parameter(t)
    assert p.data is t.data and p.requires_grad and isinstance(p, Tensor)
    assert repr(p).startswith("Parameter containing:\nTensor([1., 1., 1.]")
    assert not nn.Parameter(t, requires_grad=False).requires_grad


def test_bad_input_names_the_layer_and_shapes():
    linear = nn.Linear(4, 3)
    before = linear.weight.data.copy()
    with pytest.raises(ValueError, match=r"linear: cannot compute float32\[2, 5\] @ float32\[3, 4\]\.T"):
        linear(Tensor(np.ones((2, 5), np.float32)))
    np.testing.assert_array_equal(linear.weight.data, before)
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM: hidden state of shape \(1, 2, 5\) should be \(1, 2, 4\)"):
        lstm(Tensor(np.ones((6, 2, 3), np.float32)), (Tensor(np.zeros((1, 2, 5), np.float32)),) * 2)
    with pytest.raises(ValueError, match=r"GRUCell: input of shape \(2, 4\) should be \(batch, 3\)"):
        nn.GRUCell(3, 4)(Tensor(np.ones((2, 4), np.float32)))
    with pytest.raises(NotImplementedError, match="GRU: bidirectional=True is not implemented"):
        nn.GRU(3, 4, bidirectional=True)
    with pytest.raises(TypeError, match="embedding: input must hold integer indices"):
        nn.Embedding(5, 2)(Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="Embedding: padding_idx 7 is outside its 5 embeddings"):
        nn.Embedding(5, 2, padding_idx=7)


def test_nn_and_book_layers_mix_in_one_model_when_dtypes_agree():
    model = jitgrad.Sequential([jitgrad.Linear(3, 4, dtype=np.float32), nn.ReLU(),
                                nn.Linear(4, 2)])
    assert model.forward(Tensor(np.ones((2, 3), np.float32))).shape == (2, 2)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.layers[0].weight.shape == (3, 4) and model.layers[2].weight.shape == (2, 4)


def test_init_fans_follow_each_doors_layout():
    np.random.seed(1)
    torch_layout = nn.Linear(1000, 10).weight  # (10, 1000): fan_in 1000
    nn.init.kaiming_normal_(torch_layout, nonlinearity="relu")
    assert torch_layout.data.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.05)
    book_layout = jitgrad.Linear(1000, 10).weight  # (1000, 10): fan_in 1000
    jitgrad.init.kaiming_normal_(book_layout, nonlinearity="relu")
    assert book_layout.data.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.05)
    assert nn.init._calculate_fan_in_and_fan_out(torch_layout) == (1000, 10)


def test_parameter_list_and_dict_name_their_parameters_as_torch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([nn.Parameter(np.ones(2, np.float32)),
                                            np.zeros(3, np.float32)])
            self.tables = nn.ParameterDict({"a": nn.Parameter(np.ones((2, 2), np.float32))})

    net = Net()
    assert [(n, p.shape) for n, p in net.named_parameters()] == [
        ("scales.0", (2,)), ("scales.1", (3,)), ("tables.a", (2, 2))]
    assert all(isinstance(p, nn.Parameter) for p in net.scales)
    assert len(net.scales) == 2 and net.tables["a"].shape == (2, 2)
    with pytest.raises(TypeError, match="ParameterList: holds parameters, not a Linear module"):
        net.scales.append(nn.Linear(2, 2))
