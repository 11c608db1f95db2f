"""Graph semantics: multi-use tensors, dead ends, depth, bookkeeping, buffers, second passes."""
import gc
import weakref

import numpy as np
import pytest

from jitgrad import SGD, Linear, RNNCell, Tensor


def leaf(*values):
    return Tensor(np.array(values, dtype=np.float64), autograd=True)


def test_tensor_used_several_times_gets_the_sum_of_its_gradients():
    a, b, c = leaf(1, 2, 3), leaf(2, 2, 2), leaf(5, 4, 3)
    d = a + b
    e = b + c
    f = d + e                      # b reaches f twice
    g = f * d                      # d is used twice as well
    g.backward(Tensor(np.ones(3)))
    # g = (a + 2b + c)(a + b): dg/db = 2(a + b) + (a + 2b + c)
    np.testing.assert_allclose(b.grad.data, 2 * (a.data + b.data) + (a.data + 2 * b.data + c.data))
    np.testing.assert_allclose(a.grad.data, (a.data + b.data) + (a.data + 2 * b.data + c.data))
    np.testing.assert_allclose(c.grad.data, a.data + b.data)


def test_same_tensor_twice_in_one_op():
    a = leaf(3.0, -1.0)
    (a * a).backward(Tensor(np.ones(2)))
    np.testing.assert_allclose(a.grad.data, [6.0, -2.0])


def test_dead_end_children_do_not_stall_the_pass():
    a = leaf(1.0, 2.0)
    h = a * a
    unused = h.sigmoid()           # a child of h that never leads to the loss
    loss = (h + a).sum()
    loss.backward()
    np.testing.assert_allclose(a.grad.data, 2 * a.data + 1)
    assert unused.grad is None and unused.creators == [h]


def test_rnn_unused_step_outputs_are_dead_ends():
    np.random.seed(0)
    cell = RNNCell(2, 3, 2)
    hidden = cell.init_hidden(batch_size=1)
    for _ in range(4):
        output, hidden = cell.forward(Tensor(np.ones((1, 2))), hidden)
    output.sum().backward()
    assert all(p.grad is not None for p in cell.get_parameters())


def test_children_are_counted_and_released():
    a = leaf(1.0, 2.0)
    b = a + a
    assert a.children == {b.id: 2}
    b.sum().backward()
    assert a.children == {}


def test_a_parameter_keeps_no_bookkeeping_across_steps():
    np.random.seed(0)
    layer = Linear(3, 2)
    optim = SGD(layer.get_parameters(), alpha=0.01)
    x = Tensor(np.ones((4, 3)))
    for step in range(200):
        out = layer.forward(x)
        unused = layer.forward(x)   # a dead end every step
        out.sum().backward()
        optim.step()
    assert all(len(p.children) == 0 for p in layer.get_parameters())


def test_finished_graph_is_garbage_collected():
    a = leaf(1.0, 2.0)
    out = (a * a).sigmoid()
    watcher = weakref.ref(out.creators[0])
    out.sum().backward()
    del out
    gc.disable()   # freed by reference counting alone, without the cycle collector
    try:
        assert watcher() is None
    finally:
        gc.enable()


def test_chain_of_100000_ops_backpropagates_without_recursion():
    x = leaf(1.0, 2.0)
    y = x
    for _ in range(50_000):       # two ops a step: 100,000 in a chain
        y = -(y * 1.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])
    del y  # freeing the chain must not overflow the C stack either


def test_gradient_buffers_are_never_shared():
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (a + b).backward(Tensor(np.ones(2)))
    assert not np.shares_memory(a.grad.data, b.grad.data)
    SGD([a, b], alpha=0.1).step()  # zeroes a's gradient after stepping...
    np.testing.assert_allclose(b.data, [2.9, 3.9])  # ...but b still stepped by its own


def test_gradient_buffer_is_not_the_one_passed_to_backward():
    a = leaf(1.0, 2.0)
    seed = Tensor(np.ones(2))
    a.backward(seed)
    a.grad.data *= 0
    np.testing.assert_allclose(seed.data, [1.0, 1.0])


def test_transpose_gradient_does_not_alias_its_input():
    w = Tensor(np.arange(6.0).reshape(2, 3), autograd=True)
    t = w.transpose().retain_grad()
    t.backward(Tensor(np.ones((3, 2))))
    assert not np.shares_memory(w.grad.data, t.grad.data)


def test_only_leaves_and_retained_tensors_keep_gradients():
    a = leaf(1.0, 2.0)
    inner, kept = a * 3.0, (a * 2.0).retain_grad()
    (inner * kept).sum().backward()
    assert inner.grad is None
    np.testing.assert_allclose(kept.grad.data, inner.data)
    np.testing.assert_allclose(a.grad.data, 12 * a.data)


def test_add_gives_each_input_its_own_buffer_even_through_chains():
    a, b, c = leaf(1.0), leaf(2.0), leaf(3.0)
    ((a + b) + (c + a)).backward(Tensor(np.ones(1)))   # every gradient is one borrowed array
    a.grad.data += 100
    np.testing.assert_allclose([b.grad.data[0], c.grad.data[0]], [1.0, 1.0])
    np.testing.assert_allclose(a.grad.data, [102.0])


def test_gradients_accumulate_until_zeroed():
    a = leaf(1.0, 2.0)
    (a * 2.0).sum().backward()
    (a * 3.0).sum().backward()
    np.testing.assert_allclose(a.grad.data, [5.0, 5.0])
    SGD([a]).zero()
    np.testing.assert_allclose(a.grad.data, [0.0, 0.0])


def test_second_backward_through_the_same_graph_raises():
    a = leaf(1.0, 2.0)
    loss = (a * a).sum()
    loss.backward()
    before = a.grad.data.copy()
    with pytest.raises(RuntimeError, match="already back-propagated"):
        loss.backward()
    np.testing.assert_array_equal(a.grad.data, before)


def test_backward_on_tensor_without_autograd_raises():
    with pytest.raises(RuntimeError, match="autograd=False"):
        Tensor([1.0]).backward()


def test_no_graph_without_autograd():
    a, b = Tensor([1.0]), Tensor([2.0])
    c = a + b
    assert c.creators is None and c.creation_op is None and not c.autograd
    assert a.children == {}


def test_graph_records_book_attributes():
    a, b = leaf(1.0), leaf(2.0)
    assert a.id != b.id
    c = a + b
    assert c.creators == [a, b] and c.creation_op == "add"
    assert a.expand(0, 2).creation_op == "expand_0"
    assert leaf(1.0, 2.0).expand(0, 3).sum(1).creation_op == "sum_1"


def test_ids_are_unique_and_use_no_random_numbers():
    state = np.random.get_state()[1].copy()
    ids = {Tensor([1.0]).id for _ in range(10_000)}
    assert len(ids) == 10_000
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_a_grad_of_another_shape_raises_instead_of_being_replaced():
    a = Tensor(np.ones((2, 3)), autograd=True)
    a.grad = Tensor(np.zeros(3))  # set by hand, of the wrong shape
    with pytest.raises(RuntimeError, match=r"backward: the gradient float64\[2, 3\] does not fit the "
                                           r"\.grad float64\[3\] already held"):
        (a * 2.0).sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.zeros(3))
