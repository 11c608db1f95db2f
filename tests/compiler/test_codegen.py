"""A compiled step generated as one Numba function (jitgrad/codegen.py): the same numbers as
the op-by-op replay, bit for bit, and that replay wherever a condition does not hold."""
import collections
import functools
import json
import os

import numpy as np
import pytest

import jitgrad
from jitgrad import Tensor
from jitgrad.autograd.engine import run_backward
from jitgrad.compiler import codegen
from jitgrad.ops import registry

from .test_compile import Twins, batches, mlp, model_state, replayed

STEPS = 8


@pytest.fixture(autouse=True)
def generate_early(monkeypatch):
    """Generate after two replays, so that a short training runs the function."""
    monkeypatch.setattr(codegen, "AFTER_REPLAYS", 2)
    monkeypatch.delenv(codegen.OVERRIDE, raising=False)


@pytest.fixture
def program_runs(monkeypatch):
    """A Counter of the generated functions' calls: "ran" the step, "resumed" it op by op
    after the calls before its ops, or "declined" (replayed op by op from the start)."""
    counts, run = collections.Counter(), codegen.Program.run

    def counted(program, arrays, bind, resume):
        results = run(program, arrays, bind, resume)
        counts["declined" if results is None else "ran" if isinstance(results, dict)
               else "resumed"] += 1
        return results
    monkeypatch.setattr(codegen.Program, "run", counted)
    return counts


def sgd_mlp(stack="tanh", optimizer=None, zero_first=False, clip=None,
            make_loss=jitgrad.MSELoss):
    """``test_compile.mlp``'s builder with the book's MSELoss (squared error) and plain SGD
    (lr 0.05) unless given; ``stack`` may also be a key of MODELS."""
    return mlp(MODELS.get(stack, stack), make_loss,
               optimizer or (lambda params: jitgrad.SGD(params, lr=0.05)), clip, zero_first)


class BookMM(jitgrad.Layer):
    """The book's two-layer net on bare weights: ``x.mm(w1).tanh().mm(w2)``."""

    def __init__(self, dtype):
        super().__init__()
        rng = np.random.default_rng(5)
        self.w1, self.w2 = (Tensor(rng.standard_normal(shape).astype(dtype), autograd=True)
                            for shape in ((5, 8), (8, 3)))

    def forward(self, x):
        return x.mm(self.w1).tanh().mm(self.w2)


class TwoHeads(jitgrad.Layer):
    """A hidden layer read by two heads, one the other's target (``BetweenHeads``): its
    gradient is the sum of two, and the target's gradient is the loss's second."""

    def __init__(self, dtype):
        super().__init__()
        self.hidden, self.head, self.other = (jitgrad.Linear(n_in, n_out, dtype=dtype) for
                                              n_in, n_out in ((5, 8), (8, 3), (8, 3)))

    def forward(self, x):
        h = self.hidden.forward(x).tanh()
        return self.head.forward(h), self.other.forward(h)


class BetweenHeads:
    """The book's MSELoss between TwoHeads' two outputs (the batch's target unused)."""

    def __init__(self):
        self.mse = jitgrad.MSELoss()

    def forward(self, heads, target):
        return self.mse.forward(*heads)


class SoftplusNet(jitgrad.Layer):
    """Two layers joined by ``F.softplus``: an op added as kernels and a ``Unary`` class."""

    def __init__(self, dtype):
        super().__init__()
        self.hidden, self.head = (jitgrad.Linear(n_in, n_out, dtype=dtype)
                                  for n_in, n_out in ((5, 8), (8, 3)))

    def forward(self, x):
        return self.head.forward(jitgrad.functional.softplus(self.hidden.forward(x), beta=2.0))


def torch_style_mlp(dtype):
    """The MLP as a PyTorch user writes it: ``nn.Linear`` (weight (out, in)) in an
    ``nn.Sequential``."""
    nn = jitgrad.nn
    return nn.Sequential(nn.Linear(5, 8, dtype=dtype), nn.ReLU(), nn.Linear(8, 8, dtype=dtype),
                         nn.Tanh(), nn.Linear(8, 3, dtype=dtype))


MODELS = {"book_mm": BookMM, "two_heads": TwoHeads, "nn_mlp": torch_style_mlp,
          "softplus": SoftplusNet}


def tape(twins):
    (tapes,) = twins.compiled._tapes.values()
    return tapes[0]


def train(twins, count=STEPS, seed=0):
    for x, y in batches("values", np.float32, count=count, seed=seed):
        twins.step(x, y)
    assert replayed(twins)


def two_groups(params):
    """SGD with another learning rate for the last layer's parameters."""
    return jitgrad.SGD([{"params": params[:-2]}, {"params": params[-2:], "lr": 0.2}], lr=0.05)


BUILDS = {  # fused into the products (float32 plain SGD), or into the .grad buffers
    "tanh": sgd_mlp("tanh"),
    "sigmoid_relu": sgd_mlp("sigmoid_relu"),
    "book_mm": sgd_mlp("book_mm"),
    "two_heads": sgd_mlp("two_heads", make_loss=BetweenHeads),
    "groups": sgd_mlp(optimizer=two_groups),
    "zero_grad_first": sgd_mlp(zero_first=True),
    "adam": sgd_mlp("sigmoid_relu", optimizer=lambda params: jitgrad.Adam(params, lr=0.01)),
    "momentum_clipped": sgd_mlp(optimizer=lambda params: jitgrad.SGD(params, lr=0.05,
                                                                       momentum=0.9), clip=0.5),
    "rmsprop_book_mm": sgd_mlp("book_mm", zero_first=True,
                               optimizer=lambda params: jitgrad.RMSprop(params, lr=0.01)),
    "classifier": sgd_mlp("sigmoid_relu", make_loss=jitgrad.CrossEntropyLoss),
    "mse_mean_adamw": sgd_mlp(make_loss=lambda: jitgrad.MSELoss(reduction="mean"),
                              optimizer=lambda params: jitgrad.AdamW(params, lr=0.01)),
    "mse_sum": sgd_mlp(make_loss=lambda: jitgrad.MSELoss(reduction="sum")),
    "classifier_adam": sgd_mlp(make_loss=lambda: jitgrad.nn.functional.cross_entropy,
                               optimizer=lambda params: jitgrad.Adam(params, lr=0.01)),
    "softplus": sgd_mlp("softplus"),
    "nn_mlp_sgd": sgd_mlp("nn_mlp", make_loss=jitgrad.nn.MSELoss),
    "nn_mlp_classifier_adam": sgd_mlp("nn_mlp", make_loss=jitgrad.nn.CrossEntropyLoss,
                                      optimizer=lambda params: jitgrad.Adam(params, lr=0.01)),
}
TARGETS = {"classifier": "classes", "classifier_adam": "classes",
           "nn_mlp_classifier_adam": "classes"}  # else "values"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("model", BUILDS)
def test_a_step_runs_generated_with_the_op_by_op_replays_numbers(model, dtype, program_runs,
                                                                 monkeypatch):
    """Against eager (Twins: bit for bit in float64, to float32's tolerance) and, bit for
    bit, against a twin compiled step replayed op by op (``JITGRAD_GENERATE=off``)."""
    generated, by_op = Twins(BUILDS[model], dtype), Twins(BUILDS[model], dtype)
    for x, y in batches(TARGETS.get(model, "values"), dtype, count=STEPS):
        loss = generated.step(x, y)[1]
        monkeypatch.setenv(codegen.OVERRIDE, "off")
        loss_by_op = by_op.step(x, y)[1]
        monkeypatch.delenv(codegen.OVERRIDE)
        np.testing.assert_array_equal(loss.data, loss_by_op.data)
    for a, b in zip(model_state(*generated.sides[1][:2]), model_state(*by_op.sides[1][:2])):
        np.testing.assert_array_equal(a, b)
    assert tape(generated).program and tape(by_op).program is False
    assert program_runs == {"ran": STEPS - 2 - 2}  # after two recordings and two replays


def test_an_op_added_with_programs_alone_runs_in_the_generated_function(program_runs):
    """softplus is its kernels and a ``Unary`` class (jitgrad/ops/activations.py): the
    generated function calls its kernels, forward and backward, with eager's numbers
    (Twins compares every step)."""
    twins = Twins(BUILDS["softplus"], np.float32)
    train(twins)
    with open(tape(twins).program.function.py_func.__code__.co_filename) as file:
        source = file.read()
    assert "activations_softplus(" in source and "activations_softplus_backward(" in source
    assert program_runs == {"ran": STEPS - 4}


def test_each_call_checks_the_conditions_and_replays_op_by_op_when_one_fails(program_runs):
    twins = Twins(sgd_mlp(), np.float32)
    train(twins)
    runs = program_runs["ran"]
    model, opt, _ = twins.sides[1]
    data = batches("values", np.float32, count=3, seed=4)
    for side in twins.sides:  # momentum: not plain SGD
        side[1].param_groups[0]["momentum"] = 0.5
    twins.step(*next(data))
    for side in twins.sides:
        side[1].param_groups[0]["momentum"] = 0.0
        weight = side[0].get_parameters()[0]  # an F-ordered array of the same shape
        weight.data = np.asfortranarray(weight.data)
    twins.step(*next(data))
    for side in twins.sides:
        side[0].get_parameters()[0].data = np.ascontiguousarray(side[0].get_parameters()[0].data)
    twins.step(*next(data))
    assert program_runs == {"ran": runs + 1, "resumed": 1, "declined": 1}
    assert replayed(twins) and tape(twins).program


def test_a_parameter_without_a_gradient_buffer_resumes_op_by_op_after_the_calls_before(
        program_runs):
    """Adam: the gradients go into the parameters' ``.grad`` buffers. One dropped by hand:
    that call runs the rest of the step op by op, the call before the ops only once."""
    counted = []
    note = jitgrad.autograd.recording.recorded(lambda: counted.append(1))

    def build(dtype):
        model, opt, train_step = BUILDS["adam"](dtype)
        return model, opt, lambda x, y: (note(), train_step(x, y))[1]
    twins = Twins(build, np.float32)
    train(twins)
    runs = program_runs["ran"]
    before = len(counted)
    for side in twins.sides:
        weight = side[0].get_parameters()[0]
        weight.grad = weight._grad_buffer = None
    twins.step(*next(batches("values", np.float32, seed=4)))
    assert program_runs == {"ran": runs, "resumed": 1} and len(counted) == before + 2
    twins.step(*next(batches("values", np.float32, seed=5)))
    assert program_runs == {"ran": runs + 1, "resumed": 1}


@pytest.mark.parametrize("why", ["bce_with_logits", "batchnorm_dropout"])
def test_a_tape_outside_the_source_forms_keeps_replaying_op_by_op(why, program_runs):
    build = {"bce_with_logits": sgd_mlp(make_loss=jitgrad.BCEWithLogitsLoss),
             "batchnorm_dropout": sgd_mlp("batchnorm_dropout")}[why]
    twins = Twins(build, np.float32)
    for x, y in batches("values", twins.dtype, count=STEPS):
        twins.step(x, y)
    assert replayed(twins) and tape(twins).program is False
    assert not program_runs


def test_a_profiled_call_replays_op_by_op_and_shows_its_ops(program_runs):
    twins = Twins(sgd_mlp(), np.float32)
    train(twins)
    runs = program_runs["ran"]
    with jitgrad.profile() as prof:
        twins.step(*next(batches("values", np.float32, seed=3)))
    assert program_runs["ran"] == runs
    assert {name for name, _, _ in prof.stats} >= {"linear", "tanh", "squared_error"}


def test_generation_off_and_a_bad_setting(monkeypatch):
    monkeypatch.setenv(codegen.OVERRIDE, "off")
    twins = Twins(sgd_mlp(), np.float32)
    train(twins)
    assert tape(twins).program is False
    monkeypatch.setenv(codegen.OVERRIDE, "sometimes")
    with pytest.raises(ValueError, match="JITGRAD_GENERATE='sometimes'"):
        codegen.enabled()


def test_a_function_that_does_not_compile_is_dropped_and_the_call_replays(monkeypatch,
                                                                           program_runs):
    def failing(*args):
        from numba.core.errors import TypingError
        raise TypingError("no such kernel")
    failing.signatures = []
    monkeypatch.setattr(codegen, "load", lambda text: failing)
    twins = Twins(sgd_mlp(), np.float32)
    train(twins)  # Twins compares every step with eager
    assert tape(twins).program is False and program_runs == {"resumed": 1}


def test_the_source_is_written_once_beside_the_cached_kernels_under_its_hash():
    text = codegen.Source().text(["a"], ["a"])
    first = codegen.load(text)
    path = first.py_func.__code__.co_filename
    stamp = os.stat(path).st_mtime_ns
    assert codegen.load(text) is first and os.stat(path).st_mtime_ns == stamp
    assert os.path.dirname(path).endswith("jitgrad_steps")
    array = np.arange(3.0)
    assert first(array)[0] is not None and np.array_equal(first(array)[0], array)


def test_every_op_with_programs_generates_what_its_methods_compute():
    """Each registered example whose output's op has programs, on C-contiguous float32
    inputs: its forward, backward (for every input) and scaled updates, generated into one
    function from its programs, against the op's own methods, bit for bit. A new op with
    programs is checked here once it registers an example."""
    checked = set()
    for spec in registry.SPECS.values():
        for example in spec.examples:
            leaves = [Tensor(a, autograd=True)
                      for a in registry.example_arrays(example.inputs, np.float32)]
            out = example.call(registry.library(), *leaves)
            if not isinstance(out, Tensor) or out.creators is None:
                continue
            op, arrays = out._op, [c.data for c in out.creators]
            if not codegen.has_program(op) or not all(
                    a.dtype == np.float32 and a.flags.c_contiguous for a in arrays):
                continue
            _check_programs(op, arrays, out.data)
            checked.add(op.creation_op)
    assert checked >= {"mm", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus",
                       "exp", "log", "clamp", "pow", "squared_error", "cross_entropy",
                       "mse_loss"}


def _check_programs(op, arrays, output):
    rng = np.random.default_rng(2)
    grad = np.asarray(rng.standard_normal(output.shape), dtype=np.float32)
    scaled = [i for i in op.scaled_grad_inputs if i < len(arrays)]
    operands = op.operand_arrays(**{name: getattr(op, name) for name in op.operands}) \
        if op.operands else []
    src = codegen.Source()
    run = codegen.Runner(src, "v", np.dtype(np.float32))
    symbol = functools.partial(codegen.Symbol, runner=run)
    ins = [f"in{i}" for i in range(len(arrays))]
    operand_names = [f"operand{i}" for i in range(len(operands))]
    result, saved = op.forward_program(run, *map(symbol, ins + operand_names))
    into = [[None] * len(arrays)] if op.accumulates else []
    grads = op.backward_program(run, saved, symbol("grad"), [True] * len(arrays), *into)
    grads = [run.named(g, f"grad{i}") for i, g in enumerate(grads)]
    if scaled:
        op.scaled_program(run, saved, symbol("grad"),
                          [(i, symbol(f"into{i}"), symbol("scale")) for i in scaled])
    step = codegen.load(src.text([*ins, "grad", *operand_names, *(f"into{i}" for i in scaled),
                                  "scale"], [run.named(result, "out"), *grads]))
    into = [np.ones_like(arrays[i]) for i in scaled]
    expected_into = [a.copy() for a in into]
    scale = np.float32(-0.5)
    generated = step(*arrays, grad, *operands, *into, scale)
    np.testing.assert_array_equal(generated[0], output)
    assert generated[0].dtype == output.dtype and generated[0].shape == output.shape
    creators = [Tensor(a) for a in arrays]  # want no gradient: nothing is added in place
    for got, expected in zip(generated[1:], run_backward(op, grad, [True] * len(arrays),
                                                           creators), strict=True):
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype and got.shape == expected.shape
    if scaled:
        op.add_scaled_grads(grad, [(i, out, scale) for i, out in zip(scaled, expected_into)])
        for got, expected in zip(into, expected_into):
            np.testing.assert_array_equal(got, expected)


def test_an_op_whose_forward_differs_from_its_programs_has_none():
    """A subclass that changes ``forward`` but inherits the programs would generate its
    parent's numbers: it has no programs until it writes its own."""
    from jitgrad.ops.activations import Sigmoid
    from jitgrad.ops.losses import MeanSquaredError

    class Doubled(Sigmoid):
        def forward(self, a):
            return 2 * super().forward(a)

    assert codegen.has_program(Sigmoid()) and codegen.has_program(MeanSquaredError("sum"))
    assert not codegen.has_program(Doubled())


def test_a_program_that_reads_array_values_has_no_generated_form():
    run = codegen.Runner(codegen.Source(), "v", np.dtype(np.float32))
    x = codegen.Symbol("in0", run)
    for read in (bool, float, len, lambda s: s.sum(), lambda s: s[np.array([0])]):
        with pytest.raises(codegen.NotEmitted):
            read(x)


def test_a_changed_kernel_source_drops_the_generated_steps(tmp_path, monkeypatch):
    """They call the old kernels; their names no longer match, and they would pile up."""
    from jitgrad.backend import kernel_cache
    monkeypatch.setattr(kernel_cache, "folder", lambda: str(tmp_path))
    generated = tmp_path / kernel_cache.GENERATED
    generated.mkdir()
    (generated / "step_0.py").write_text("")
    (tmp_path / kernel_cache.SOURCES_RECORD).write_text(json.dumps(kernel_cache.sources()))
    assert not kernel_cache.drop_if_sources_changed() and generated.exists()
    (tmp_path / kernel_cache.SOURCES_RECORD).write_text("{}")
    (tmp_path / "matmul.linear-33.py311.nbi").write_text("")
    assert kernel_cache.drop_if_sources_changed() and not generated.exists()


def test_a_step_without_backward_keeps_replaying_op_by_op(program_runs):
    model = jitgrad.Linear(5, 3, dtype=np.float32)  # one op: a tape of one event
    predict = jitgrad.compile(lambda x: model.forward(x))
    for x, _ in batches("values", np.float32, count=STEPS):
        np.testing.assert_array_equal(predict(x).data, model.forward(x).data)
    (tapes,) = predict._tapes.values()
    assert tapes[0].program is False and not program_runs


def test_a_bad_target_raises_the_ops_error_and_changes_nothing(program_runs):
    """Cross-entropy's targets are checked at every call, as its forward checks them."""
    twins = Twins(BUILDS["classifier_adam"], np.float32)
    for x, y in batches("classes", np.float32, count=STEPS):
        twins.step(x, y)
    model, opt, _ = twins.sides[1]
    before = [a.copy() for a in model_state(model, opt)]
    x, y = next(batches("classes", np.float32, seed=8))
    y.data[0] = 7  # 3 classes
    with pytest.raises(IndexError, match=r"cross_entropy: indices must lie in \[0, 3\)"):
        twins.compiled(x, y)
    for a, b in zip(before, model_state(model, opt)):
        np.testing.assert_array_equal(a, b)
    assert tape(twins).program and program_runs["ran"] == STEPS - 4


def test_a_cache_folder_that_cannot_be_written_leaves_the_step_op_by_op(tmp_path, monkeypatch,
                                                                        program_runs):
    from jitgrad.backend import kernel_cache
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the folder would go
    monkeypatch.setattr(kernel_cache, "folder", lambda: str(blocked))
    twins = Twins(sgd_mlp("sigmoid_relu"), np.float32)  # a source not written yet
    train(twins)
    assert tape(twins).program is False and not program_runs


def test_old_generated_steps_beyond_the_newest_are_deleted_with_their_code(tmp_path):
    (tmp_path / "__pycache__").mkdir()
    now, day = 1e9, codegen.KEEP_SECONDS
    count = codegen.KEEP_STEPS + 5
    for number in range(count):  # step_0 the newest, by a second each
        for path in (tmp_path / f"step_{number}.py",
                     tmp_path / "__pycache__" / f"step_{number}.step-15.py311.nbi"):
            path.write_text("")
            age = 2 * day if number >= count - 3 else 1  # the 3 oldest are also days old
            os.utime(path, (now - age - number, now - age - number))
    codegen.prune(str(tmp_path), now=now)
    kept = {p.stem for p in tmp_path.glob("step_*.py")}
    assert kept == {f"step_{n}" for n in range(count - 3)}  # 2 beyond the limit, but recent
    assert {p.name.split(".")[0] for p in (tmp_path / "__pycache__").iterdir()} == kept
