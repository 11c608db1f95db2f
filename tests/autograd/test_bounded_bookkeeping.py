"""Nothing grows in any loop a user can write: forward-only calls with or without no_grad,
graphs dropped without backward, and training loops. Counted, and traced with tracemalloc;
no timers."""
import gc
import os
import tracemalloc

import numpy as np
import pytest

from jitgrad import (
    SGD,
    CrossEntropyLoss,
    Embedding,
    Linear,
    LSTMCell,
    Sequential,
    Tanh,
    Tensor,
    no_grad,
)

LONG = os.environ.get("JITGRAD_LONG") == "1"
FORWARD_CALLS = 1_000_000 if LONG else 200_000

#: tracemalloc's peak growth allowed over a run: a leak of 100 bytes a call over 200,000
#: calls is 20 MB, so 1 MB catches anything that keeps per-call bookkeeping.
TRACED_GROWTH_BOUND = 2**20


def small_mlp():
    np.random.seed(0)
    return Sequential(Linear(4, 8), Tanh(), Linear(8, 3))


def bookkeeping(tensors):
    """The number of children entries held by ``tensors``."""
    return sum(len(t.children) for t in tensors)


def traced_growth(run, calls, warm=1_000):
    """Bytes traced memory grew from after ``warm`` calls of ``run`` to after ``calls``."""
    for _ in range(warm):
        run()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(calls - warm):
            run()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("mode", ["plain", "no_grad"])
def test_forward_only_calls_keep_bookkeeping_and_memory_flat(mode):
    np.random.seed(0)
    model = Linear(4, 3)  # one op a call: the bookkeeping is per op
    x = Tensor(np.ones((2, 4)))

    def call():
        if mode == "no_grad":
            with no_grad():
                model(x)
        else:
            model(x)

    growth = traced_growth(call, FORWARD_CALLS)
    assert bookkeeping(model.parameters()) == 0
    assert growth < TRACED_GROWTH_BOUND, f"traced memory grew {growth:,} bytes"


def test_graphs_dropped_without_backward_release_every_count():
    """Whole training graphs (loss included) built and dropped, with inputs that want grads."""
    model, criterion = small_mlp(), CrossEntropyLoss()
    x, target = Tensor(np.ones((5, 4)), autograd=True), Tensor(np.arange(5) % 3)

    def forward_then_drop():
        loss = criterion(model(x) * 2.0 + model(x), target)
        assert loss.creators is not None

    growth = traced_growth(forward_then_drop, 10_000)
    assert bookkeeping(model.parameters() + [x]) == 0
    assert growth < TRACED_GROWTH_BOUND, f"traced memory grew {growth:,} bytes"


def test_an_lstm_unrolled_and_dropped_releases_its_weights():
    np.random.seed(0)
    embed, cell = Embedding(6, 4), LSTMCell(4, 5, 6)
    for _ in range(50):
        hidden = cell.init_hidden(2)
        for t in range(5):
            output, hidden = cell(embed(Tensor(np.array([t, 1]))), hidden)
    del output, hidden
    assert bookkeeping(embed.parameters() + cell.parameters()) == 0


def test_a_graph_kept_alive_is_still_counted_and_back_propagates_exactly():
    """Children of live graphs stay counted (the book's accounting), including a tensor used
    several times and a dead-end branch, and backward gives the exact gradient."""
    a = Tensor(np.array([1.0, 2.0]), autograd=True)
    b = a * a            # a used twice by one op
    dead_end = a * 3.0   # never reaches the loss
    loss = (b + a).sum()
    assert a.children == {b.id: 2, dead_end.id: 1, loss.creators[0].id: 1}
    loss.backward()
    np.testing.assert_array_equal(a.grad.data, 2 * a.data + 1)
    del dead_end
    assert a.children == {}


def test_training_loop_with_evaluation_between_steps_stays_flat():
    model = small_mlp()
    optim, criterion = SGD(model.parameters(), lr=0.01), CrossEntropyLoss()
    x, target = Tensor(np.ones((5, 4))), Tensor(np.arange(5) % 3)

    def step_and_evaluate():
        criterion(model(x), target).backward()
        optim.step()
        model(x)  # an evaluation forward, no no_grad, dropped

    growth = traced_growth(step_and_evaluate, 5_000)
    assert bookkeeping(model.parameters()) == 0
    assert growth < TRACED_GROWTH_BOUND, f"traced memory grew {growth:,} bytes"


def test_a_100_000_op_chain_is_freed_without_recursion_errors():
    x = Tensor(np.ones(2), autograd=True)
    out = x
    for _ in range(100_000):
        out = out + 1.0
    del out  # the chain's tensors die one after another
    assert x.children == {}
