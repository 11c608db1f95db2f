"""jitgrad/input_batching.py: a float32 replay of an LSTM window whose steps' inputs are made
from data makes their input products, and their gradients, for all the steps at once, and
still trains as eager code does (within float32's tolerance, step after step). Most tests
batch always (``JITGRAD_BATCH_INPUTS=on``); the last ones check the measured choice."""
import warnings

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor
from jitgrad.compiler import lstm_windows as input_batching
from jitgrad.compiler import step as compiler

from .test_compile import (
    BPTT,
    EMBED,
    HIDDEN,
    LSTM_BATCH,
    VOCAB,
    Twins,
    lstm,
    replayed,
    windows,
)

WINDOWS = 6


@pytest.fixture(autouse=True)
def always_batch(monkeypatch):
    monkeypatch.setenv(input_batching.OVERRIDE, "on")


def tapes(compiled):
    return [tape for tapes in compiled._tapes.values() for tape in tapes]


def batched_windows(compiled):
    """The Batch of each batched window in the tapes of a compiled step."""
    return [args[0] for tape in tapes(compiled) for run, *args in tape.batched_steps or ()
            if run is compiler._replay_batched_op]


def backward_nodes(compiled):
    """The batched replay's backward pass's nodes (slot, op, ...) of a compiled step's tape."""
    (tape,) = tapes(compiled)
    (nodes,) = [args[3] for run, *args in tape.batched_steps
                if run is compiler._replay_backward]
    return nodes


def train(twins, make_args, count=WINDOWS):
    """``count`` windows on both sides, compared after each; the state carried as values."""
    cell = [layer for layer in twins.model.layers if isinstance(layer, jitgrad.LSTMCell)][0]
    state = [cell.init_hidden(LSTM_BATCH) for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback to eager
        for args in make_args(count):
            sides = [(*args, *(Tensor(t.data, autograd=True) for t in side)) for side in state]
            np.random.seed(0)
            eager = twins.sides[0][2](*sides[0])
            np.random.seed(0)
            compiled = twins.compiled(*sides[1])
            twins.compare(eager, compiled)
            state = [eager[1:], compiled[1:]]
    assert replayed(twins)


@pytest.mark.parametrize("optimizer,indices", [("sgd", "list"), ("adam", "array"),
                                               ("sgd", "strided")])
def test_an_embedded_window_is_batched_and_trains_as_eager(optimizer, indices):
    twins = Twins(lstm(optimizer), np.float32)
    train(twins, lambda count: windows(indices, count))
    (batch,) = batched_windows(twins.compiled)
    steps = [step for step, _ in batch.delivers]
    assert len(batch.x_slots) == BPTT and len(steps) == BPTT - 1  # the first makes the rest's
    assert all(step.batched_input_grad for step in steps)
    assert [step.rows for step in steps] == [
        slice(t * LSTM_BATCH, (t + 1) * LSTM_BATCH) for t in range(1, BPTT)]
    assert batch.window.input_grads == {}  # every step's share delivered
    # backward: the embedding lookups right after the first step, in eager's order (the
    # last step's first), so that the embedding's gradient sums them in the same order
    ops = [node[1].creation_op for node in backward_nodes(twins.compiled)]
    first = len(ops) - 1 - ops[::-1].index("lstm_cell")  # the first step's runs last
    lookups = [node[0] for node in backward_nodes(twins.compiled)
               if node[1].creation_op == "index_select"]
    assert ops[first + 1:first + 1 + BPTT] == ["index_select"] * BPTT
    assert lookups == sorted(lookups, reverse=True)


def test_float64_windows_are_replayed_step_by_step():
    twins = Twins(lstm("sgd"), np.float64)
    train(twins, lambda count: windows("list", count))  # bit for bit
    assert batched_windows(twins.compiled) == []


def window_builder(between=None, fed_back=False, data_inputs=False):
    """An Embedding + LSTMCell window like ``test_compile.lstm``'s, with ``between(x)``
    applied to each step's embedded input, each step after the first fed the previous
    step's output instead (``fed_back``), or each step's xs[t] taken as its input
    (``data_inputs``: one-hot rows, ``one_hot``)."""
    def build(dtype):
        embed = jitgrad.Embedding(VOCAB, EMBED, dtype=dtype)
        cell = jitgrad.LSTMCell(VOCAB if data_inputs else EMBED, HIDDEN, VOCAB, dtype=dtype)
        feedback = jitgrad.Linear(VOCAB, EMBED, dtype=dtype)
        params = embed.get_parameters() + cell.get_parameters() + feedback.get_parameters()
        opt = jitgrad.SGD(params, alpha=0.05)
        criterion = jitgrad.CrossEntropyLoss()

        def train_window(xs, ys, h, c):
            hidden, loss, output = (h, c), None, None
            for t in range(BPTT):
                if data_inputs:
                    x = Tensor(xs[t])
                elif fed_back and output is not None:
                    x = feedback.forward(output)
                else:
                    x = embed.forward(xs[t])
                output, hidden = cell.forward(between(x) if between else x, hidden)
                step_loss = criterion.forward(output, ys[t])
                loss = step_loss if loss is None else loss + step_loss
            loss.backward()
            opt.step()
            return loss, hidden[0], hidden[1]
        return jitgrad.Sequential([embed, cell, feedback]), opt, train_window
    return build


def test_a_window_fed_its_own_output_is_not_batched():
    twins = Twins(window_builder(fed_back=True), np.float32)
    train(twins, lambda count: windows("list", count))
    assert batched_windows(twins.compiled) == []


def test_dropout_on_the_inputs_keeps_its_place_in_the_random_stream():
    twins = Twins(window_builder(between=lambda x: jitgrad.nn.functional.dropout(x, 0.3)),
                  np.float32)
    train(twins, lambda count: windows("list", count))  # the same masks on both sides
    assert batched_windows(twins.compiled) == []


def one_hot(count):
    for xs, ys in windows("list", count):
        yield [np.eye(VOCAB, dtype=np.float32)[x] for x in xs], ys


def test_data_inputs_are_multiplied_at_once_without_gradients():
    twins = Twins(window_builder(data_inputs=True), np.float32)
    train(twins, one_hot)
    (batch,) = batched_windows(twins.compiled)
    assert len(batch.x_slots) == BPTT and batch.delivers == []
    assert not batch.window.input_grads


def test_an_input_used_by_several_steps_sums_their_gradients():
    """Every step reads the same embedded input: the first step's own gradient and the
    others' arrive at one slot and add up."""
    def build(dtype):
        model, opt, _ = lstm("sgd")(dtype)
        embed, cell = model.layers
        criterion = jitgrad.CrossEntropyLoss()

        def train_window(xs, ys, h, c):
            hidden, loss, x = (h, c), None, embed.forward(xs[0])
            for t in range(BPTT):
                output, hidden = cell.forward(x, hidden)
                step_loss = criterion.forward(output, ys[t])
                loss = step_loss if loss is None else loss + step_loss
            loss.backward()
            opt.step()
            return loss, hidden[0], hidden[1]
        return model, opt, train_window
    twins = Twins(build, np.float32)
    train(twins, lambda count: windows("list", count))
    (batch,) = batched_windows(twins.compiled)
    assert len(set(batch.x_slots)) == 1 and len(batch.delivers) == BPTT - 1


# --- batched or not: measured -----------------------------------------------------------------

def test_the_choice_alternates_then_keeps_the_faster(monkeypatch):
    monkeypatch.setenv(input_batching.OVERRIDE, "auto")
    for faster in (True, False):
        choice, kinds = input_batching.Choice(), []
        for _ in range(2 * (input_batching.TRIALS + 1)):
            kinds.append(choice.next())
            choice.note(kinds[-1], 1.0 if kinds[-1] == faster else 2.0)
        assert kinds == [True, False] * (input_batching.TRIALS + 1)
        assert choice.chosen is faster
        assert [choice.next() for _ in range(3)] == [faster] * 3


def test_the_first_replay_of_each_kind_is_not_counted(monkeypatch):
    """The first batched replay compiles or loads its kernels: its time says nothing."""
    monkeypatch.setenv(input_batching.OVERRIDE, "auto")
    choice, batched_times = input_batching.Choice(), iter([100.0, 1.0, 1.0, 1.0, 3.0, 3.0])
    assert input_batching.TRIALS == 5  # counted, the first pair would tip the median to 1
    for _ in range(2 * (input_batching.TRIALS + 1)):
        batched = choice.next()
        choice.note(batched, next(batched_times) if batched else 2.0)
    assert choice.chosen is True


def test_a_measured_tape_trains_as_eager_either_way(monkeypatch):
    monkeypatch.setenv(input_batching.OVERRIDE, "auto")
    twins = Twins(lstm("adam"), np.float32)
    train(twins, lambda count: windows("list", count), count=2 * (input_batching.TRIALS + 2))
    (tape,) = tapes(twins.compiled)
    assert tape.choice.chosen in (True, False)
    assert [len(times) for times in tape.choice.seconds.values()] == [
        input_batching.TRIALS + 1] * 2


def test_off_never_batches(monkeypatch):
    monkeypatch.setenv(input_batching.OVERRIDE, "off")
    twins = Twins(lstm("sgd"), np.float32)
    train(twins, lambda count: windows("list", count))
    (batch,) = batched_windows(twins.compiled)  # planned, never used
    assert batch.window.projected is None and all(step.rows is None for step in batch.steps)


def test_a_misspelt_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv(input_batching.OVERRIDE, "yes")
    with pytest.raises(ValueError, match="JITGRAD_BATCH_INPUTS='yes': expected auto, on or off"):
        input_batching.mode()


def test_replays_under_the_profiler_are_not_counted(monkeypatch):
    monkeypatch.setenv(input_batching.OVERRIDE, "auto")
    twins = Twins(lstm("sgd"), np.float32)
    with jitgrad.profile() as profile:
        train(twins, lambda count: windows("list", count))
    (tape,) = tapes(twins.compiled)
    assert tape.choice.seconds == {True: [], False: []} and tape.choice.chosen is None
    # the batched replays' input products show as the op's phase of their own
    assert "inputs" in profile.table() and "lstm_cell" in profile.table()
