"""Gradients of random graphs of every op: against finite differences in float64, against
PyTorch's autograd (when installed), and float32 against float64.

``random_graphs.programs()`` draws the graphs; the hypothesis profile in ``conftest.py`` sets
how many (``--hypothesis-profile=long`` for many more).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jitgrad import Tensor
from tests.helpers.gradcheck import assert_tensor_gradients
from tests.helpers.random_graphs import COMMON_OPS, leaf_values, programs, run

SEEDS = st.integers(0, 2**32 - 1)

#: float32 outputs and gradients agree with float64 ones within this fraction of the largest
#: magnitude among them (or absolutely, below magnitude 1). The worst seen in 3,000 graphs
#: was 6e-7, float32's rounding error times a few.
FLOAT32_TOLERANCE = 1e-5


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


def assert_close_to_float64(single, double, what):
    scale = max(1.0, float(np.abs(double).max(initial=0.0)))
    error = float(np.abs(single.astype(np.float64) - double).max(initial=0.0))
    assert error <= FLOAT32_TOLERANCE * scale, f"{what}: float32 is off by {error:.3g} at " \
                                               f"magnitude {scale:.3g}"


@given(programs(), SEEDS)
def test_float32_agrees_with_float64(program, seed):
    out32, grads32 = output_and_gradients(program, seed, np.float32)
    out64, grads64 = output_and_gradients(program, seed, np.float64)
    assert out32.dtype == np.float32
    assert_close_to_float64(out32, out64, "output")
    for position, (grad32, grad64) in enumerate(zip(grads32, grads64)):
        assert (grad32 is None) == (grad64 is None)
        if grad64 is not None:
            assert grad32.dtype == np.float32
            assert_close_to_float64(grad32, grad64, f"gradient of leaf {position}")
