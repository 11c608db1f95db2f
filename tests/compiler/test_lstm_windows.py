"""An unrolled LSTM's weight gradients are summed once per sequence, by its first step's
backward (see jitgrad/ops/recurrent.py). Every way a graph can group the steps must still give
the finite-difference gradients."""
from types import SimpleNamespace

import numpy as np
import pytest

from jitgrad import LSTMCell, Tensor, detect_anomaly
from jitgrad import functional
from tests.helpers.gradcheck import assert_tensor_gradients

rng = np.random.default_rng(7)
BATCH, INPUTS, HIDDEN, OUTPUTS = 2, 3, 4, 2


def make_cell(dtype=np.float64):
    np.random.seed(3)
    return LSTMCell(INPUTS, HIDDEN, OUTPUTS, dtype=dtype)


def inputs(steps):
    return [Tensor(rng.standard_normal((BATCH, INPUTS))) for _ in range(steps)]


def unroll(cell, xs, hidden=None):
    """The book's loop: (sum of the outputs, last hidden)."""
    hidden = cell.init_hidden(batch_size=BATCH) if hidden is None else hidden
    total = None
    for x in xs:
        output, hidden = cell.forward(x, hidden)
        total = output if total is None else total + output
    return total, hidden


def test_one_sequence_shares_one_window():
    cell = make_cell()
    _, (h, c) = unroll(cell, inputs(3))
    steps = []
    while h.creation_op == "select":
        state = h.creators[0]
        steps.append(state._op)
        h = state.creators[1]
    assert [step.first for step in steps] == [False, False, True]
    assert len({id(step.window) for step in steps}) == 1


def test_two_sequences_in_one_graph():
    cell, first, second = make_cell(), inputs(3), inputs(2)

    def both():
        a, _ = unroll(cell, first)
        b, _ = unroll(cell, second)
        return a + b
    assert_tensor_gradients(both, cell.get_parameters())


def test_truncated_sequence_restarts_the_window():
    """The book's truncated backprop: a window starts from a state re-wrapped as new leaves
    (fixed here, so that the finite differences see it as the constant backward does)."""
    cell, xs = make_cell(), inputs(4)
    state = [rng.standard_normal((BATCH, HIDDEN)) for _ in "hc"]

    def truncated():
        a, _ = unroll(cell, xs[:2])
        b, _ = unroll(cell, xs[2:], tuple(Tensor(s, autograd=True) for s in state))
        return a + b
    assert_tensor_gradients(truncated, cell.get_parameters())


def test_a_step_on_other_weights_starts_its_own_window():
    """A second cell continuing the first one's state sums its gradients apart."""
    first_cell, second_cell, xs = make_cell(), LSTMCell(INPUTS, HIDDEN, OUTPUTS), inputs(4)

    def handed_over():
        a, hidden = unroll(first_cell, xs[:2])
        b, _ = unroll(second_cell, xs[2:], hidden)
        return a + b
    assert_tensor_gradients(handed_over, first_cell.get_parameters() + second_cell.get_parameters())


def test_state_changed_between_steps():
    """A hidden state that goes through another op is not recognised as the previous step's:
    each step then sums its own weight gradients."""
    cell, xs = make_cell(), inputs(3)

    def damped():
        hidden, total = cell.init_hidden(batch_size=BATCH), None
        for x in xs:
            output, (h, c) = cell.forward(x, hidden)
            hidden = (h * 0.5, c)
            total = output if total is None else total + output
        return total
    assert_tensor_gradients(damped, cell.get_parameters())


def test_backward_from_an_early_step():
    """Later steps exist in the graph but do not lead to the loss."""
    cell, xs = make_cell(), inputs(4)

    def early():
        hidden, outputs = cell.init_hidden(batch_size=BATCH), []
        for x in xs:
            output, hidden = cell.forward(x, hidden)
            outputs.append(output)
        return outputs[1]
    assert_tensor_gradients(early, cell.get_parameters())


def test_gradients_add_up_over_passes():
    cell, xs = make_cell(), inputs(3)
    parameters = cell.get_parameters()
    unroll(cell, xs)[0].sum(0).sum(0).backward()
    once = [p.grad.data.copy() for p in parameters]
    unroll(cell, xs)[0].sum(0).sum(0).backward()
    for position, (p, single) in enumerate(zip(parameters, once)):
        np.testing.assert_allclose(p.grad.data, 2 * single, rtol=1e-12, err_msg=str(position))


def test_inner_weights():
    """Weights made by an op (not leaves) get the summed gradient as an ordinary one."""
    leaves = [Tensor(0.5 * rng.standard_normal(shape), autograd=True)
              for shape in [(INPUTS, HIDDEN), (HIDDEN,)] * 4 + [(HIDDEN, HIDDEN)] * 4]
    xs = inputs(3)

    def scaled_weights():
        weights = [leaf * 2.0 for leaf in leaves]
        gate = lambda w, b=None: SimpleNamespace(weight=w, bias=b)
        cell = SimpleNamespace(xf=gate(*weights[0:2]), xi=gate(*weights[2:4]),
                               xo=gate(*weights[4:6]), xc=gate(*weights[6:8]),
                               hf=gate(weights[8]), hi=gate(weights[9]),
                               ho=gate(weights[10]), hc=gate(weights[11]))
        h = c = Tensor(np.zeros((BATCH, HIDDEN)), autograd=True)
        total = None
        for x in xs:
            state = functional.lstm_cell(x, h, c, cell)
            h, c = state[0], state[1]
            total = h if total is None else total + h
        return total + c
    assert_tensor_gradients(scaled_weights, leaves)


def test_a_step_in_another_dtype_raises_and_leaves_the_window_alone():
    """float64 input into a float32 cell is refused, not computed in float64."""
    cell = make_cell(np.float32)
    hidden = cell.init_hidden(batch_size=BATCH)
    _, hidden = cell.forward(Tensor(rng.standard_normal((BATCH, INPUTS)).astype(np.float32)), hidden)
    window = hidden[0].creators[0]._op.window
    with pytest.raises(TypeError, match=r"lstm_cell: .*operand 0 is float64\[2, 3\] and operand 1 is float32"):
        cell.forward(Tensor(rng.standard_normal((BATCH, INPUTS))), hidden)
    assert len(window.x) == 0


@pytest.mark.parametrize("steps", [1, 3])
def test_anomaly_mode_accepts_deferred_gradients(steps):
    cell = make_cell()
    with detect_anomaly():
        unroll(cell, inputs(steps))[0].sum(0).sum(0).backward()
    assert all(p.grad is not None for p in cell.get_parameters())


def test_a_deferred_gradient_never_delivered_raises_at_the_end_of_the_pass():
    """The safety net behind the windows: an op that defers a gradient and is not settled
    by the end of the pass makes backward raise instead of leaving .grad short."""
    from jitgrad.ops.base import DEFERRED, Op

    class Owes(Op):
        creation_op = "owes"

        def forward(self, a):
            return a * 2

        def backward(self, grad, needs_grad):
            return [DEFERRED]

        def undelivered(self):
            return "owes: one gradient"

    weight = Tensor(np.ones(3), autograd=True)
    out = Tensor._from_op(Owes(), (weight,))
    with pytest.raises(RuntimeError, match="backward: gradients deferred and never delivered: owes: one gradient"):
        out.sum().backward()


def test_a_window_delivers_every_step_and_owes_nothing_after_backward():
    cell = make_cell()
    output, (h, c) = unroll(cell, inputs(4))
    window = h.creators[0]._op.window
    output.sum(0).sum(0).backward()
    assert window.owed == 0 and window.x == []
