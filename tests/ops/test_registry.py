"""Every registered op, with no test code of its own (jitgrad/ops/registry.py): each example
is gradient-checked against finite differences in float64 and against torch (forward values
and every input's gradient), runs in float32, replays through ``jitgrad.compile`` with
eager's numbers, and each bad input raises a clear error that changes no tensor."""
import types
import warnings

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor
from jitgrad.nn import functional as F
from jitgrad.ops.registry import SAME, SPECS, example_arrays, library, run_example
from tests.helpers.gradcheck import assert_tensor_gradients
from tests.helpers.unchanged import assert_unchanged

JITGRAD = library()

EXAMPLES = [pytest.param(example, id=f"{spec.name}-{i}")
            for spec in SPECS.values() for i, example in enumerate(spec.examples)]
DIFFERENTIABLE = [param for param in EXAMPLES if param.values[0].grad]
BAD_INPUTS = [pytest.param(bad, id=f"{spec.name}-{i}")
              for spec in SPECS.values() for i, bad in enumerate(spec.bad_inputs)]


def leaves(inputs, dtype=np.float64):
    return [Tensor(array, autograd=True) for array in example_arrays(inputs, dtype)]


def test_every_op_has_examples_and_every_name_is_installed():
    for spec in SPECS.values():
        assert spec.examples, f"{spec.name} has no examples"
        for method in spec.methods:
            assert getattr(Tensor, method) is spec.function, method
        for name in spec.properties:
            assert getattr(Tensor, name).fget is spec.function, name
        for name in spec.functional:
            assert getattr(F, name) is spec.function, name


@pytest.mark.parametrize("example", DIFFERENTIABLE)
def test_gradients_match_finite_differences(example):
    inputs = leaves(example.inputs)
    assert_tensor_gradients(lambda: example.call(JITGRAD, *inputs), inputs)


@pytest.mark.parametrize("example", DIFFERENTIABLE)
def test_float32_stays_float32_and_agrees_with_float64(example):
    out32, leaves32 = run_example(example, np.float32)
    out64, leaves64 = run_example(example, np.float64)
    assert out32.dtype == np.float32
    assert all(t.grad.dtype == np.float32 and t.grad.shape == t.shape for t in leaves32)
    pairs = [(out32.data, out64.data)] + [(a.grad.data, b.grad.data)
                                          for a, b in zip(leaves32, leaves64)]
    for single, double in pairs:
        scale = max(1.0, float(np.abs(double).max(initial=0.0)))
        np.testing.assert_allclose(single, double, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("example", EXAMPLES)
def test_matches_torch(example):
    torch = pytest.importorskip("torch")
    if example.torch is None:
        pytest.skip("no torch counterpart")
    library = types.SimpleNamespace(F=torch.nn.functional, cat=torch.cat, stack=torch.stack,
                                    where=torch.where, tensor=torch.as_tensor)
    torch_call = example.call if example.torch == SAME else example.torch
    arrays = example_arrays(example.inputs, np.float64)
    ours = [Tensor(a.copy(), autograd=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = example.call(JITGRAD, *ours), torch_call(library, *theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    if not example.grad:
        return
    weights = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(Tensor(weights))
    (expected * torch.as_tensor(weights)).sum().backward()
    for position, (t, r) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(t.grad.data, r.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"gradient of input {position}")


@pytest.mark.parametrize("bad", BAD_INPUTS)
def test_bad_input_raises_naming_the_op_and_changes_nothing(bad):
    inputs = leaves(bad.inputs, dtype=None)
    assert_unchanged(inputs, lambda: bad.call(JITGRAD, *inputs), bad.error, bad.match)


@pytest.mark.parametrize("example", DIFFERENTIABLE)
def test_compiled_replay_matches_eager_bit_for_bit(example):
    """Recorded twice, then replayed on new values: the output and every input's gradient
    are eager's, bit for bit (float64), or the step says why it runs eagerly."""
    def step(*inputs):
        out = example.call(JITGRAD, *inputs)
        out.backward()
        return out

    compiled = jitgrad.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        for seed in range(4):
            arrays = example_arrays(example.inputs, np.float64, seed=seed)
            replayed = [Tensor(array, autograd=True) for array in arrays]
            out = compiled(*replayed)
            eager = [Tensor(array, autograd=True) for array in arrays]
            expected = step(*eager)
            np.testing.assert_array_equal(out.data, expected.data)
            for a, b in zip(replayed, eager):
                assert (a.grad is None) == (b.grad is None)
                if b.grad is not None:
                    np.testing.assert_array_equal(a.grad.data, b.grad.data)
    fallbacks = [str(w.message) for w in caught if "runs eagerly" in str(w.message)]
    assert compiled.eager_reason is None or len(fallbacks) == 1, fallbacks
