"""In-place operations with PyTorch's semantics: parameters updated under ``no_grad()``, a
leaf that requires grad refused outside it, ``p.data += ...`` written into the array, and a
backward pass refused when a tensor it needs was written since its op ran."""
import warnings

import numpy as np
import pytest

import jitgrad
from jitgrad import Linear, MSELoss, Tensor, no_grad

LEAF_ERROR = "a leaf tensor that requires grad is used in an in-place operation"
VERSION_ERROR = "modified by an inplace operation"


def _model_and_data(seed=0):
    np.random.seed(seed)
    model = Linear(3, 1)
    x, y = Tensor(np.random.randn(8, 3)), Tensor(np.random.randn(8, 1))
    return model, x, y


def _loss(model, x, y):
    return MSELoss()(model(x), y).sum()


def _reference_losses(steps, lr):
    """Losses of the out-of-place update (p.data = p.data - lr * grad), the book's way."""
    model, x, y = _model_and_data()
    losses = []
    for _ in range(steps):
        loss = _loss(model, x, y)
        loss.backward()
        for p in model.parameters():
            p.data = p.data - lr * p.grad.data
            p.grad = None
        losses.append(loss.item())
    return losses


def test_minus_equals_on_the_loop_variable_updates_the_parameter():
    """``for p in model.parameters(): p -= lr * p.grad`` used to rebind p and train nothing."""
    model, x, y = _model_and_data()
    arrays = [p.data for p in model.parameters()]
    losses = []
    for _ in range(5):
        loss = _loss(model, x, y)
        loss.backward()
        with no_grad():
            for p in model.parameters():
                p -= 0.01 * p.grad
                p.grad = None
        losses.append(loss.item())
    np.testing.assert_allclose(losses, _reference_losses(5, 0.01), rtol=1e-12)
    assert losses[-1] < losses[0]
    assert all(p.data is a and p.autograd for p, a in zip(model.parameters(), arrays))


def test_minus_equals_on_a_leaf_outside_no_grad_raises_and_changes_nothing():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (a * a).sum().backward()
    before = a.data.copy()
    with pytest.raises(RuntimeError, match=LEAF_ERROR):
        a -= 0.1 * a.grad
    np.testing.assert_array_equal(a.data, before)
    with no_grad():
        a -= 0.1 * a.grad
    np.testing.assert_allclose(a.data, before - 0.1 * 2 * before)
    assert a.requires_grad and a.is_leaf


def test_data_plus_equals_a_tensor_writes_into_the_array():
    """``p.data += -lr * p.grad`` used to replace the array by a Tensor."""
    model, x, y = _model_and_data()
    arrays = [p.data for p in model.parameters()]
    losses = []
    for _ in range(5):
        loss = _loss(model, x, y)
        loss.backward()
        for p in model.parameters():
            p.data += -0.01 * p.grad
            p.grad = None
        losses.append(loss.item())
    np.testing.assert_allclose(losses, _reference_losses(5, 0.01), rtol=1e-12)
    assert all(type(p.data) is np.ndarray and p.data is a
               for p, a in zip(model.parameters(), arrays))


@pytest.mark.parametrize("write", [
    lambda t: t.add_(1.0), lambda t: t.mul_(2.0), lambda t: t.zero_(), lambda t: t.fill_(3.0),
    lambda t: t.copy_(np.ones(3)), lambda t: t.clamp_(max=0.0), lambda t: t.uniform_(),
    lambda t: t.normal_(),
])
def test_an_inplace_write_to_a_saved_input_makes_backward_raise(write):
    w = Tensor(np.array([0.5, 1.5, 2.5]), requires_grad=True)
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    y = (w * 2.0 + w * x).sum()  # w * 2.0 could deliver its share before w * x is reached
    write(x)
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        y.backward()
    assert w.grad is None  # raised before any gradient was delivered


def test_a_parameter_written_under_no_grad_before_backward_makes_backward_raise():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (w * w).sum()
    with no_grad():
        w.add_(1.0)
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        y.backward()


def test_an_op_output_written_under_no_grad_makes_backward_raise():
    """exp's backward reads its output: writing it would give a wrong gradient."""
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = x.exp()
    with no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        y.sum().backward()


def test_writes_before_the_op_and_after_backward_are_fine():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = Tensor(np.array([3.0, 4.0]))
    x.mul_(2.0)  # before the op: its backward sees the values it used
    (w * x).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [6.0, 8.0])
    x.zero_()  # after backward
    w.grad.zero_()
    np.testing.assert_array_equal(w.grad.data, [0.0, 0.0])


def test_inplace_inside_the_graph_is_refused_and_plus_equals_grows_the_graph():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = w * 2.0
    with pytest.raises(RuntimeError, match="add_: in-place operations inside the graph"):
        y.add_(1.0)
    z = Tensor(np.zeros(2))
    with pytest.raises(RuntimeError, match="inside the graph"):
        z.add_(y)  # y's gradient would be lost
    total = y
    total += w  # the book's loss += ...: a new node, as total = total + w
    total -= 1.0
    total.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(z.data, [0.0, 0.0])


def test_inplace_methods_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    ours, theirs = Tensor(a), torch.tensor(a)
    for name, args in [("add_", (b,)), ("sub_", (b,)), ("mul_", (b,)), ("div_", (b + 3.0,)),
                       ("clamp_", (-0.5, 0.5)), ("add_", (b,))]:
        result = getattr(ours, name)(*(Tensor(x) if isinstance(x, np.ndarray) else x for x in args))
        getattr(theirs, name)(*(torch.tensor(x) if isinstance(x, np.ndarray) else x for x in args))
        assert result is ours
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-15)
    ours.add_(Tensor(b), alpha=-0.5)
    theirs.add_(torch.tensor(b), alpha=-0.5)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-15)


def test_inplace_bad_input_names_the_op_and_changes_nothing():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"add_: cannot write the result for operand float64\[3, 2\]"):
        t.add_(Tensor(np.ones((3, 2))))
    counts = Tensor(np.array([1, 2], dtype=np.int64))
    with pytest.raises(TypeError, match=r"mul_: cannot write .* into int64\[2\]"):
        counts.mul_(0.5)
    with pytest.raises(ValueError, match="copy_: the source float64\\[4\\] does not broadcast"):
        t.copy_(np.ones(4))
    np.testing.assert_array_equal(t.data, np.ones((2, 3)))
    np.testing.assert_array_equal(counts.data, [1, 2])


def test_uniform_and_normal_draw_from_the_generator_given():
    g1, g2 = jitgrad.Generator().manual_seed(3), jitgrad.Generator().manual_seed(3)
    a = Tensor(np.zeros(1000, dtype=np.float32)).uniform_(-2.0, 2.0, generator=g1)
    b = Tensor(np.zeros(1000, dtype=np.float32)).uniform_(-2.0, 2.0, generator=g2)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32 and -2.0 <= a.data.min() and a.data.max() < 2.0
    n = Tensor(np.zeros(20000)).normal_(1.0, 3.0, generator=g1)
    assert abs(n.data.mean() - 1.0) < 0.1 and abs(n.data.std() - 3.0) < 0.1


def test_compile_runs_a_step_with_inplace_updates_eagerly_with_its_warning():
    model, x, y = _model_and_data()

    def step(x, y):
        loss = _loss(model, x, y)
        loss.backward()
        with no_grad():
            for p in model.parameters():
                p -= 0.01 * p.grad
                p.grad = None
        return loss

    compiled = jitgrad.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = [compiled(x, y).item() for _ in range(5)]
    assert any("sub_" in str(w.message) and "eagerly" in str(w.message) for w in caught)
    np.testing.assert_allclose(losses, _reference_losses(5, 0.01), rtol=1e-12)
