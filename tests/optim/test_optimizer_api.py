"""What an optimizer takes (any iterable, lr or alpha, groups), what a step skips, and state
that resumes exactly; against PyTorch's optimizers when torch is installed."""
import warnings

import numpy as np
import pytest

import jitgrad
from jitgrad import SGD, Adam, AdamW, Linear, RMSprop, Sequential, Tanh, Tensor

OPTIMIZERS = {
    "sgd": lambda ps, **kw: SGD(ps, lr=0.1, **kw),
    "momentum": lambda ps, **kw: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, **kw),
    "nesterov": lambda ps, **kw: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, **kw),
    "adam": lambda ps, **kw: Adam(ps, lr=0.01, weight_decay=0.1, **kw),
    "adamw": lambda ps, **kw: AdamW(ps, lr=0.01, **kw),
    "rmsprop": lambda ps, **kw: RMSprop(ps, lr=0.01, **kw),
}


def model(seed=0, dtype=np.float64):
    np.random.seed(seed)
    return Sequential([Linear(3, 4, dtype=dtype), Tanh(), Linear(4, 2, dtype=dtype)])


def train_step(net, optim, x):
    optim.zero_grad()
    (net(Tensor(x)) * net(Tensor(x))).sum().backward()
    optim.step()


@pytest.mark.parametrize("wrap", [list, tuple, iter, lambda ps: (p for p in ps),
                                  lambda ps: filter(lambda p: p.autograd, ps)])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_any_iterable_of_parameters_is_read_once_and_trained(wrap, kind):
    net = model()
    before = [p.data.copy() for p in net.parameters()]
    optim = OPTIMIZERS[kind](wrap(net.parameters()))
    assert len(optim.parameters) == 4
    train_step(net, optim, np.ones((2, 3)))
    assert all(not np.array_equal(b, p.data) for b, p in zip(before, net.parameters()))


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_an_empty_parameter_list_raises_naming_the_optimizer(kind):
    name = type(OPTIMIZERS[kind]([Tensor(np.ones(1), autograd=True)])).__name__
    with pytest.raises(ValueError, match=f"{name}: got an empty list of parameters"):
        OPTIMIZERS[kind](iter([]))


def test_parameters_attribute_without_the_call_is_taken_as_the_call():
    net = model()
    assert SGD(net.parameters, lr=0.1).parameters == net.parameters()


def test_a_single_tensor_is_refused():
    with pytest.raises(TypeError, match="SGD: parameters must be an iterable of Tensors, got a single Tensor"):
        SGD(Tensor(np.ones(2), autograd=True), lr=0.1)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_lr_and_alpha_are_one_setting(cls):
    p = [Tensor(np.ones(2), autograd=True)]
    assert cls(p, lr=0.05).alpha == cls(p, alpha=0.05).lr == 0.05
    assert cls(p, 0.05).param_groups[0]["lr"] == 0.05
    with pytest.raises(TypeError, match=f"{cls.__name__}: pass the learning rate as lr or as alpha, not both"):
        cls(p, lr=0.1, alpha=0.1)


def test_setting_alpha_sets_every_group():
    a, b = Tensor(np.ones(2), autograd=True), Tensor(np.ones(2), autograd=True)
    optim = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    with pytest.raises(AttributeError, match="different learning rates"):
        optim.alpha
    optim.alpha = 0.2
    assert [g["lr"] for g in optim.param_groups] == [0.2, 0.2]


def test_param_groups_take_their_own_settings():
    a, b = Tensor(np.ones(2), autograd=True), Tensor(np.ones(2), autograd=True)
    optim = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = Tensor(np.ones(2)), Tensor(np.ones(2))
    optim.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['momentun'\]"):
        SGD([{"params": [a], "momentun": 0.9}], lr=0.1)
    with pytest.raises(ValueError, match="given twice"):
        SGD([a, a], lr=0.1)


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_parameters_without_gradient_are_skipped_and_keep_their_state(kind):
    used, unused = Tensor(np.ones(2), autograd=True), Tensor(np.ones(3), autograd=True)
    frozen = Tensor(np.ones(2), autograd=False)
    optim = OPTIMIZERS[kind]([used, unused, frozen])
    for _ in range(2):
        (used * used).sum().backward()
        frozen.grad = Tensor(np.ones(2))  # a gradient set by hand on an autograd=False tensor
        optim.step()
    np.testing.assert_array_equal(unused.data, np.ones(3))
    np.testing.assert_array_equal(frozen.data, np.ones(2))
    assert not np.array_equal(used.data, np.ones(2))
    assert set(optim.state) <= {used}  # only the used parameter has state


def test_a_parameter_used_only_sometimes_stops_moving_when_unused():
    """After a step the gradients are released, so last step's gradient is not applied again
    and momentum does not carry a parameter that this step did not use."""
    a, b = Tensor(np.ones(2), autograd=True), Tensor(np.ones(2), autograd=True)
    optim = SGD([a, b], lr=0.1, momentum=0.9)
    (a * b).sum().backward()
    optim.step()
    assert a.grad is None and b.grad is None
    b_after_first = b.data.copy()
    (a * 2.0).sum().backward()
    optim.step()
    np.testing.assert_array_equal(b.data, b_after_first)


def test_a_step_with_no_gradient_at_all_warns_once():
    optim = SGD([Tensor(np.ones(2), autograd=True)], lr=0.1)
    with pytest.warns(RuntimeWarning, match=r"SGD.step: no parameter has a gradient.*backward\(\)"):
        optim.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.step()


def test_released_gradient_buffers_are_reused_by_backward():
    net = model()
    optim = SGD(net.parameters(), lr=0.1)
    train_step(net, optim, np.ones((2, 3)))
    kept = [p._grad_buffer for p in net.parameters()]
    assert all(g is not None and not g.data.any() for g in kept)
    buffers = [g.data for g in kept]
    (net(Tensor(np.ones((2, 3))))).sum().backward()
    assert all(p.grad is g and p.grad.data is b for p, g, b in zip(net.parameters(), kept, buffers))


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_on_optimizers_and_layers(set_to_none):
    net = model()
    for owner in (SGD(net.parameters(), lr=0.1), net):
        net(Tensor(np.ones((2, 3)))).sum().backward()
        owner.zero_grad(set_to_none=set_to_none)
        for p in net.parameters():
            assert p.grad is None if set_to_none else not p.grad.data.any()


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_a_parameter_whose_dtype_changed_raises_with_the_fix(kind):
    net = model()
    optim = OPTIMIZERS[kind](net.parameters())
    train_step(net, optim, np.ones((2, 3)))
    net.to(np.float32)
    with pytest.raises(TypeError, match=r"parameter 0 is now float32\[3, 4\] but was float64.*model.to"):
        train_step(net, optim, np.ones((2, 3), dtype=np.float32))


@pytest.mark.parametrize("kind", ["momentum", "adam", "rmsprop"])
def test_a_parameter_removed_from_a_group_leaves_the_others_their_own_state(kind):
    # state was once kept by position: removing the first group's first parameter handed its
    # momentum (3x4) to the next parameter (4,), and the kernel wrote past that buffer's end
    x = np.random.default_rng(2).standard_normal((5, 3))
    net_a, net_b = model(), model()
    optim_a = OPTIMIZERS[kind]([{"params": net_a.parameters()[:2]}, {"params": net_a.parameters()[2:]}])
    optim_b = OPTIMIZERS[kind]([{"params": net_b.parameters()[:2]}, {"params": net_b.parameters()[2:]}])
    for _ in range(2):
        train_step(net_a, optim_a, x)
        train_step(net_b, optim_b, x)
    optim_a.param_groups[0]["params"].pop(0)  # net_a's first weight is frozen from now on
    net_a.parameters()[0].autograd = False
    net_b.parameters()[0].autograd = False  # net_b: frozen in place, its state kept
    for _ in range(3):
        train_step(net_a, optim_a, x)
        train_step(net_b, optim_b, x)
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("kind", ["momentum", "adam", "rmsprop"])
def test_a_parameter_whose_shape_changed_raises_and_nothing_is_stepped(kind):
    net = model()
    optim = OPTIMIZERS[kind](net.parameters())
    train_step(net, optim, np.ones((2, 3)))
    bias = net.parameters()[1]
    bias.data, bias.grad = np.zeros(5), Tensor(np.ones(5))
    before = [p.data.copy() for p in net.parameters()]
    with pytest.raises(ValueError, match=r"parameter 1 is now float64\[5\] but its state '\w+' is float64\[4\]"):
        optim.step()
    for p, old in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.data, old)


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_state_dict_resumes_training_exactly(kind):
    x = np.random.default_rng(1).standard_normal((5, 3))
    net_a = model()
    optim_a = OPTIMIZERS[kind](net_a.parameters())
    for _ in range(3):
        train_step(net_a, optim_a, x)
    net_b = model(seed=7)
    net_b.load_state_dict(net_a.state_dict())
    optim_b = OPTIMIZERS[kind](net_b.parameters())
    optim_b.load_state_dict(optim_a.state_dict())
    for _ in range(3):
        train_step(net_a, optim_a, x)
        train_step(net_b, optim_b, x)
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_of_another_optimizer_shape_raises():
    optim = Adam(model().parameters())
    other = Adam([Tensor(np.ones(2), autograd=True)])
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: the state has groups of \[1\] parameters, this optimizer \[4\]"):
        optim.load_state_dict(other.state_dict())


TORCH_KINDS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "momentum": ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    "dampening": ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    "adam": ("Adam", dict(lr=0.01, weight_decay=0.1)),
    "adamw": ("AdamW", dict(lr=0.01, betas=(0.8, 0.99))),
    "rmsprop": ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.05)),
}


@pytest.mark.parametrize("kind", sorted(TORCH_KINDS))
def test_updates_match_pytorch(kind):
    torch = pytest.importorskip("torch")
    name, settings = TORCH_KINDS[kind]
    rng = np.random.default_rng(3)
    start, grads = rng.standard_normal(6), rng.standard_normal((5, 6))
    ours = Tensor(start, autograd=True)
    theirs = torch.tensor(start, requires_grad=True)
    optim_ours = getattr(jitgrad.optim, name)([ours], **settings)
    optim_theirs = getattr(torch.optim, name)([theirs], **settings)
    for grad in grads:
        ours.grad = Tensor(grad)
        theirs.grad = torch.tensor(grad)
        optim_ours.step()
        optim_theirs.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
