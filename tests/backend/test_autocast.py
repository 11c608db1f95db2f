"""jitgrad.autocast: bfloat16 products with float32 master weights, the conversion kernels,
and the one warning when no bf16 GEMM can run."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jitgrad
from jitgrad.backend import amp
from jitgrad.functional import linear
from kernels import bf16 as k


def fresh_choice(monkeypatch, value):
    """The process's bf16 GEMM chosen again at the next product, with JITGRAD_BF16=value."""
    monkeypatch.setenv(amp.OVERRIDE, value)
    amp._choice.cache_clear()


@pytest.fixture
def native(monkeypatch):
    """oneDNN's bf16 GEMM (the one measured fastest here); skips where it cannot run."""
    fresh_choice(monkeypatch, "dnnl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", amp.AutocastFallback)
        if amp.gemm() is None:
            pytest.skip(f"no native bf16 GEMM here: {amp.library()}")
    yield
    amp._choice.cache_clear()


@pytest.fixture
def float32_fallback(monkeypatch):
    """The process's bf16 choice forgotten before and after (for the fallback's tests)."""
    amp._choice.cache_clear()
    yield
    amp._choice.cache_clear()


def rounded(array):
    """``array`` rounded to bfloat16 and back, in float64: what the GEMM multiplies."""
    return k.from_bf16(k.to_bf16(np.ascontiguousarray(array, np.float32))).astype(np.float64)


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- conversion ---------------------------------------------------------------------------

def test_rounding_is_to_nearest_even_by_hand():
    one = 1.0
    # bfloat16 keeps 7 mantissa bits: its spacing at 1 is 2**-7
    values = np.array([one, one + 2 ** -8, one + 3 * 2 ** -8, one + 2 ** -8 + 2 ** -20,
                       -(one + 2 ** -8 + 2 ** -20), np.inf, -np.inf, 0.0, -0.0,
                       np.finfo(np.float32).max], np.float32)
    expected = np.array([one, one, one + 2 ** -6, one + 2 ** -7, -(one + 2 ** -7), np.inf,
                         -np.inf, 0.0, -0.0, np.inf], np.float32)  # max rounds past bf16's max
    got = k.from_bf16(k.to_bf16(values))
    np.testing.assert_array_equal(got, expected)
    assert np.signbit(got[8])


def test_nan_stays_nan_and_keeps_its_sign():
    nans = np.array([0x7F800001, 0xFF800001, 0x7FC00000, 0x7F810000], np.uint32).view(np.float32)
    bits = k.to_bf16(nans)
    back = k.from_bf16(bits)
    assert np.isnan(back).all()
    np.testing.assert_array_equal(np.signbit(back), np.signbit(nans))


def test_rounding_matches_ml_dtypes_on_every_kind_of_float():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    words = np.random.default_rng(1).integers(0, 2 ** 32, 200_000, dtype=np.uint32)
    values = words.view(np.float32).reshape(400, 500)
    keep = ~np.isnan(values)
    ours = k.to_bf16(values)
    with np.errstate(invalid="ignore"):  # ml_dtypes' cast of NaN, left out below anyway
        theirs = values.astype(ml_dtypes.bfloat16).view(np.uint16)
    np.testing.assert_array_equal(ours[keep], theirs[keep])
    np.testing.assert_array_equal(k.from_bf16(ours)[keep],
                                  theirs[keep].view(ml_dtypes.bfloat16).astype(np.float32))


def test_rounded_keeps_a_transposed_layout():
    w = random(6, 4)
    bits = amp.rounded(w.T)
    assert bits.shape == (4, 6) and bits.flags.f_contiguous
    np.testing.assert_array_equal(bits, k.to_bf16(np.ascontiguousarray(w.T)))


# --- the products --------------------------------------------------------------------------

def exact(a, b):
    """The float64 product of the bfloat16 roundings of a and b."""
    return rounded(a) @ rounded(b)


def assert_product_close(got, a, b):
    """Within float32 accumulation of the exactly rounded products: relative to sum |a||b|."""
    scale = np.abs(rounded(a)) @ np.abs(rounded(b))
    assert got.dtype == np.float32
    assert np.all(np.abs(got - exact(a, b)) <= 1e-5 * scale + 1e-30)


@pytest.mark.parametrize("use_bias", [True, False])
def test_linear_forward_and_backward_are_the_rounded_operands_products(native, use_bias):
    x, w, b, g = random(9, 13), random(13, 7, seed=1), random(7, seed=2), random(9, 7, seed=3)
    xt, wt, bt = (jitgrad.Tensor(v, autograd=True) for v in (x, w, b))
    with jitgrad.autocast("cpu", dtype="bfloat16"):
        y = linear(xt, wt, bt if use_bias else None)
    y.backward(jitgrad.Tensor(g))
    assert_product_close(y.data - (b if use_bias else 0), x, w)
    assert_product_close(xt.grad.data, g, w.T)
    assert_product_close(wt.grad.data, x.T, g)
    if use_bias:
        np.testing.assert_allclose(bt.grad.data, g.sum(0), rtol=1e-6)
    assert wt.grad.data.dtype == np.float32 and wt.data.dtype == np.float32


@pytest.mark.parametrize("shapes", [((5, 8), (8, 3)), ((8,), (8, 3)), ((5, 8), (8,)),
                                    ((2, 5, 8), (8, 3))])
def test_matmul_in_every_form(native, shapes):
    a, b = random(*shapes[0]), random(*shapes[1], seed=1)
    at, bt = jitgrad.Tensor(a, autograd=True), jitgrad.Tensor(b, autograd=True)
    with jitgrad.autocast("cpu"):
        out = at @ bt
    out.sum().backward()
    a2, b2 = a.reshape(-1, a.shape[-1]), b.reshape(b.shape[0], -1)
    assert_product_close(out.data.reshape(a2.shape[0], -1), a2, b2)
    ones = np.ones((a2.shape[0], b2.shape[1]), np.float32)
    assert_product_close(at.grad.data.reshape(a2.shape), ones, b2.T)
    assert_product_close(bt.grad.data.reshape(b2.shape), a2.T, ones)


def test_a_transposed_weight_view_and_mm(native):
    a, w = random(4, 6), random(5, 6, seed=1)
    at, wt = jitgrad.Tensor(a, autograd=True), jitgrad.Tensor(w, autograd=True)
    with jitgrad.autocast("cpu"):
        out = at.mm(wt.transpose())
    out.sum().backward()
    assert_product_close(out.data, a, w.T)
    assert_product_close(wt.grad.data, np.ones((5, 4), np.float32), a)


def test_outside_autocast_or_disabled_products_are_float32(native):
    a, b = random(6, 70), random(70, 5, seed=1)
    at, bt = jitgrad.Tensor(a), jitgrad.Tensor(b)
    plain = (at @ bt).data
    with jitgrad.autocast("cpu"):
        with jitgrad.autocast("cpu", enabled=False):
            assert not jitgrad.is_autocast_enabled()
            disabled = (at @ bt).data
        assert jitgrad.is_autocast_enabled()
        cast = (at @ bt).data
    assert not jitgrad.is_autocast_enabled()
    np.testing.assert_array_equal(disabled, plain)
    assert not np.array_equal(cast, plain)  # 70 random terms: rounding the operands shows
    assert_product_close(cast, a, b)


def test_float64_products_stay_float64(native):
    a, b = np.random.default_rng(0).standard_normal((2, 4, 4))
    with jitgrad.autocast("cpu"):
        out = jitgrad.Tensor(a) @ jitgrad.Tensor(b)
    assert out.data.dtype == np.float64
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)


def test_as_a_decorator(native):
    @jitgrad.autocast("cpu")
    def inside():
        return jitgrad.is_autocast_enabled()
    assert inside() and not jitgrad.is_autocast_enabled()


def test_a_parameter_is_rounded_once_per_block_into_one_buffer(native, monkeypatch):
    w = jitgrad.Tensor(random(8, 8), autograd=True)
    x = jitgrad.Tensor(random(3, 8, seed=1))
    rounded_shapes = []
    real = k.to_bf16_into
    monkeypatch.setattr(k, "to_bf16_into",
                        lambda a, out: rounded_shapes.append(a.shape) or real(a, out))
    with jitgrad.autocast("cpu"):
        first = x.mm(w)
        second = first.mm(w)  # the second use of w: its rounding comes from the block's cache
    assert rounded_shapes.count((8, 8)) == 1
    assert second._op.b16 is first._op.b16
    w.data *= 2  # in place, between blocks (as an optimizer's step)
    with jitgrad.autocast("cpu"):
        third = x.mm(w)
    assert rounded_shapes.count((8, 8)) == 2  # a new block rounds the updated weight again
    assert third._op.b16 is first._op.b16  # into the same buffer
    np.testing.assert_array_equal(third._op.b16, k.to_bf16(w.data))


def test_training_keeps_float32_master_weights(native):
    jitgrad.set_default_dtype(np.float32)
    try:
        model = jitgrad.Sequential([jitgrad.Linear(6, 16), jitgrad.Tanh(), jitgrad.Linear(16, 3)])
    finally:
        jitgrad.set_default_dtype(np.float64)
    optimizer = jitgrad.SGD(parameters=model.get_parameters(), alpha=0.5)
    criterion = jitgrad.CrossEntropyLoss()
    x, target = jitgrad.Tensor(random(32, 6)), jitgrad.Tensor(np.arange(32) % 3)
    losses = []
    for _ in range(30):
        with jitgrad.autocast("cpu", dtype="bfloat16"):
            loss = criterion.forward(model.forward(x), target)
        assert loss.data.dtype == np.float32
        loss.backward()
        assert all(p.grad.data.dtype == np.float32 for p in model.get_parameters())
        optimizer.step()
        losses.append(float(loss.data))
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.data.dtype == np.float32 for p in model.get_parameters())


# --- against PyTorch's autocast -------------------------------------------------------------

def test_gradients_match_pytorch_autocast(native):
    """A two-layer MLP with cross-entropy. The operands are rounded alike in both; PyTorch
    also rounds each product's result (and the activations after it) to bfloat16, 2**-9
    relative error each, where jitgrad keeps float32, so the two differ by a few bfloat16
    roundings: 3% of each gradient's largest entry allows ten, and is still far below a
    wrong gradient (a missing rounding of g in float32 would pass; a wrong layout would not)."""
    torch = pytest.importorskip("torch")
    x, w1, b1, w2, b2 = (random(64, 50), random(50, 40, seed=1) * 0.2, random(40, seed=2) * 0.1,
                         random(40, 10, seed=3) * 0.2, random(10, seed=4) * 0.1)
    labels = np.arange(64) % 10
    ours = [jitgrad.Tensor(v, autograd=True) for v in (w1, b1, w2, b2)]
    with jitgrad.autocast("cpu", dtype="bfloat16"):
        hidden = linear(jitgrad.Tensor(x), ours[0], ours[1]).tanh()
        loss = jitgrad.CrossEntropyLoss().forward(linear(hidden, ours[2], ours[3]),
                                                  jitgrad.Tensor(labels))
    loss.backward()
    theirs = [torch.tensor(v, requires_grad=True) for v in (w1, b1, w2, b2)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden_t = torch.nn.functional.linear(torch.tensor(x), theirs[0].T, theirs[1]).tanh()
        loss_t = torch.nn.functional.cross_entropy(
            torch.nn.functional.linear(hidden_t, theirs[2].T, theirs[3]), torch.tensor(labels))
    loss_t.backward()
    assert abs(float(loss.data) - loss_t.item()) < 0.02 * abs(loss_t.item())
    for mine, torch_tensor in zip(ours, theirs):
        expected = torch_tensor.grad.numpy()
        assert mine.grad.data.dtype == np.float32
        assert np.abs(mine.grad.data - expected).max() <= 0.03 * np.abs(expected).max()


# --- no bf16 GEMM: the one warning, float32 --------------------------------------------------

def float32_and_autocast_results():
    a, b = random(6, 70), random(70, 5, seed=1)
    plain = (jitgrad.Tensor(a) @ jitgrad.Tensor(b)).data
    with jitgrad.autocast("cpu"):
        first = (jitgrad.Tensor(a) @ jitgrad.Tensor(b)).data
        second = (jitgrad.Tensor(a) @ jitgrad.Tensor(b)).data
    return plain, first, second


@pytest.mark.parametrize("cause, message", [
    ("off", "JITGRAD_BF16=off"),
    ("cpu", "this CPU has no native bfloat16 arithmetic"),
    ("library", "no bfloat16 GEMM is installed"),
])
def test_fallback_warns_once_and_runs_float32(float32_fallback, monkeypatch, cause, message):
    monkeypatch.setenv(amp.OVERRIDE, "off" if cause == "off" else "auto")
    if cause == "cpu":
        monkeypatch.setattr(amp, "native_bf16", lambda: False)
    if cause == "library":
        monkeypatch.setattr(amp, "native_bf16", lambda: True)

        def missing(library):
            raise k.NoBf16Gemm(f"{library} is not here")
        monkeypatch.setattr(k, "gemm_function", missing)
    with pytest.warns(amp.AutocastFallback, match=message) as caught:
        plain, first, second = float32_and_autocast_results()
    assert len(caught) == 1
    assert "matrix products run in float32" in str(caught[0].message)
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(second, plain)


def test_bad_override_names_the_variable(float32_fallback, monkeypatch):
    monkeypatch.setenv(amp.OVERRIDE, "fast")
    with pytest.raises(ValueError, match="JITGRAD_BF16='fast'"):
        amp.gemm()


@pytest.mark.parametrize("args, error, message", [
    (("cuda",), ValueError, "autocast: device_type 'cuda' is not supported"),
    (("cpu", "float16"), TypeError, "autocast: dtype 'float16' is not supported"),
    (("cpu", np.float32), TypeError, "autocast: dtype .*float32.* is not supported"),
])
def test_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        jitgrad.autocast(*args)
    assert not jitgrad.is_autocast_enabled()


def test_jitgrad_bfloat16_is_numpys():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert jitgrad.bfloat16 == np.dtype(ml_dtypes.bfloat16)
    with jitgrad.autocast("cpu", dtype=jitgrad.bfloat16):
        assert jitgrad.is_autocast_enabled()


def test_rnn_cell_products_run_in_bfloat16(native):
    jitgrad.set_default_dtype(np.float32)
    try:
        cell = jitgrad.RNNCell(5, 7, 3)
    finally:
        jitgrad.set_default_dtype(np.float64)
    x, hidden = jitgrad.Tensor(random(4, 5)), cell.init_hidden(batch_size=4)
    hidden = hidden.float()
    with jitgrad.autocast("cpu"):
        output, hidden = cell.forward(x, hidden)
    assert output._op.a16 is not None and output.data.dtype == np.float32
    assert_product_close(output.data - cell.w_ho.bias.data, hidden.data, cell.w_ho.weight.data)


# --- bfloat16 tensors and files -----------------------------------------------------------------

def test_to_bfloat16_rounds_and_back_is_exact(tmp_path):
    pytest.importorskip("ml_dtypes")
    values = random(3, 4) * 100
    t = jitgrad.Tensor(values, autograd=True)
    stored = t.bfloat16()
    assert stored.data.dtype == jitgrad.bfloat16 and stored.data.shape == (3, 4)
    np.testing.assert_array_equal(stored.data.view(np.uint16), k.to_bf16(values))
    back = stored.float()
    np.testing.assert_array_equal(back.data, rounded(values).astype(np.float32))
    (back * 3.0).sum().backward()
    assert t.grad.data.dtype == np.float32
    np.testing.assert_array_equal(t.grad.data, np.full((3, 4), 3.0, np.float32))
    with pytest.raises(TypeError, match="add: unsupported dtype bfloat16"):
        stored + stored


def test_bfloat16_tensors_are_saved_as_bf16_safetensors(tmp_path):
    pytest.importorskip("ml_dtypes")
    path = tmp_path / "w.safetensors"
    weights = jitgrad.Tensor(random(5, 6)).bfloat16()
    jitgrad.save({"w": weights, "steps": np.arange(3)}, path)
    loaded = jitgrad.load(path)  # BF16 tensors load as float32, exactly (docs/errors.md)
    assert loaded["w"].dtype == np.float32
    np.testing.assert_array_equal(loaded["w"], weights.float().data)
    np.testing.assert_array_equal(loaded["steps"], np.arange(3))
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    theirs = load_file(path)["w"]
    assert theirs.dtype == torch.bfloat16
    np.testing.assert_array_equal(theirs.float().numpy(), weights.float().data)


def test_benchmark_steps_follow_pytorch_autocasts_losses(native):
    """The bf16 benchmark's steps (benchmarks/bf16_steps.py), scaled down: five SGD steps
    under each library's autocast lose the same, to bfloat16's few roundings."""
    pytest.importorskip("torch")
    from benchmarks.bf16_steps import autocast_step
    from benchmarks.workloads import WORKLOADS
    workload = WORKLOADS["mlp_large"].scaled(8)
    ours, theirs = autocast_step(workload, "jitgrad"), autocast_step(workload, "torch")
    for _ in range(5):
        mine, torch_loss = ours(), theirs()
        assert abs(mine - torch_loss) <= 0.02 * abs(torch_loss)


# --- jitgrad train --precision bf16 ------------------------------------------------------------

def test_train_precision_bf16_reaches_float32s_accuracy(native, capsys):
    """The bundled digits, the default 20 epochs, same seed: bfloat16 products reach
    float32's test accuracy within one image of 360 (0.28 points; after 5 epochs the two
    were 2 images apart, still converging)."""
    from tests.helpers.command import run_main
    accuracy = {}
    for precision in ("float32", "bf16"):
        status, out, err = run_main(capsys, "train", "--precision", precision, "--eager")
        assert status == 0, err
        assert ("bf16 products (autocast)" in out) == (precision == "bf16")
        accuracy[precision] = int(out.split("test accuracy ")[1].split("(")[1].split("/")[0])
    assert abs(accuracy["bf16"] - accuracy["float32"]) <= 1


def test_train_precision_bf16_without_native_bf16_warns_and_gives_float32s_run(
        float32_fallback, monkeypatch, capsys):
    from tests.helpers.command import run_main
    monkeypatch.setattr(amp, "native_bf16", lambda: False)
    monkeypatch.setenv(amp.OVERRIDE, "auto")
    _, float32_out, _ = run_main(capsys, "train", "--epochs", "2", "--eager")
    with pytest.warns(amp.AutocastFallback, match="no native bfloat16") as caught:
        status, out, _ = run_main(capsys, "train", "--epochs", "2", "--precision", "bf16", "--eager")
    assert status == 0 and len(caught) == 1
    assert out.split("done: ")[1].split(", after")[0] == float32_out.split("done: ")[1].split(", after")[0]


def test_train_precision_bf16_refuses_float64(capsys):
    from tests.helpers.command import run_main
    status, _, err = run_main(capsys, "train", "--precision", "bf16", "--dtype", "float64")
    assert status != 0 and "--precision bf16" in err and "float32" in err


def test_report_tabulates_the_bf16_steps_against_the_bf16_peak(tmp_path):
    import json

    from benchmarks import report
    medians = [{"jitgrad_f32": 0.004, "jitgrad_bf16": 0.002, "torch_f32": 0.005, "torch_bf16": 0.0025},
               {"jitgrad_f32": 0.008, "jitgrad_bf16": 0.003, "torch_f32": 0.010, "torch_bf16": 0.006}]
    benches = [{"fullname": f"test_bf16_step[mlp_large-{name}-pass{run}]",
                "extra_info": {"kind": "bf16_step", "workload": "mlp_large", "implementation": name,
                               "run": run, "gemm_flops": 10 ** 9},
                "stats": {"median": median, "min": median}}
               for run, times in enumerate(medians, 1) for name, median in times.items()]
    benches.append({"fullname": "test_bf16_gemm_peak", "stats": {"median": 0.002, "min": 0.002},
                    "extra_info": {"kind": "peak", "dtype": "bfloat16", "size": 2048,
                                   "flops": 10 ** 9, "backend": "dnnl"}})
    path = tmp_path / "bf16.json"
    path.write_text(json.dumps({"benchmarks": benches}))
    section = report.report(path).split("### bfloat16 mixed precision")[1]
    row = next(line for line in section.splitlines() if line.startswith("| mlp_large"))
    cells = row.strip(" |").split(" | ")
    # ms (medians of 2 and 3, ...); bf16 / autocast per pass 0.8 and 0.5; bf16 / f32 0.5, 0.375
    assert cells[1:5] == ["6.00", "2.50", "7.50", "4.25"]
    assert cells[5:9] == ["0.65", "0.50-0.80", "0.44", "0.38-0.50"]
    # 1 GFLOP in 2.5 ms is 400 GFLOP/s, 80% of the 500 GFLOP/s peak; 2 passes
    assert cells[9:] == ["400", "80%", "2"]


@pytest.mark.parametrize("shapes", [((3, 0), (0, 4)), ((0, 5), (5, 2)), ((3, 5), (5, 0))])
def test_empty_products(native, shapes):
    a, b = (jitgrad.Tensor(np.ones(shape, np.float32), autograd=True) for shape in shapes)
    with jitgrad.autocast("cpu"):
        out = a @ b
    np.testing.assert_array_equal(out.data, np.zeros((shapes[0][0], shapes[1][1]), np.float32))
    out.sum().backward()
    assert a.grad.data.shape == shapes[0] and not a.grad.data.any()
    assert b.grad.data.shape == shapes[1] and not b.grad.data.any()


def test_info_names_the_bf16_gemm_or_why_there_is_none(float32_fallback, monkeypatch):
    from jitgrad.apps import sysinfo
    monkeypatch.setenv(amp.OVERRIDE, "off")
    assert "bf16 gemm     none (JITGRAD_BF16=off): jitgrad.autocast's products run in float32" \
        in sysinfo.report()
    fresh_choice(monkeypatch, "dnnl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", amp.AutocastFallback)
        if amp.gemm() is None:
            pytest.skip("no native bf16 GEMM here")
    assert "bf16 gemm     dnnl, for jitgrad.autocast's products" in sysinfo.report()


# the fixture chooses the GEMM once; nothing in it needs resetting between examples
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=st.integers(1, 40), inner=st.integers(1, 70), n=st.integers(1, 40),
       a_transposed=st.booleans(), b_transposed=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_products_of_any_shape_and_layout(native, m, inner, n, a_transposed, b_transposed, seed):
    """mm's forward and both gradients under autocast, operands stored either way round
    (a transposed one is a view, read with BLAS's transpose flag)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((inner, m) if a_transposed else (m, inner)).astype(np.float32)
    b = rng.standard_normal((n, inner) if b_transposed else (inner, n)).astype(np.float32)
    at, bt = jitgrad.Tensor(a, autograd=True), jitgrad.Tensor(b, autograd=True)
    g = rng.standard_normal((m, n)).astype(np.float32)
    with jitgrad.autocast("cpu"):
        out = (at.transpose() if a_transposed else at).mm(bt.transpose() if b_transposed else bt)
    out.backward(jitgrad.Tensor(g))
    a2, b2 = (a.T if a_transposed else a), (b.T if b_transposed else b)
    assert_product_close(out.data, a2, b2)
    assert_product_close(at.grad.data.T if a_transposed else at.grad.data, g, b2.T)
    assert_product_close(bt.grad.data.T if b_transposed else bt.grad.data, a2.T, g)
