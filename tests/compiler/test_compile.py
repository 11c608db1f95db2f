"""jitgrad.compile: a compiled step gives eager's numbers, step after step.

Every test builds two identical copies of a model (same seed), trains one with the plain
step and the other with ``jitgrad.compile`` of the same step, draws dropout masks from the
same seeded stream, and compares losses, parameters, optimizer state and running
statistics after each step: bit for bit in float64, within 1e-6 relative in float32.
"""
import collections
import warnings

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor
from jitgrad.nn import functional
from jitgrad.ops.base import Op
from jitgrad.ops.registry import apply

STEPS = 20
BATCH, INPUTS, CLASSES = 6, 5, 3
DTYPES = [np.float64, np.float32]


def assert_same(eager, compiled, dtype):
    if dtype == np.float64:
        np.testing.assert_array_equal(compiled, eager)
    else:
        np.testing.assert_allclose(compiled, eager, rtol=1e-6, atol=1e-7)


def model_state(model, optimizer):
    """Every number training changes: parameters, buffers and optimizer state."""
    arrays = list(model.state_dict().values())
    for values in optimizer.state.values():
        arrays += [np.asarray(v) for v in values.values()]
    return arrays


class Twins:
    """Two identical trainings, one eager and one compiled, stepped side by side.

    ``build(dtype)`` returns (model, optimizer, step function taking the batch's arguments);
    it is called twice under the same seed, so both copies start equal.
    """

    def __init__(self, build, dtype):
        self.dtype, self.sides = dtype, []
        for _ in range(2):
            np.random.seed(11)
            self.sides.append(build(dtype))
        self.compiled = jitgrad.compile(self.sides[1][2])
        self.calls = 0

    def step(self, *args, compare=True):
        """One step on each side from the same random state; returns both results."""
        self.calls += 1
        np.random.seed(1000 + self.calls)
        eager = self.sides[0][2](*args)
        np.random.seed(1000 + self.calls)
        compiled = self.compiled(*args)
        if compare:
            self.compare(eager, compiled)
        return eager, compiled

    def compare(self, eager, compiled):
        for e, c in zip(_tensors(eager), _tensors(compiled)):
            if isinstance(e, Tensor):
                assert_same(e.data, c.data, self.dtype)
                assert e.autograd == c.autograd
            else:
                assert e == c
        for e, c in zip(model_state(*self.sides[0][:2]), model_state(*self.sides[1][:2])):
            assert_same(e, c, self.dtype)
        for e, c in zip(self.sides[0][0].get_parameters(), self.sides[1][0].get_parameters()):
            assert (e.grad is None) == (c.grad is None)
            if e.grad is not None:
                assert_same(e.grad.data, c.grad.data, self.dtype)

    @property
    def model(self):
        return self.sides[1][0]

    @property
    def models(self):
        return [side[0] for side in self.sides]

    @property
    def optimizers(self):
        return [side[1] for side in self.sides]


def _tensors(result):
    return result if isinstance(result, (tuple, list)) else [result]


def replayed(twins):
    """Whether the compiled side holds a tape and never fell back."""
    return twins.compiled.eager_reason is None and twins.compiled._tapes


# --- the MLP: every layer, loss and optimizer kind --------------------------------------

STACKS = {
    "tanh": lambda d: [jitgrad.Linear(INPUTS, 8, dtype=d), jitgrad.Tanh(),
                       jitgrad.Linear(8, CLASSES, dtype=d)],
    "sigmoid_relu": lambda d: [jitgrad.Linear(INPUTS, 8, dtype=d), jitgrad.Sigmoid(),
                               jitgrad.Linear(8, 8, dtype=d), jitgrad.ReLU(),
                               jitgrad.Linear(8, CLASSES, dtype=d)],
    "gelu_layernorm": lambda d: [jitgrad.Linear(INPUTS, 8, dtype=d), jitgrad.LayerNorm(8, dtype=d),
                                 jitgrad.GELU(), jitgrad.Linear(8, CLASSES, dtype=d)],
    "batchnorm_dropout": lambda d: [jitgrad.Linear(INPUTS, 8, dtype=d),
                                    jitgrad.BatchNorm1d(8, dtype=d), jitgrad.ReLU(),
                                    jitgrad.Dropout(0.3), jitgrad.Linear(8, CLASSES, dtype=d)],
}

LOSSES = {  # (loss of (logits, target), target maker)
    "mse": (lambda: jitgrad.MSELoss(reduction="mean"), "values"),
    "mse_book": (lambda: jitgrad.MSELoss(), "values"),
    "cross_entropy_loss": (lambda: jitgrad.CrossEntropyLoss(), "classes"),
    "F.cross_entropy": (lambda: functional.cross_entropy, "classes"),
    "bce_with_logits": (lambda: jitgrad.BCEWithLogitsLoss(), "bits"),
}

OPTIMIZERS = {
    "sgd_momentum": lambda params: jitgrad.SGD(params, lr=0.05, momentum=0.9),
    "adam": lambda params: jitgrad.Adam(params, lr=0.01),
    "adamw": lambda params: jitgrad.AdamW(params, lr=0.01),
    "rmsprop": lambda params: jitgrad.RMSprop(params, lr=0.01),
}


def batches(target_kind, dtype, count=STEPS, batch=BATCH, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        x = Tensor(rng.standard_normal((batch, INPUTS)).astype(dtype))
        if target_kind == "classes":
            y = Tensor(rng.integers(0, CLASSES, batch))
        elif target_kind == "bits":
            y = Tensor(rng.integers(0, 2, (batch, CLASSES)).astype(dtype))
        else:
            y = Tensor(rng.standard_normal((batch, CLASSES)).astype(dtype))
        yield x, y


def mlp(stack, loss, optimizer, clip=None, zero_first=False):
    """A builder for Twins: the issue's ``train_step`` on ``stack``. ``stack``, ``loss`` and
    ``optimizer`` are keys of STACKS, LOSSES and OPTIMIZERS, or make one: ``stack(dtype)``
    a model, ``loss()`` a criterion, ``optimizer(parameters)``."""
    def build(dtype):
        model = stack(dtype) if callable(stack) else jitgrad.Sequential(STACKS[stack](dtype))
        criterion = loss() if callable(loss) else LOSSES[loss][0]()
        opt = (optimizer if callable(optimizer) else OPTIMIZERS[optimizer])(model.parameters())
        forward = criterion.forward if hasattr(criterion, "forward") else criterion

        def train_step(x, target):
            if zero_first:
                opt.zero_grad()
            loss_value = forward(model.forward(x), target)
            loss_value.backward()
            if clip:
                jitgrad.clip_grad_norm(model.parameters(), clip)
            opt.step()
            return loss_value
        return model, opt, train_step
    return build


def train(twins, target_kind, count=STEPS):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback would warn
        for x, y in batches(target_kind, twins.dtype, count=count):
            twins.step(x, y)
    assert replayed(twins)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("stack", STACKS)
def test_mlp_layers_and_losses(stack, loss, dtype):
    train(Twins(mlp(stack, loss, "adam"), dtype), LOSSES[loss][1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_mlp_optimizers_with_clipping(optimizer, dtype):
    twins = Twins(mlp("batchnorm_dropout", "cross_entropy_loss", optimizer, clip=0.5,
                      zero_first=True), dtype)
    train(twins, "classes")


def test_batchnorm_running_statistics_move_in_replay():
    twins = Twins(mlp("batchnorm_dropout", "cross_entropy_loss", "sgd_momentum"), np.float64)
    norm = next(layer for layer in twins.model.layers_within()
                if isinstance(layer, jitgrad.BatchNorm1d))
    seen = []
    for x, y in batches("classes", np.float64):
        twins.step(x, y)
        seen.append(norm.running_mean.copy())
    assert replayed(twins)
    assert all(not np.array_equal(a, b) for a, b in zip(seen, seen[1:]))


def test_replay_makes_no_graph_and_returns_fresh_tensors():
    twins = Twins(mlp("tanh", "cross_entropy_loss", "sgd_momentum"), np.float64)
    data = list(batches("classes", np.float64, count=4))
    results = [twins.step(x, y)[1] for x, y in data]
    assert replayed(twins)
    assert results[3].creators is None and results[2] is not results[3]
    assert results[2].data is not results[3].data


def test_array_arguments_wrapped_inside_the_step():
    """``Tensor(x)`` of an array argument (and of a slice of one) is the argument's data at
    every replay, not the first call's."""
    def build(dtype):
        model, opt, step = mlp("tanh", "cross_entropy_loss", "adam")(dtype)
        return model, opt, lambda x, y: step(Tensor(x[:, :INPUTS]), Tensor(y))
    twins = Twins(build, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback; not a compile's NumbaWarning
        for x, y in batches("classes", np.float64):
            twins.step(np.hstack([x.data, x.data]), y.data)
    assert replayed(twins)


def two_backward_passes_and_a_no_grad_block(dtype):
    model = jitgrad.Sequential(STACKS["gelu_layernorm"](dtype))
    opt = jitgrad.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        first = functional.cross_entropy(model.forward(x), y)
        first.backward()
        second = (model.forward(x) * 0.5).sum()
        second.backward()  # adds into the same .grad buffers
        with jitgrad.no_grad():
            activations = model.forward(x).relu()
        opt.step()
        return first, second, activations
    return model, opt, step


def rnn_cell_with_clipping(dtype):
    cell = jitgrad.RNNCell(INPUTS, 7, CLASSES, dtype=dtype)
    opt = jitgrad.RMSprop(cell.parameters(), lr=0.01)

    def step(x, y):
        hidden, loss = cell.init_hidden(x.shape[0]), None
        for t in range(3):
            output, hidden = cell.forward(x * float(t + 1), hidden)
            step_loss = functional.cross_entropy(output, y)
            loss = step_loss if loss is None else loss + step_loss
        loss.backward()
        jitgrad.clip_grad_norm(cell.parameters(), 0.3)
        opt.step()
        return loss
    return cell, opt, step


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("build", [two_backward_passes_and_a_no_grad_block,
                                   rnn_cell_with_clipping])
def test_other_step_shapes(build, dtype):
    train(Twins(build, dtype), "classes")


def test_gradients_accumulated_over_replays_until_an_optimizer_step_outside():
    def build(dtype):
        model = jitgrad.Sequential(STACKS["tanh"](dtype))
        opt = jitgrad.Adam(model.parameters(), lr=0.01)

        def backward_only(x, y):
            loss = functional.cross_entropy(model.forward(x), y)
            loss.backward()
            return loss
        return model, opt, backward_only
    twins = Twins(build, np.float64)
    for index, (x, y) in enumerate(batches("classes", np.float64)):
        twins.step(x, y)
        if index % 3 == 2:
            for opt in twins.optimizers:
                opt.step()
    assert replayed(twins)


# --- the book's LSTM window ---------------------------------------------------------------

VOCAB, EMBED, HIDDEN, BPTT, LSTM_BATCH = 11, 6, 7, 25, 4


def lstm(optimizer="sgd", clip=None):
    """The issue's ``train_window``: 25 steps of Embedding + LSTMCell, summed loss, carried
    (re-wrapped) state; its inputs come as ``windows`` makes them."""
    def build(dtype):
        embed = jitgrad.Embedding(VOCAB, EMBED, dtype=dtype)
        cell = jitgrad.LSTMCell(EMBED, HIDDEN, VOCAB, dtype=dtype)
        params = embed.get_parameters() + cell.get_parameters()
        opt = (jitgrad.SGD(params, alpha=0.05) if optimizer == "sgd"
               else jitgrad.Adam(params, lr=0.01))
        criterion = jitgrad.CrossEntropyLoss()

        def train_window(xs, ys, h, c):
            hidden, loss = (h, c), None
            for t in range(BPTT):
                output, hidden = cell.forward(embed.forward(xs[t]), hidden)
                step_loss = criterion.forward(output, ys[t])
                loss = step_loss if loss is None else loss + step_loss
            loss.backward()
            if clip:
                jitgrad.clip_grad_norm(params, clip)
            opt.step()
            return loss, hidden[0], hidden[1]
        model = jitgrad.Sequential([embed, cell])
        return model, opt, train_window
    return build


def windows(indices, count=STEPS, seed=3):
    """(xs, ys) per window: ``indices`` says how: a list of int arrays, or one int Tensor
    or array (25, batch), C-contiguous or not, indexed inside the step."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        xs, ys = rng.integers(0, VOCAB, (2, BPTT, LSTM_BATCH))
        if indices == "list":
            yield list(xs), list(ys)
        elif indices == "tensor":
            yield Tensor(xs), Tensor(ys)
        elif indices == "strided":  # windows of streams, as jitgrad.apps.charlm cuts them
            yield xs.T.copy().T, ys.T.copy().T
        else:
            yield xs, ys


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer,clip,indices", [("sgd", None, "list"),
                                                    ("adam", 1.0, "tensor"),
                                                    ("sgd", 0.5, "array"),
                                                    ("adam", None, "strided")])
def test_lstm_windows_with_carried_state(optimizer, clip, indices, dtype):
    twins = Twins(lstm(optimizer, clip), dtype)
    cell = twins.model.layers[1]
    state = [cell.init_hidden(LSTM_BATCH) for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback; not a compile's NumbaWarning
        for xs, ys in windows(indices):
            # the book's truncated backprop: carry the values, not the graph
            args = [(xs, ys, *(Tensor(t.data, autograd=True) for t in side)) for side in state]
            np.random.seed(0)
            eager = twins.sides[0][2](*args[0])
            compiled = twins.compiled(*args[1])
            twins.compare(eager, compiled)
            state = [eager[1:], compiled[1:]]
    assert replayed(twins)


# --- guards: each change is seen on the next call -------------------------------------------

def recording_counter(twins):
    """Count the compiled side's eager runs (records): its step function is the one counted."""
    calls = []
    inner = twins.compiled.fn

    def counted(*args):
        calls.append(1)
        return inner(*args)
    twins.compiled.fn = counted
    return calls


def test_guard_grad_mode():
    build = mlp("tanh", "cross_entropy_loss", "sgd_momentum")

    def build_eval(dtype):
        model, opt, _ = build(dtype)
        criterion = jitgrad.CrossEntropyLoss()
        return model, opt, lambda x, y: criterion.forward(model.forward(x), y)
    twins = Twins(build_eval, np.float64)
    data = list(batches("classes", np.float64, count=6))
    for x, y in data[:3]:
        twins.step(x, y)
    with jitgrad.no_grad():
        for x, y in data[3:]:
            eager, compiled = twins.step(x, y)
            assert not compiled.autograd
    assert len(twins.compiled._tapes) == 2


def test_guard_train_and_eval_modes():
    twins = Twins(mlp("batchnorm_dropout", "cross_entropy_loss", "sgd_momentum"), np.float64)
    records = recording_counter(twins)
    data = list(batches("classes", np.float64, count=15))
    for phase, (x, y) in enumerate(data):
        mode = (phase // 5) % 2 == 0  # train, eval, train
        for model in twins.models:
            model.train(mode)
        twins.step(x, y)
    assert len(records) == 4  # two recordings in train mode, two in eval, none back in train


def test_evaluation_between_epochs_reads_the_running_statistics_as_they_are():
    """A compiled evaluation in eval mode, between compiled training epochs: BatchNorm
    normalizes by the running statistics the training steps have moved since."""
    build = mlp("batchnorm_dropout", "cross_entropy_loss", "adam")
    twins = Twins(build, np.float64)
    evaluations = []
    for model, _, _ in twins.sides:
        criterion = jitgrad.CrossEntropyLoss()
        evaluations.append(lambda x, y, model=model: criterion.forward(model.forward(x), y))
    evaluate = jitgrad.compile(evaluations[1])
    test_x, test_y = next(batches("classes", np.float64, seed=9))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback; not a compile's NumbaWarning
        for epoch in range(6):
            for model in twins.models:
                model.train()
            for x, y in batches("classes", np.float64, count=3, seed=epoch):
                twins.step(x, y)
            for model in twins.models:
                model.eval()
            with jitgrad.no_grad():
                assert_same(evaluations[0](test_x, test_y).data, evaluate(test_x, test_y).data,
                            np.float64)
    assert replayed(twins) and evaluate._tapes


def test_guard_learning_rate_by_hand_and_by_scheduler():
    twins = Twins(mlp("tanh", "mse", "sgd_momentum"), np.float64)
    schedulers = [jitgrad.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
                  for opt in twins.optimizers]
    for index, (x, y) in enumerate(batches("values", np.float64)):
        twins.step(x, y)
        for scheduler in schedulers:
            scheduler.step()
        if index == 10:
            for opt in twins.optimizers:
                opt.param_groups[0]["lr"] = 0.3
    assert replayed(twins)


def test_guard_learning_rate_scheduled_inside_the_step():
    def build(dtype):
        model, opt, step = mlp("tanh", "mse", "adam")(dtype)
        scheduler = jitgrad.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.7)

        def scheduled(x, y):
            loss = step(x, y)
            scheduler.step()
            return loss
        return model, opt, scheduled
    train(Twins(build, np.float64), "values")


def test_guard_in_place_change_of_parameter_data():
    twins = Twins(mlp("tanh", "mse", "adam"), np.float64)
    for index, (x, y) in enumerate(batches("values", np.float64)):
        twins.step(x, y)
        for model in twins.models:
            first, second = model.get_parameters()[:2]
            if index == 5:
                first.data *= 0.5  # in place
            if index == 9:
                second.data = np.full_like(second.data, 0.1)  # a new array
    assert replayed(twins)


def test_guard_parameter_added_to_and_removed_from_the_optimizer():
    def build(dtype):
        model = jitgrad.Sequential(STACKS["tanh"](dtype))
        params = model.get_parameters()
        opt = jitgrad.SGD(params[2:], lr=0.1, momentum=0.5)  # the first layer frozen
        criterion = jitgrad.MSELoss(reduction="mean")

        def train_step(x, y):
            loss = criterion.forward(model.forward(x), y)
            loss.backward()
            opt.step()
            return loss
        return model, opt, train_step
    twins = Twins(build, np.float64)
    for index, (x, y) in enumerate(batches("values", np.float64)):
        twins.step(x, y)
        for model, opt in zip(twins.models, twins.optimizers):
            if index == 6:
                opt.add_param_group({"params": model.get_parameters()[:2], "lr": 0.05})
            if index == 12:  # the last group's: optimizer state is kept by position
                opt.param_groups[-1]["params"].pop()
    assert replayed(twins)


def test_guard_parameter_frozen_by_requires_grad():
    twins = Twins(mlp("tanh", "mse", "sgd_momentum"), np.float64)
    records = recording_counter(twins)
    for index, (x, y) in enumerate(batches("values", np.float64)):
        twins.step(x, y)
        if index == 8:
            for model in twins.models:
                model.get_parameters()[0].requires_grad = False
    assert replayed(twins) and len(records) == 4


def test_a_new_signature_records_a_new_tape_and_the_cache_is_bounded():
    twins = Twins(mlp("tanh", "cross_entropy_loss", "sgd_momentum"), np.float64)
    for batch in list(range(2, 2 + jitgrad.compiler.step.MAX_TAPES + 3)) + [2, 3]:
        for x, y in batches("classes", np.float64, count=3, batch=batch, seed=batch):
            twins.step(x, y)
    assert sum(map(len, twins.compiled._tapes.values())) == jitgrad.compiler.step.MAX_TAPES


def test_a_profile_times_the_replayed_ops():
    twins = Twins(mlp("tanh", "cross_entropy_loss", "sgd_momentum"), np.float64)
    data = list(batches("classes", np.float64, count=3))
    for x, y in data[:2]:
        twins.step(x, y)
    with jitgrad.profile() as prof:
        twins.step(*data[2])
    assert replayed(twins)
    calls = collections.Counter()
    for (name, phase, _), stats in prof.stats.items():
        calls[name, phase] += stats.calls
    # two Linears, on the eager side and the replayed one
    assert calls["linear", "forward"] == 4 and calls["linear", "backward"] == 4


def test_decorator_form():
    model = jitgrad.Linear(INPUTS, CLASSES)
    opt = jitgrad.SGD(model.parameters(), lr=0.1)

    @jitgrad.compile
    def train_step(x, y):
        loss = functional.cross_entropy(model.forward(x), y)
        loss.backward()
        opt.step()
        return loss
    for x, y in batches("classes", np.float64, count=4):
        train_step(x, y)
    assert train_step.__name__ == "train_step" and train_step._tapes


# --- fallbacks: one warning naming the reason, eager numbers ---------------------------------

def fallback(build, match, target_kind="classes"):
    twins = Twins(build, np.float64)
    with pytest.warns(RuntimeWarning, match=match) as caught:
        for x, y in batches(target_kind, np.float64, count=6):
            twins.step(x, y)
    assert len([w for w in caught if "jitgrad.compile" in str(w.message)]) == 1
    assert twins.compiled.eager_reason is not None


def wrapped(transform):
    """A builder whose step is ``transform(model, opt, step)``."""
    def build(dtype):
        model, opt, step = mlp("tanh", "cross_entropy_loss", "sgd_momentum")(dtype)
        return model, opt, transform(model, opt, step)
    return build


def test_fallback_on_item_inside_the_step():
    def transform(model, opt, step):
        def logged(x, y):
            loss = step(x, y)
            logged.last = loss.item()
            return loss
        return logged
    fallback(wrapped(transform), r"runs eagerly: item\(\) was called on a Tensor inside the step")


def test_fallback_on_numpy_inside_the_step():
    def transform(model, opt, step):
        return lambda x, y: (step(x, y), x.numpy().sum())[0]
    fallback(wrapped(transform), r"numpy\(\) was called on a Tensor inside the step")


def test_fallback_on_control_flow_that_depends_on_tensor_values():
    def transform(model, opt, step):
        def branching(x, y):
            out = model.forward(x)
            if out.data.sum() > 0:  # read through .data: seen when the ops differ
                out = out * 2.0
            loss = functional.cross_entropy(out, y)
            loss.backward()
            opt.step()
            return loss
        return branching

    def build(dtype):
        model, opt, _ = mlp("tanh", "cross_entropy_loss", "sgd_momentum")(dtype)
        model.get_parameters()[-1].data += 5.0  # positive, then...
        flips = transform(model, opt, None)

        @jitgrad.autograd.recording.recorded  # a change replay makes, so the branch alone differs
        def flip_sign():
            model.get_parameters()[-1].data *= -1  # ...alternating sign

        def step(x, y):
            flip_sign()
            return flips(x, y)
        return model, opt, step
    fallback(build, "ran differently on its second call")


def test_fallback_on_data_that_reaches_ops_outside_the_arguments():
    def build(dtype):
        model, opt, step = mlp("tanh", "cross_entropy_loss", "sgd_momentum")(dtype)
        rng = np.random.default_rng(0)
        return model, opt, lambda x, y: step(Tensor(rng.standard_normal(x.shape)), y)

    twins = Twins(build, np.float64)
    with pytest.warns(RuntimeWarning, match="ran differently on its second call"):
        for x, y in batches("classes", np.float64, count=4):
            twins.step(x, y, compare=False)  # each side draws from its own generator
    assert twins.compiled.eager_reason is not None


class Opaque(Op):
    """An op that says it cannot be replayed."""

    creation_op = "opaque"
    replayable = False

    def forward(self, a):
        return a * 1.0

    def backward(self, grad, needs_grad):
        return [grad]


def test_fallback_on_an_op_without_a_tape_form():
    def transform(model, opt, step):
        def opaque(x, y):
            return step(apply(Opaque(), x), y)
        return opaque
    fallback(wrapped(transform), "the op 'opaque' \\(Opaque\\) has no tape form")


def test_leaves_made_inside_the_step_replay():
    """The book's ``hidden = cell.init_hidden()`` inside the step: a new leaf each call."""
    def build(dtype):
        model, opt, step = lstm()(dtype)
        cell = model.layers[1]

        def fresh_state(xs, ys):
            return step(xs, ys, *cell.init_hidden(LSTM_BATCH))
        return model, opt, fresh_state
    twins = Twins(build, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback; not a compile's NumbaWarning
        for xs, ys in windows("list", count=5):
            twins.step(xs, ys)
    assert replayed(twins)


def manual_sgd(params, lr=0.1):
    """A hand-written update: ``p.data -= lr * p.grad.data``, then release the gradient."""
    for p in params:
        p.data -= lr * p.grad.data
        p.grad = None


def hand_written_update(update, then=None):
    """A step whose update is ``update(parameters)``, followed by ``then(optimizer)``."""
    def build(dtype):
        model = jitgrad.Sequential(STACKS["tanh"](dtype))
        opt = jitgrad.SGD(model.parameters(), lr=0.1)  # for Twins' state comparison only

        def step(x, y):
            loss = functional.cross_entropy(model.forward(x), y)
            loss.backward()
            update(model.get_parameters())
            if then is not None:
                then(opt)
            return loss
        return model, opt, step
    return build


#: The fallback's reason for a tensor made before the step and changed in Python inside it.
CHANGED_IN_PYTHON = ("a tensor made before the step \\(a parameter or a data buffer\\) changed "
                     "inside it other than through ops")


def test_fallback_on_a_parameter_updated_in_python():
    fallback(hand_written_update(manual_sgd), CHANGED_IN_PYTHON)


def test_fallback_on_a_parameter_updated_in_python_before_a_recorded_call():
    """The recorded call (``zero_grad()`` here) takes a new copy of the parameters to watch:
    a change made before it is seen before it runs, not hidden by that copy."""
    fallback(hand_written_update(manual_sgd, then=lambda opt: opt.zero_grad()),
             CHANGED_IN_PYTHON)


def test_fallback_on_a_parameter_changed_in_python_before_its_first_use():
    """Weight decay written by hand ahead of the forward: the parameters are noted
    (fingerprinted) when the confirming recording starts, not at their first use."""
    def build(dtype):
        model, opt, step = mlp("tanh", "cross_entropy_loss", "sgd_momentum")(dtype)

        def decayed(x, y):
            for p in model.get_parameters():
                p.data *= 0.99
            return step(x, y)
        return model, opt, decayed
    fallback(build, CHANGED_IN_PYTHON)


@pytest.mark.parametrize("order", ["C", "F"])
def test_fallback_on_a_data_buffer_refilled_inside_the_step(order):
    """A buffer made before the step and filled inside it: a replay would train on the
    batch it last held. A Fortran-ordered one is fingerprinted in C order, as any other."""
    def build(dtype):
        model, opt, step = mlp("tanh", "cross_entropy_loss", "sgd_momentum")(dtype)
        buffer = Tensor(np.zeros((BATCH, INPUTS), dtype=dtype, order=order))
        stream = np.random.default_rng(5)  # each side its own, the same batches

        def from_buffer(x, y):
            buffer.data[...] = stream.standard_normal(buffer.data.shape)
            return step(buffer, y)
        return model, opt, from_buffer
    fallback(build, CHANGED_IN_PYTHON)


#: The fallback's reason for an optimizer's settings changed in Python inside the step.
OPTIMIZER_CHANGED = ("the settings of SGD \\(a group's lr, momentum, ... or its groups and "
                     "parameters\\) changed inside the step")


def test_fallback_on_a_learning_rate_decayed_by_hand_after_the_update():
    """A replay would keep the rate where the two recordings left it."""
    def transform(model, opt, step):
        def decayed(x, y):
            loss = step(x, y)
            opt.param_groups[0]["lr"] *= 0.5
            return loss
        return decayed
    fallback(wrapped(transform), OPTIMIZER_CHANGED)


def test_fallback_on_a_learning_rate_changed_by_hand_before_the_forward():
    """Seen from the start of the confirming recording, as the tensors are."""
    def transform(model, opt, step):
        def decayed_first(x, y):
            opt.param_groups[0]["lr"] *= 0.9
            return step(x, y)
        return decayed_first
    fallback(wrapped(transform), OPTIMIZER_CHANGED)


def test_fallback_on_a_parameter_group_added_inside_the_step():
    def transform(model, opt, step):
        def growing(x, y):
            loss = step(x, y)
            opt.add_param_group({"params": [Tensor(np.zeros(3), autograd=True)]})
            return loss
        return growing
    fallback(wrapped(transform), OPTIMIZER_CHANGED)


def test_a_learning_rate_given_as_a_numpy_scalar_replays():
    """A rate set to an np.float32 between calls is not taken for a change inside the step."""
    twins = Twins(mlp("tanh", "cross_entropy_loss", "sgd_momentum"), np.float64)
    for _, opt, _ in twins.sides:  # set between calls, as from a NumPy schedule
        opt.param_groups[0]["lr"] = np.float32(0.05)
    train(twins, "classes")


def test_fallback_on_a_data_buffer_reshaped_in_place_inside_the_step():
    """``array.shape = ...`` keeps the bytes and the array: the shape counts as a change
    too."""
    def build(dtype):
        model, opt, step = mlp("tanh", "cross_entropy_loss", "sgd_momentum")(dtype)
        flat = Tensor(np.random.default_rng(5).standard_normal(BATCH * INPUTS).astype(dtype))

        def from_flat(x, y):
            flat.data.shape = (BATCH, INPUTS)
            loss = step(flat, y)
            flat.data.shape = (BATCH * INPUTS,)
            return loss
        return model, opt, from_flat
    fallback(build, CHANGED_IN_PYTHON)


def test_a_python_update_marked_recorded_replays():
    train(Twins(hand_written_update(jitgrad.autograd.recording.recorded(manual_sgd)), np.float64),
          "classes")


def test_fallback_on_a_non_tensor_result():
    def transform(model, opt, step):
        return lambda x, y: (step(x, y), "done")
    fallback(wrapped(transform), "returns something other than a Tensor")


def test_an_error_inside_a_recording_reaches_the_caller_and_leaves_compiling_on():
    twins = Twins(mlp("tanh", "cross_entropy_loss", "sgd_momentum"), np.float64)
    x, y = next(batches("classes", np.float64))
    with pytest.raises(IndexError, match="cross_entropy: indices must lie in"):
        twins.compiled(x, Tensor(np.full(BATCH, CLASSES)))  # a target out of range
    assert not jitgrad.autograd.recording.switch.active
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback; not a compile's NumbaWarning
        for x, y in batches("classes", np.float64, count=4):
            twins.step(x, y)
    assert replayed(twins)


def test_an_error_inside_a_replay_reaches_the_caller_before_any_update():
    twins = Twins(mlp("tanh", "cross_entropy_loss", "sgd_momentum"), np.float64)
    for x, y in batches("classes", np.float64, count=3):
        twins.step(x, y)
    before = [p.data.copy() for p in twins.model.get_parameters()]
    with pytest.raises(IndexError, match="cross_entropy: indices must lie in"):
        twins.compiled(x, Tensor(np.full(BATCH, CLASSES)))
    assert all(np.array_equal(a, p.data) for a, p in zip(before, twins.model.get_parameters()))
    for x, y in batches("classes", np.float64, count=3, seed=1):
        twins.step(x, y)  # and the tape replays on
    assert replayed(twins)
