"""Bad input gets a clear exception naming the op and shapes, before any kernel runs.

Each op's own bad inputs are declared with it and tested through the registry
(tests/ops/test_registry.py); these are the cases around the ops."""
import numpy as np
import pytest

from jitgrad import SGD, Linear, Tensor
from tests.helpers.unchanged import assert_unchanged


def leaf(shape, dtype=np.float64):
    return Tensor(np.ones(shape, dtype=dtype), autograd=True)


@pytest.mark.parametrize("make_call", [
    lambda t: lambda: t + np.ones(3),   # an array operand of another shape
    lambda t: lambda: np.ones(3) * t,   # ... on the left, through Tensor's reflected ops
    lambda t: lambda: t - [1.0, 2.0, 3.0],
])
def test_elementwise_shape_mismatch_with_array_operands(make_call):
    t = leaf((2,))
    assert_unchanged([t], make_call(t), ValueError, r"(add|mul|sub): shapes float64\[")


def test_linear_rejects_a_batch_of_the_wrong_width():
    np.random.seed(0)
    layer = Linear(3, 2)
    batch = Tensor(np.ones((4, 5)))
    assert_unchanged(layer.get_parameters(), lambda: layer.forward(batch), ValueError,
                     r"linear: cannot compute float64\[4, 5\] @ float64\[3, 2\] \+ float64\[2\]")


@pytest.mark.parametrize("data, error, match", [
    ([[1, 2], [3]], ValueError, "Tensor: data is not a rectangular array"),
    (["a", "b"], TypeError, "Tensor: data must be numeric"),
    (np.array([1, None], dtype=object), TypeError, "Tensor: data must be numeric"),
    ([1 + 2j], TypeError, "Tensor: data must be numeric"),
    (None, TypeError, "Tensor: data must be numeric"),
    ([[[1.0, 2.0]], [[3.0]]], ValueError, "Tensor: data is not a rectangular array"),
])
def test_bad_tensor_data(data, error, match):
    with pytest.raises(error, match=match):
        Tensor(data)


def test_bad_scalar_operand():
    t = leaf((2,))
    assert_unchanged([t], lambda: t + "x", TypeError, "Tensor: data must be numeric")


def test_zero_dim_operands():
    scalar = Tensor(np.array(2.0), autograd=True)
    assert_unchanged([scalar], lambda: scalar.mm(scalar), ValueError, r"mm: cannot multiply float64\[\]")
    assert_unchanged([scalar], lambda: scalar.softmax(), ValueError, "softmax: needs at least 1 dim")
    assert_unchanged([scalar], lambda: scalar.index_select(Tensor([0])), ValueError, "index_select")
    assert_unchanged([scalar], lambda: scalar.cross_entropy(Tensor(0)), ValueError,
                     r"cross_entropy: logits need a non-empty last dim of classes, got float64\[\]")
    assert_unchanged([scalar], lambda: scalar.sum(0), IndexError,
                     r"sum: dim 0 is out of range .* \(a 0-d tensor has no dims\)")


def test_zero_dim_tensors_work_where_a_scalar_makes_sense():
    scalar = Tensor(np.array(2.0), autograd=True)
    matrix = leaf((2, 3))
    out = (matrix * scalar + scalar.tanh()).sum() + scalar.expand(0, 3).sum()
    out.backward()
    # d/d scalar: sum(matrix) + 6 uses of tanh(scalar) + 3 copies
    np.testing.assert_allclose(scalar.grad.data, 6 + 6 * (1 - np.tanh(2.0) ** 2) + 3)
    np.testing.assert_allclose(matrix.grad.data, np.full((2, 3), 2.0))


def test_an_empty_batch_goes_through_linear():
    np.random.seed(0)
    layer = Linear(3, 2)
    out = layer.forward(Tensor(np.ones((0, 3))))
    assert out.data.shape == (0, 2)
    out.backward()
    for parameter in layer.get_parameters():
        np.testing.assert_array_equal(parameter.grad.data, np.zeros_like(parameter.data))


@pytest.mark.parametrize("indices", [[], np.array([], dtype=np.int64), np.zeros((2, 0), dtype=int)])
def test_an_empty_index_list_selects_no_rows(indices):
    table = leaf((5, 3))
    rows = table.index_select(Tensor(indices))
    assert rows.data.shape == np.shape(indices) + (3,)
    rows.backward()
    np.testing.assert_array_equal(table.grad.data, np.zeros((5, 3)))


def test_rows_of_width_zero_can_be_selected():
    table = leaf((5, 0))
    rows = table.index_select(Tensor([1, 1, 4]))
    assert rows.data.shape == (3, 0)
    rows.backward()
    assert table.grad.data.shape == (5, 0)


def test_softmax_over_no_classes_raises_but_no_rows_is_fine():
    no_classes = leaf((2, 0))
    assert_unchanged([no_classes], no_classes.softmax, ValueError,
                     r"softmax: needs .* a non-empty dim .* got float64\[2, 0\]")
    assert leaf((0, 3)).softmax().data.shape == (0, 3)


def test_unsupported_float_dtype():
    t = Tensor(np.ones(2, dtype=np.longdouble)) if np.longdouble != np.float64 else None
    if t is None:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="tanh: unsupported dtype"):
        t.tanh()


def test_backward_with_wrong_gradient_shape():
    a = leaf((2, 3))
    out = a * 2.0
    assert_unchanged([a], lambda: out.backward(Tensor(np.ones((3, 2)))), ValueError,
                     r"backward: gradient float64\[3, 2\] does not match the tensor's shape float64\[2, 3\]")
    out.backward(Tensor(np.ones((2, 3))))  # the graph is still usable after the refusal
    np.testing.assert_array_equal(a.grad.data, np.full((2, 3), 2.0))


@pytest.mark.parametrize("grad, error, match", [
    ([[1.0], [1.0, 2.0]], ValueError, "backward: gradient is not a rectangular array"),
    (np.array(["a", "b"]), TypeError, "backward: gradient must be numeric"),
    ("x", TypeError, "backward: gradient must be numeric"),
])
def test_backward_with_a_gradient_that_is_not_numbers(grad, error, match):
    a = leaf((2,))
    out = a * 2.0
    assert_unchanged([a], lambda: out.backward(grad), error, match)


def test_optimizer_step_after_a_dtype_change_changes_nothing():
    a, b = leaf((2,)), leaf((3,))
    optim = SGD([a, b], alpha=0.1, momentum=0.9)
    (a.sum() + b.sum()).backward()
    b.data = b.data.astype(np.float32)
    assert_unchanged([a, b], optim.step, TypeError,
                     r"SGD.step: parameter 1 is now float32\[3\] but was float64 .*model.to\(dtype\)")
    assert optim.state == {}


def test_expand_too_large_to_allocate_names_the_op():
    t = leaf((1000,))
    assert_unchanged([t], lambda: t.expand(0, 2**50), MemoryError,
                     r"expand: 1125899906842624 copies of float64\[1000\] need")
