"""Benchmark a training step of your own model: an MLP on random data, eager, through
``jitgrad.compile``, and in PyTorch when it is installed (docs/benchmarking.md).

    pip install "jitgrad[bench]"
    pytest --benchmark-only --jitgrad-profile examples/benchmark_your_model
"""
import numpy as np
import pytest

import jitgrad
import jitgrad.functional as F
from jitgrad import SGD, Linear, ReLU, Sequential, Tensor

BATCH, INPUTS, HIDDEN, CLASSES = 64, 784, 256, 10


def batch(seed=0):
    """One batch of float32 inputs and integer labels (the same batch at every step)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, INPUTS)).astype(np.float32), rng.integers(0, CLASSES, BATCH)


def jitgrad_step():
    model = Sequential(Linear(INPUTS, HIDDEN, dtype=np.float32), ReLU(),
                       Linear(HIDDEN, CLASSES, dtype=np.float32))
    optimizer = SGD(model.parameters(), lr=0.01)
    x, y = map(Tensor, batch())

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_mlp_step(jitgrad_benchmark, compiled):
    step = jitgrad_step()
    loss = jitgrad_benchmark(jitgrad.compile(step) if compiled else step, group="mlp-float32")
    assert np.isfinite(loss.item())


def test_mlp_step_pytorch(jitgrad_benchmark):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(INPUTS, HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, CLASSES))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = (torch.from_numpy(array) for array in batch())

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    loss = jitgrad_benchmark(step, group="mlp-float32")
    assert np.isfinite(loss.item())
