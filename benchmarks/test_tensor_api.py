"""The Tensor level's own costs: a small eager graph, forward and backward, where the per-op
bookkeeping (graph edges, the in-place version check) is most of the time; and a parameter
update written PyTorch's way (``p -= lr * p.grad`` under ``no_grad()``) beside the book's
(``p.data -= p.grad.data * lr``) and an optimizer's step.

    python -m pytest benchmarks/test_tensor_api.py --benchmark-only -p no:randomly
"""
import numpy as np
import pytest

from jitgrad import Tensor, no_grad
from jitgrad.optim import SGD

SECONDS = 0.5


def _parameters(shapes, seed=0):
    rng = np.random.default_rng(seed)
    parameters = [Tensor(rng.standard_normal(shape), autograd=True) for shape in shapes]
    for p in parameters:
        p.grad = Tensor(rng.standard_normal(p.shape))
    return parameters


def test_small_graph(measure):
    """Three (2, 4) x (4, 4) layers with a scale, a shift and tanh: 13 ops and their backward."""
    weights = _parameters([(4, 4)] * 3)
    x = Tensor(np.random.default_rng(1).standard_normal((2, 4)))

    def step():
        h = x
        for w in weights:
            h = (h.mm(w) * 0.5 + 1.0).tanh()
        h.sum().backward()
        for w in weights:
            w.grad = None
    measure(step, group="tensor-small-graph", seconds=SECONDS)


UPDATES = {
    "pytorch_inplace": lambda parameters: _inplace(parameters),
    "book_data": lambda parameters: [_book(p) for p in parameters],
}


def _inplace(parameters):
    with no_grad():
        for p in parameters:
            p -= 0.01 * p.grad


def _book(p):
    p.data -= p.grad.data * 0.01


@pytest.mark.parametrize("style", [*UPDATES, "optimizer"])
def test_parameter_update(measure, style):
    """One update of six parameters of an MLP's shapes (784-128-64-10)."""
    parameters = _parameters([(784, 128), (128,), (128, 64), (64,), (64, 10), (10,)])
    if style == "optimizer":
        optimizer = SGD(parameters, lr=0.01)

        def update():
            optimizer.step(zero=False)  # the gradients stay for the next call
    else:
        def update():
            UPDATES[style](parameters)
    measure(update, group="tensor-parameter-update", seconds=SECONDS, style=style)
