"""A compiled float32 step fuses plain SGD into the backward products (jitgrad/fused_sgd.py):
eager's numbers (the bias bit for bit, the weight to rounding), and eager's behaviour
wherever a condition for fusing does not hold."""
import collections

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor, ops
from jitgrad.autograd.engine import run_backward
from jitgrad.backend import gemm
from jitgrad.ops import registry
from tests.backend.test_gemm import needs_mkl

from .test_compile import STACKS, Twins, batches, replayed, train

STEPS = 12


def plain_sgd_mlp(stack="tanh", tied=False, zero=True, optimizer=None):
    """A builder for Twins: an MLP trained with plain SGD (lr 0.05; or ``optimizer(model's
    parameters)``), ``step(zero=zero)`` right after backward. ``tied``: an (8, 8) Linear,
    trained too, is applied twice after the hidden layer (its parameters get two
    gradients)."""
    def build(dtype):
        layers = STACKS[stack](dtype)
        model = jitgrad.Sequential(layers)
        square = jitgrad.Linear(8, 8, dtype=dtype) if tied else None
        params = model.get_parameters() + (square.get_parameters() if tied else [])
        opt = optimizer(params) if optimizer else jitgrad.SGD(params, lr=0.05)
        criterion = jitgrad.MSELoss(reduction="mean")

        def forward(x):
            if not tied:
                return model.forward(x)
            hidden = layers[1].forward(layers[0].forward(x))
            return layers[2].forward(square.forward(square.forward(hidden)))

        def train_step(x, y):
            loss = criterion.forward(forward(x), y)
            loss.backward()
            opt.step(zero=zero)
            return loss
        return model, opt, train_step
    return build


def updates_in_a_replay(twins, x, y):
    """The fused updates of one compiled call, as the profiler counts them (one per node, for
    all its fused inputs), per op."""
    with jitgrad.profile() as prof:
        twins.step(x, y)
    calls = collections.Counter()
    for (name, phase, _), stats in prof.stats.items():
        if phase == "update":
            calls[name] += stats.calls
    return calls


@pytest.mark.parametrize("stack", STACKS)
def test_plain_sgd_fuses_every_linear_in_float32_and_keeps_eager_numbers(stack):
    twins = Twins(plain_sgd_mlp(stack), np.float32)
    train(twins, "values")
    linears = sum(isinstance(layer, jitgrad.Linear) for layer in twins.model.layers_within())
    x, y = next(batches("values", np.float32, seed=9))
    assert updates_in_a_replay(twins, x, y) == {"linear": linears}  # weight and bias in one
    assert replayed(twins)


@needs_mkl
def test_nothing_fuses_while_products_run_on_mkl_and_replays_keep_eager_numbers(
        monkeypatch, gemm_choice_restored):
    """MKL's fused products strayed past float32's tolerance from eager's update."""
    monkeypatch.setenv(gemm.OVERRIDE, "mkl")
    gemm.choose()
    twins = Twins(plain_sgd_mlp(), np.float32)
    train(twins, "values")
    x, y = next(batches("values", np.float32, seed=9))
    assert updates_in_a_replay(twins, x, y) == {}
    assert replayed(twins)


def test_float64_is_never_fused_and_stays_bit_for_bit():
    twins = Twins(plain_sgd_mlp(), np.float64)  # compares bit for bit
    train(twins, "values")
    x, y = next(batches("values", np.float64, seed=9))
    assert updates_in_a_replay(twins, x, y) == {}
    assert replayed(twins)


def test_a_fused_bias_update_is_eager_bit_for_bit_and_a_weight_differs_by_rounding():
    twins = Twins(plain_sgd_mlp(), np.float32)
    data = list(batches("values", np.float32, count=3))
    for x, y in data[:2]:  # recorded: eager on both sides, so both start the replay equal
        twins.step(x, y)
    twins.step(*data[2], compare=False)
    eager, compiled = (model.get_parameters() for model in twins.models)
    for e, c in zip(eager, compiled):
        if e.data.ndim == 1:
            np.testing.assert_array_equal(c.data, e.data)
        else:
            assert np.abs(c.data.view(np.int32) - e.data.view(np.int32)).max() <= 1  # ulps


def test_each_condition_is_read_at_every_replay():
    twins = Twins(plain_sgd_mlp(), np.float32)
    changes = {4: {"momentum": 0.9}, 7: {"momentum": 0.0, "weight_decay": 0.01},
               9: {"weight_decay": 0.0, "lr": 0.2}}
    fused = []
    for index, (x, y) in enumerate(batches("values", np.float32, count=STEPS)):
        for opt in twins.optimizers:
            opt.param_groups[0].update(changes.get(index, {}))
        fused.append(sum(updates_in_a_replay(twins, x, y).values()))
    assert replayed(twins)
    assert fused[2:4] == [2, 2] and fused[4:9] == [0] * 5 and fused[9:] == [2] * 3


def test_a_parameter_with_two_gradients_is_not_fused():
    twins = Twins(plain_sgd_mlp(tied=True), np.float32)
    train(twins, "values")
    x, y = next(batches("values", np.float32, seed=9))
    assert updates_in_a_replay(twins, x, y) == {"linear": 2}  # the two single-use Linears
    assert replayed(twins)


def test_a_step_that_keeps_the_gradients_is_not_fused():
    twins = Twins(plain_sgd_mlp(zero=False), np.float32)
    train(twins, "values")  # compares .grad too
    assert all(p.grad is not None for p in twins.model.get_parameters())
    x, y = next(batches("values", np.float32, seed=9))
    assert updates_in_a_replay(twins, x, y) == {}


def test_a_gradient_held_before_the_step_is_added_to_not_fused_over():
    twins = Twins(plain_sgd_mlp(), np.float32)
    fused = []
    for index, (x, y) in enumerate(batches("values", np.float32, count=STEPS)):
        if index % 3 == 2:  # an eager backward outside the step: the step adds to its .grad
            for model in twins.models:
                jitgrad.MSELoss(reduction="mean").forward(model.forward(x), y).backward()
        fused.append(sum(updates_in_a_replay(twins, x, y).values()))
    assert replayed(twins)
    assert fused[2:] == [0 if index % 3 == 2 else 2 for index in range(2, STEPS)]


def test_a_read_only_parameter_raises_as_eagerly_and_nothing_changes():
    twins = Twins(plain_sgd_mlp(), np.float32)
    train(twins, "values", count=4)
    params = twins.model.get_parameters()
    params[2].data.flags.writeable = False
    before = [p.data.copy() for p in params]
    x, y = next(batches("values", np.float32, seed=9))
    with pytest.raises(ValueError, match=r"SGD.step: parameter 2 \(float32\[8, 3\]\) is a read-only"):
        twins.compiled(x, y)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, params))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_op_adds_its_scaled_gradients_as_its_backward_computes_them(dtype):
    """``Op.add_scaled_grads`` against ``Op.backward``, on every registered example whose
    output's op has inputs it can add scaled: one run's backward gives the gradients, an
    identical run's backward leaves those inputs out and adds them scaled."""
    tolerance = {"rtol": 1e-12} if dtype == np.float64 else {"rtol": 2e-6, "atol": 1e-6}
    checked = collections.Counter()
    for spec in registry.SPECS.values():
        for example in spec.examples:
            grads, (op, creators, grad) = (_example_backward(example, dtype, fused)
                                          for fused in (False, True))
            indices = [i for i in getattr(op, "scaled_grad_inputs", ()) if i < len(creators)]
            if not indices:
                continue
            added = [np.ones(creators[i].data.shape, dtype) for i in indices]  # C-contiguous
            op.add_scaled_grads(grad, [(i, out, dtype(-2.0)) for i, out in zip(indices, added)])
            for i, out in zip(indices, added):
                np.testing.assert_allclose(out, 1 - 2 * grads[i], **tolerance)
                checked[op.creation_op, i] += 1
    assert {("mm", 1), ("linear", 1), ("linear", 2)} <= set(checked)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_lstm_window_adds_its_scaled_weight_gradients_as_its_backward_computes_them(dtype):
    """Three unrolled steps (the op is no registered function): the first step's backward
    hands over the whole window's weight gradients, or, without them, adds them scaled."""
    tolerance = {"rtol": 1e-12} if dtype == np.float64 else {"rtol": 2e-6, "atol": 1e-6}
    results = []
    for fused in (False, True):
        rng = np.random.default_rng(3)
        weights = [Tensor(rng.standard_normal((3, 4) if i < 8 and i % 2 == 0 else
                                              (4,) if i < 8 else (4, 4)).astype(dtype),
                          autograd=not fused) for i in range(12)]
        h = c = Tensor(np.zeros((2, 4), dtype), autograd=True)
        cells = []
        for _ in range(3):
            x = Tensor(rng.standard_normal((2, 3)).astype(dtype), autograd=True)
            cells.append(ops.LSTMStep(ops.recurrent.window_before(h, weights), weights))
            state = Tensor._from_op(cells[-1], (x, h, c, *weights))
            h, c = state[0], state[1]
        (h * h).sum().backward()
        if not fused:
            results.append([w.grad.data for w in weights])
            continue
        added = [np.ones_like(w.data) for w in weights]
        cells[0].add_scaled_grads(None, [(3 + i, out, dtype(-2.0)) for i, out in enumerate(added)])
        for out, grad in zip(added, results[0]):
            np.testing.assert_allclose(out, 1 - 2 * grad, **tolerance)


def _example_backward(example, dtype, fused):
    """An example run and back-propagated from a fixed gradient: the gradients (``fused``
    False), or (its output's op, the op's inputs, the gradient), its backward having left out
    the inputs it can add scaled (``fused``)."""
    leaves = [Tensor(array, autograd=True)
              for array in registry.example_arrays(example.inputs, dtype)]
    out = example.call(registry.library(), *leaves)
    op, creators = getattr(out, "_op", None), out.creators or ()
    grad = np.random.default_rng(0).standard_normal(out.data.shape).astype(dtype)
    scaled = getattr(op, "scaled_grad_inputs", ()) if fused else ()
    needs = [i not in scaled for i in range(len(creators))]
    grads = run_backward(op, grad, needs, creators) if op is not None else None
    return (op, creators, grad) if fused else grads


def test_groups_fuse_apart_a_plain_one_beside_one_with_momentum():
    def two_groups(params):
        return jitgrad.SGD([{"params": params[:2], "momentum": 0.9}, {"params": params[2:]}],
                           lr=0.05)
    twins = Twins(plain_sgd_mlp(optimizer=two_groups), np.float32)
    train(twins, "values")  # compares the momentum buffers too
    x, y = next(batches("values", np.float32, seed=9))
    assert updates_in_a_replay(twins, x, y) == {"linear": 1}  # the second Linear's
    assert replayed(twins)


def test_a_window_that_fuses_none_of_its_weights_beside_a_fused_head_still_updates_them():
    """A window adds all its weights' updates with one scale; at two learning rates it fuses
    none. Every parameter of the optimizer was planned for fusing, and the head's is fused:
    the step must still update the window's weights from the gradients they got."""
    def build(dtype):
        cell = jitgrad.LSTMCell(3, 4, 5, dtype=dtype)
        head = jitgrad.Linear(4, 2, dtype=dtype)
        weights = cell.get_parameters()[:12]  # input weights and biases, hidden weights
        opt = jitgrad.SGD([{"params": weights[:8]}, {"params": weights[8:], "lr": 0.02},
                           {"params": head.get_parameters()}], lr=0.05)
        criterion = jitgrad.MSELoss()

        def train_step(xs, y):
            hidden = cell.init_hidden(2)
            for x in xs:
                _, hidden = cell.forward(x, hidden)
            loss = criterion.forward(head.forward(hidden[0]), y)
            loss.backward()
            opt.step()
            return loss
        return jitgrad.Sequential([cell, head]), opt, train_step
    twins = Twins(build, np.float32)
    rng = np.random.default_rng(5)
    for _ in range(STEPS):
        xs = [Tensor(rng.standard_normal((2, 3)).astype(np.float32)) for _ in range(3)]
        twins.step(xs, Tensor(rng.standard_normal((2, 2)).astype(np.float32)))
    assert replayed(twins)
    fusion = next(iter(twins.compiled._tapes.values()))[0].steps[-1][1]
    assert len(fusion.planned) == len(fusion.optimizer.parameters) == 14
    assert updates_in_a_replay(twins, xs, Tensor(np.zeros((2, 2), np.float32))) == {"linear": 1}
