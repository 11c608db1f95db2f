"""Gradients of random graphs of every op: against finite differences in float64, against
PyTorch's autograd (when installed), and float32 against float64.

``random_graphs.programs()`` draws the graphs; the hypothesis profile in ``conftest.py`` sets
how many and whether they are the same on every run (see docs/tests.md).
"""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jitgrad import Tensor
from jitgrad.ops import unary
from tests.helpers.gradcheck import assert_tensor_gradients
from tests.helpers.random_graphs import (COMMON_OPS, Node, Program, leaf_values, programs, run,
                                         run_every_node)

SEEDS = st.integers(0, 2**32 - 1)

#: float32's unit roundoff: one rounding moves a value by at most this fraction of it.
FLOAT32_ROUNDOFF = 2.0 ** -24

#: How many float32 roundings of the largest magnitude on its path a float32 result may be off
#: by (``float32_tolerances``). The worst seen in 20,000 random graphs was 11; one rounding
#: through float16 (unit roundoff 2**-11) is 8,192 of them.
FLOAT32_ROUNDINGS = 64


def leaves_of(program, seed, dtype=np.float64):
    return [Tensor(value, autograd=True) for value in leaf_values(program, seed, dtype)]


def output_and_gradients(program, seed, dtype):
    """The output of ``program`` and the gradient of sum(output) for each leaf (None where
    the output does not depend on it)."""
    leaves = leaves_of(program, seed, dtype)
    out = run(program, leaves)
    out.backward()
    return out.data, [None if leaf.grad is None else leaf.grad.data for leaf in leaves]


@given(programs(), SEEDS)
def test_random_graph_gradients_match_finite_differences(program, seed):
    leaves = leaves_of(program, seed)
    leads = program.leads_to_output()
    used = [leaf for leaf, used in zip(leaves, leads) if used]
    assert_tensor_gradients(lambda: run(program, leaves), used, seed=seed, rtol=1e-5, atol=1e-6)
    assert all(leaf.grad is None for leaf, used in zip(leaves, leads) if not used)


def torch_ops(torch):
    """The random graphs' ops in PyTorch, where it spells them differently from jitgrad."""
    return {
        **COMMON_OPS,
        "sum": lambda x, dim: x.sum() if dim is None else x.sum(dim),
        "expand": lambda x, dim, copies: x.unsqueeze(dim).expand(
            *x.shape[:dim], copies, *x.shape[dim:]),
        "transpose": lambda x: x.permute(tuple(reversed(range(x.dim())))),
        "softmax": lambda x: x.softmax(-1),
        "index_select": lambda x, indices: x[torch.as_tensor(indices)],
        "cross_entropy": lambda x, targets: torch.nn.functional.cross_entropy(
            x.reshape(-1, x.shape[-1]), torch.as_tensor(targets).reshape(-1)),
        "take_rows": lambda x, rows: x[torch.as_tensor(rows)],
        "cat": lambda x, y: torch.cat([x, y], 0),
        "gelu": lambda x: torch.nn.functional.gelu(x),
        "log_softmax": lambda x: torch.nn.functional.log_softmax(x, -1),
    }


@given(programs(), SEEDS)
def test_random_graph_gradients_match_torch(program, seed):
    torch = pytest.importorskip("torch")
    out, grads = output_and_gradients(program, seed, np.float64)
    leaves = [torch.tensor(value, requires_grad=True) for value in leaf_values(program, seed)]
    expected = run(program, leaves, torch_ops(torch))
    expected.sum().backward()
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for position, (grad, leaf) in enumerate(zip(grads, leaves)):
        assert (grad is None) == (leaf.grad is None), f"leaf {position}"
        if grad is not None:
            np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=f"gradient of leaf {position}")


def float32_tolerances(program, seed):
    """How far float32 may be from float64: for the output, then for each leaf's gradient
    (None where the output does not depend on the leaf).

    Each float32 op rounds its value and the gradients it sends back, each by at most
    ``FLOAT32_ROUNDOFF`` of its size. Those errors reach a result through what lies between:
    added through sums (where they can outgrow a result that cancels to 0, as softmax minus
    one-hot summed over equal logits does) and scaled through products. So the tolerance is
    ``FLOAT32_ROUNDINGS * FLOAT32_ROUNDOFF * M``, with M the largest |value| or |gradient|, in
    float64, of the nodes on the result's paths: from the leaf to the output for a leaf's
    gradient, every node the output depends on for the output. A fixed fraction of the result
    itself would not do: a gradient whose true value is 0 is 2e-5 in float32 after values of
    160 (``CANCELLING_GRAPH``).
    """
    leaves = leaves_of(program, seed)
    values = run_every_node(program, leaves)
    for value in values:
        if value.creators is not None:
            value.retain_grad()
    values[-1].backward()
    magnitudes = [max(np.abs(value.data).max(initial=0.0),
                      0.0 if value.grad is None else np.abs(value.grad.data).max(initial=0.0))
                  for value in values]

    def tolerance(path):
        return FLOAT32_ROUNDINGS * FLOAT32_ROUNDOFF * max(magnitudes[node] for node in path) \
            if path else None
    return (tolerance(program.needed_by_output()),
            [tolerance(program.on_paths_from(leaf)) for leaf in program.leaf_positions])


def assert_close_to_float64(single, double, tolerance, what):
    error = float(np.abs(single.astype(np.float64) - double).max(initial=0.0))
    assert error <= tolerance, f"{what}: float32 is off by {error:.3g}, more than " \
                               f"{FLOAT32_ROUNDINGS} roundings allow ({tolerance:.3g})"


def assert_float32_agrees_with_float64(program, seed):
    out32, grads32 = output_and_gradients(program, seed, np.float32)
    out64, grads64 = output_and_gradients(program, seed, np.float64)
    out_tolerance, grad_tolerances = float32_tolerances(program, seed)
    assert out32.dtype == np.float32
    assert_close_to_float64(out32, out64, out_tolerance, "output")
    for position, (grad32, grad64, tolerance) in enumerate(zip(grads32, grads64, grad_tolerances)):
        assert (grad32 is None) == (grad64 is None) == (tolerance is None)
        if grad64 is not None:
            assert grad32.dtype == np.float32
            assert_close_to_float64(grad32, grad64, tolerance, f"gradient of leaf {position}")


#: leaf (2,) -> x + x -> neg -> times a leaf -> neg -> neg -> square -> square -> neg ->
#: expand to 3 equal logits -> cross-entropy. With seed 0 values reach 160; the first leaf's
#: gradient is 0 (softmax minus one-hot cancels over equal logits), float32's is 2e-5: two
#: roundings of 160, and what a tolerance relative to the gradient itself rejected.
CANCELLING_GRAPH = Program((
    Node("leaf", (2,)), Node("add", (2,), (0, 0)), Node("neg", (2,), (1,)),
    Node("leaf", (2,)), Node("mul", (2,), (3, 2)), Node("neg", (2,), (4,)),
    Node("neg", (2,), (5,)), Node("square", (2,), (6,)), Node("square", (2,), (7,)),
    Node("flatten", (2,), (0,)), Node("neg", (2,), (8,)),
    Node("expand", (2, 3), (10,), (1, 3)), Node("cross_entropy", (), (11,), (np.array([0, 0]),)),
))

#: leaf (3,) times a leaf, squared, then tanh and a sum: every gradient goes through square's
#: backward, so a float32 bug there shows.
SQUARING_GRAPH = Program((
    Node("leaf", (3,)), Node("leaf", (3,)), Node("mul", (3,), (0, 1)),
    Node("square", (3,), (2,)), Node("tanh", (3,), (3,)), Node("sum", (), (4,), (None,)),
))


@given(programs(), SEEDS)
@example(CANCELLING_GRAPH, 0)
@example(SQUARING_GRAPH, 0)
def test_float32_agrees_with_float64(program, seed):
    assert_float32_agrees_with_float64(program, seed)


@pytest.mark.parametrize("kernel", ["kernel", "backward_kernel"])
def test_float32_check_rejects_a_kernel_that_loses_precision(kernel, monkeypatch):
    """A planted float32 bug: square's forward or backward kernel rounds its float32 result
    through float16 (as one accumulating in the wrong dtype would). The check rejects it on
    the graph it passes above."""
    exact = getattr(unary.Pow, kernel)

    def through_float16(*args):
        out = exact(*args)
        return out.astype(np.float16).astype(out.dtype) if out.dtype == np.float32 else out

    monkeypatch.setattr(unary.Pow, kernel, through_float16)
    with pytest.raises(AssertionError, match="roundings allow"):
        assert_float32_agrees_with_float64(SQUARING_GRAPH, seed=0)
