"""Long runs: memory and bookkeeping stay flat, deep unrolls back-propagate, and two threads
train two models exactly as they would one at a time.

By default the runs are shortened to keep the suite fast; ``JITGRAD_LONG=1`` runs the full
sizes (10,000 training steps, a 100,000-step recurrent unroll). Run with ``-s`` to see the
measurements.
"""
import concurrent.futures
import gc
import os
import threading

import numpy as np
import pytest

from jitgrad import SGD, Linear, MSELoss, RNNCell, Sequential, Tanh, Tensor

LONG = os.environ.get("JITGRAD_LONG") == "1"
TRAINING_STEPS = 10_000 if LONG else 1_000
UNROLL_STEPS = 100_000 if LONG else 10_000

#: How much RSS may grow from a tenth of the way through training to the end. A step's graph
#: kept alive would cost ~0.3 MB a step; a leak of more than ~2.3 KB a step fails the default
#: run, more than ~230 bytes a step the full one.
RSS_GROWTH_BOUND = 2 * 2**20


def mlp(seed, sizes=(784, 128, 10)):
    """Linear, Tanh, Linear (float64, the book's initialisers); the default is mlp_small."""
    n_inputs, n_hidden, n_classes = sizes
    np.random.seed(seed)
    return Sequential([Linear(n_inputs, n_hidden), Tanh(), Linear(n_hidden, n_classes)])


def batches(seed, n_inputs=784, size=100, count=10):
    """``count`` fixed batches of random inputs (size, n_inputs), one-hot targets (size, 10)."""
    rng = np.random.default_rng(seed)
    return [(Tensor(rng.random((size, n_inputs))), Tensor(np.eye(10)[rng.integers(0, 10, size)]))
            for _ in range(count)]


def train(model, data, steps, after_step=lambda step: None, alpha=5e-5):
    """SGD on the MSE against one-hot targets, cycling through ``data``; the last loss."""
    criterion, optim = MSELoss(), SGD(model.get_parameters(), alpha=alpha)
    for step in range(1, steps + 1):
        images, targets = data[step % len(data)]
        loss = criterion.forward(model.forward(images), targets)
        loss.backward(Tensor(np.ones_like(loss.data)))
        optim.step()
        after_step(step)
    return loss.data.sum()


def rss_bytes():
    """Resident memory of this process now (Linux's /proc/self/statm counts pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def live_tensors():
    # other tests may leave cyclic garbage holding Tensors; collect it so the count is ours.
    # type(), not isinstance(): the latter reads __class__, which some of torch's objects
    # (loaded by other tests) answer with a deprecation warning
    gc.collect()
    return sum(type(obj) is Tensor for obj in gc.get_objects())


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_training_keeps_memory_and_bookkeeping_flat():
    model, data = mlp(0), batches(0)
    kept = model.get_parameters() + [tensor for pair in data for tensor in pair]
    checkpoint = TRAINING_STEPS // 10
    measured = {}

    def after_step(step):
        # parameters and the data batches reused every step must not collect children
        assert not any(tensor.children for tensor in kept), f"children grew at step {step}"
        if step in (1, checkpoint, TRAINING_STEPS):
            measured[step] = rss_bytes(), live_tensors()

    first_loss = train(model, data, 1)
    last_loss = train(model, data, TRAINING_STEPS, after_step)
    (rss_start, tensors_start), (rss_end, tensors_end) = (measured[checkpoint],
                                                          measured[TRAINING_STEPS])
    print(f"\nRSS at step {checkpoint}: {rss_start / 2**20:.2f} MiB, at step {TRAINING_STEPS}: "
          f"{rss_end / 2**20:.2f} MiB ({(rss_end - rss_start) / 2**10:+.0f} KiB); "
          f"{tensors_end} live Tensors; loss {first_loss:.1f} -> {last_loss:.1f}")
    assert rss_end - rss_start < RSS_GROWTH_BOUND
    assert tensors_end == tensors_start == measured[1][1]
    assert last_loss < first_loss


def contracting_rnn():
    """A tiny tanh RNNCell whose hidden-to-hidden map halves distances, so the influence of
    a step on the gradient dies out geometrically with its distance from the end."""
    np.random.seed(0)
    cell = RNNCell(1, 2, 1, activation="tanh")
    w_hh = cell.w_hh.weight.data
    w_hh *= 0.5 / np.linalg.norm(w_hh, 2)
    return cell


def unroll(cell, hidden, steps):
    """Run ``steps`` steps on a constant input; the last output and the hidden state before
    the last 60 steps (their gradients are all that remain above 2**-60)."""
    x = Tensor(np.ones((1, 1)))
    for step in range(steps):
        if step == steps - 60:
            hidden_before_tail = hidden.data.copy()
        output, hidden = cell.forward(x, hidden)
    return output, hidden_before_tail


def test_long_recurrent_unroll_backpropagates_without_recursion():
    cell = contracting_rnn()
    output, hidden_before_tail = unroll(cell, cell.init_hidden(), UNROLL_STEPS)
    output.sum().backward()      # ~4 ops per step on the hidden path: 4 * UNROLL_STEPS deep
    del output                   # freeing the unrolled graph must not overflow the C stack
    full = [p.grad.data.copy() for p in cell.get_parameters()]
    for p in cell.get_parameters():
        p.grad = None
    tail_output, _ = unroll(cell, Tensor(hidden_before_tail, autograd=True), 60)
    tail_output.sum().backward()
    print(f"\nback-propagated a {UNROLL_STEPS:,}-step RNN unroll")
    for full_grad, p in zip(full, cell.get_parameters()):
        np.testing.assert_allclose(full_grad, p.grad.data, rtol=1e-12, atol=1e-15)


def test_two_threads_train_like_one_at_a_time():
    # small matrices: BLAS runs each product on one thread, so the two training threads get
    # the two cores instead of fighting over BLAS's own threads

    def fresh(seed):  # built in this thread: layers draw from NumPy's global RNG
        return mlp(seed, sizes=(64, 32, 10)), batches(seed, n_inputs=64, size=20)

    def train_and_read(model, data, start=lambda: None):
        start()
        train(model, data, steps=300, alpha=5e-4)
        return [p.data for p in model.get_parameters()]

    one_at_a_time = [train_and_read(*fresh(seed)) for seed in (1, 2)]
    models = [fresh(seed) for seed in (1, 2)]
    start_together = threading.Barrier(2).wait
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(train_and_read, *model, start_together) for model in models]
        in_threads = [future.result() for future in futures]
    for alone, threaded in zip(one_at_a_time, in_threads):
        for a, b in zip(alone, threaded):
            np.testing.assert_array_equal(a, b)


def test_tensor_ids_stay_unique_across_threads():
    def make_ids():
        return [Tensor([0.0]).id for _ in range(20_000)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ids = [i for future in [pool.submit(make_ids) for _ in range(4)] for i in future.result()]
    assert len(set(ids)) == len(ids)
