"""The benchmark workloads, at reduced sizes: every implementation trains, all compute the
same losses, the NumPy reference's gradients are jitgrad's, the GEMM floor multiplies, and the
report computes its ratios."""
import functools
import json
from dataclasses import replace

import numpy as np
import pytest

import jitgrad
from benchmarks import book_numpy, report
from benchmarks.workloads import (
    COMPILED,
    DTYPES,
    IMPLEMENTATIONS,
    REQUIRES,
    WORKLOADS,
    build_floor,
    build_step,
    gemm_flops,
)

DIVISOR = 16  # widths and batch divided by this keep each step to milliseconds
STEPS = 3
CASES = [(name, dtype) for name in WORKLOADS for dtype in DTYPES]
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


def require(implementation):
    if implementation in REQUIRES:
        pytest.importorskip(REQUIRES[implementation])


@functools.cache
def losses(name, dtype, implementation):
    """The losses of STEPS training steps of the reduced workload ``name``."""
    step = build_step(WORKLOADS[name].scaled(DIVISOR), implementation, dtype)
    return [step() for _ in range(STEPS)]


@pytest.mark.parametrize("implementation", [i for i in IMPLEMENTATIONS if i not in COMPILED])
@pytest.mark.parametrize("name, dtype", CASES)
def test_each_step_lowers_the_loss(name, dtype, implementation):
    require(implementation)
    run = losses(name, dtype, implementation)
    assert np.all(np.isfinite(run))
    assert all(later < earlier for earlier, later in zip(run, run[1:])), run


@pytest.mark.parametrize("implementation", ["numpy", "numpy_printed", "torch", "jitgrad_compiled"])
@pytest.mark.parametrize("name, dtype", CASES)
def test_implementations_train_the_same_network(name, dtype, implementation):
    """Same losses step after step: same parameters, data, loss, learning rate and update
    (the book as printed computes in float64 whatever the data, which float32's tolerance
    allows for)."""
    require(implementation)
    np.testing.assert_allclose(losses(name, dtype, implementation),
                               losses(name, dtype, "jitgrad"), rtol=TOLERANCE[dtype])


@pytest.mark.parametrize("implementation", COMPILED)
@pytest.mark.parametrize("name, dtype", [("mlp_small", "float32"), ("mlp_large", "float64"),
                                         ("lstm_char_e128", "float32")])
def test_compiled_peers_train_the_same_network(name, dtype, implementation):
    """jax.jit and torch.compile (a few cases: each compiles for seconds) learn as jitgrad does."""
    require(implementation)
    run = losses(name, dtype, implementation)
    assert all(later < earlier for earlier, later in zip(run, run[1:])), run
    np.testing.assert_allclose(run, losses(name, dtype, "jitgrad"), rtol=TOLERANCE[dtype])


@pytest.mark.parametrize("workload", [
    WORKLOADS["mlp_small"].scaled(DIVISOR),   # MSE
    WORKLOADS["mlp_large"].scaled(DIVISOR),   # two hidden layers, cross-entropy
    replace(WORKLOADS["lstm_char_e128"].scaled(DIVISOR), steps=2),
], ids=["mlp_mse", "mlp_cross_entropy", "lstm_2_steps"])
def test_reference_gradients_match_jitgrad(workload):
    ours, reference = (build_step(workload, implementation, "float64")
                       for implementation in ("jitgrad", "numpy"))
    assert reference.forward_backward() == pytest.approx(ours.forward_backward(), rel=1e-12)
    for expected, got in zip(ours.gradients(), reference.gradients(), strict=True):
        assert np.any(expected != 0)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_reference_neg_and_transpose_match_jitgrad():
    """The reference's ops that no workload uses."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    grads = []
    for fw in (jitgrad, book_numpy):
        x, y = fw.Tensor(a, autograd=True), fw.Tensor(b, autograd=True)
        (-(x.mm(y.transpose()))).sum(0).backward()
        grads.append((x.grad.data, y.grad.data))
    for ours, reference in zip(*grads):
        np.testing.assert_allclose(reference, ours, rtol=1e-12)


def test_gemm_floor_computes_each_product():
    floor = build_floor(WORKLOADS["lstm_char_e128"].scaled(DIVISOR), "float64")
    floor()
    for a, b, out in floor.calls:
        np.testing.assert_allclose(out, a @ b, rtol=1e-12)


def test_gemm_floor_counts_only_the_needed_products():
    """mlp_small, 784-128-10 on a batch of 100: x @ W and x.T @ grad per layer, grad @ W.T
    only for the second layer (the first layer's input is data, which needs no gradient)."""
    batch, first, second = 100, 784 * 128, 128 * 10
    assert gemm_flops(WORKLOADS["mlp_small"]) == 2 * batch * (2 * first + 3 * second)


def test_lstm_floor_sums_the_weight_gradients_once_per_window():
    """Per step the forward (x @ Wx, h @ Wh, h @ Wo) and the input gradients (for x, for h
    except at the first step, for h from the output); the three weight gradients once, with
    the same flops as one per step."""
    lstm = WORKLOADS["lstm_char_e128"]
    batch, embed, hidden, gates, vocab = 16, 128, 512, 2048, 62
    per_step = 2 * (embed * gates + hidden * gates + hidden * vocab)  # per row, per product
    forward, inputs_grad, weights_grad = per_step, per_step - 2 * hidden * gates, per_step
    expected = batch * (25 * (forward + inputs_grad + weights_grad) + 24 * 2 * hidden * gates)
    assert gemm_flops(lstm) == expected
    assert [p.k for p in lstm.products()[-3:]] == [25 * batch] * 3


def test_book_as_printed_computes_in_float64_and_the_datas_gradient():
    workload = WORKLOADS["mlp_small"].scaled(DIVISOR)
    step = build_step(workload, "numpy_printed", "float32")
    loss = step.loss_fn()
    loss.backward()
    assert {p.data.dtype for p in step.parameters} == {np.dtype("float64")}
    [data] = [t for t in _graph(loss) if t.data.shape == (workload.batch, workload.sizes[0])]
    assert data.data.dtype == np.float32 and data.grad is not None


def _graph(root):
    """Every tensor the book_numpy graph of ``root`` was made from, ``root`` included."""
    seen, stack = {}, [root]
    while stack:
        tensor = stack.pop()
        if id(tensor) not in seen:
            seen[id(tensor)] = tensor
            stack.extend(tensor.creators or ())
    return list(seen.values())


def fake_step_run(path, passes):
    """A pytest-benchmark JSON of mlp_small steps: [{implementation: median seconds}] per pass."""
    def bench(run, implementation, median):
        return {"fullname": f"test_step[mlp_small-float32-{implementation}-pass{run}]",
                "extra_info": {"kind": "step", "workload": "mlp_small", "dtype": "float32",
                               "implementation": implementation, "run": run,
                               "gemm_flops": 10**6, "foreign_cores": 0.0},
                "stats": {"median": median, "min": median / 2}}
    path.write_text(json.dumps({"benchmarks": [
        bench(run, *item) for run, medians in enumerate(passes, 1) for item in medians.items()]}))
    return path


def median_row(markdown):
    table = markdown.split("### Training step, median ms")[1]
    return next(line for line in table.splitlines() if line.startswith("| mlp_small"))


def test_report_gives_jitgrad_ratios_per_group(tmp_path):
    path = fake_step_run(tmp_path / "bench.json", [{
        "jitgrad": 0.002, "numpy": 0.008, "numpy_printed": 0.016, "torch": 0.004,
        "gemm_floor": 0.001}])
    cells = median_row(report.report(path)).split(" | ")
    # ms of jitgrad, NumPy, book as printed, PyTorch, torch.compile, jax.jit, floor
    assert cells[2:9] == ["2.00", "8.00", "16.00", "4.00", "–", "–", "1.00"]
    # jitgrad / best peer, its range, the best peer; / PyTorch and its range, / NumPy,
    # / as printed, / floor; floor / jitgrad; passes
    assert cells[9:19] == ["0.50", "0.50-0.50", "PyTorch", "0.50", "0.50-0.50", "0.25", "0.12",
                           "2.00", "0.50", "1"]


def test_report_gives_the_compiled_steps_ratios_last(tmp_path):
    path = fake_step_run(tmp_path / "bench.json", [
        {"jitgrad": 0.002, "jitgrad_compiled": 0.0015, "torch": 0.003, "gemm_floor": 0.001}])
    cells = median_row(report.report(path)).strip(" |").split(" | ")
    # jitgrad.compile ms; compiled / best peer, / jitgrad, / floor
    assert cells[-4:] == ["1.50", "0.50", "0.75", "1.50"]


def test_report_takes_the_fastest_peer_of_each_pass(tmp_path):
    path = fake_step_run(tmp_path / "bench.json", [
        {"jitgrad": 0.002, "torch": 0.004, "jax": 0.003, "torch_compile": 0.005},
        {"jitgrad": 0.002, "torch": 0.004, "jax": 0.005, "torch_compile": 0.001},
        {"jitgrad": 0.003, "torch": 0.004, "jax": 0.002, "torch_compile": 0.006}])
    cells = median_row(report.report(path)).split(" | ")
    # per pass 2/3, 2/1 and 3/2; jax.jit is fastest in two of the three passes
    assert cells[9:12] == ["1.50", "0.67-2.00", "jax.jit"]


def test_report_divides_times_of_the_same_pass(tmp_path):
    """A pass on a machine twice as slow doubles every time in it, not the ratios: the
    ratio is the median of the ratios within passes, the times medians over passes."""
    fast = {"jitgrad": 0.002, "torch": 0.004, "gemm_floor": 0.001}
    slow = {name: 2 * seconds for name, seconds in fast.items()}
    skewed = {"jitgrad": 0.003, "torch": 0.004, "gemm_floor": 0.001}
    first = fake_step_run(tmp_path / "one.json", [fast, slow])
    second = fake_step_run(tmp_path / "two.json", [skewed])
    cells = median_row(report.report(first, second)).split(" | ")
    assert cells[2] == "3.00" and cells[5] == "4.00"  # medians of (2, 4, 3) and (4, 8, 4)
    assert cells[12:14] == ["0.50", "0.50-0.75"]
    assert cells[18] == "3"


def test_report_lists_compile_times_apart(tmp_path):
    path = fake_step_run(tmp_path / "bench.json", [{"jitgrad": 0.002, "jax": 0.003}])
    data = json.loads(path.read_text())
    data["benchmarks"][1]["extra_info"]["compile_seconds"] = 1.25
    path.write_text(json.dumps(data))
    section = report.report(path).split("### Compile time")[1]
    assert "| mlp_small | float32 | 1.2 |" in section and "jax.jit s" in section


def test_pytorch_style_step_computes_torchs_losses():
    """The PyTorch-style workload, scaled down: jitgrad and torch eager, from the same start,
    give the same loss step after step (AdamW, cosine schedule, LayerNorm, GELU)."""
    pytest.importorskip("torch")
    from benchmarks.pytorch_style import build_step as build_pytorch_style
    ours = build_pytorch_style("jitgrad", sizes=(20, 16, 16, 5), batch=8)
    theirs = build_pytorch_style("torch", sizes=(20, 16, 16, 5), batch=8)
    losses = [(ours(), theirs()) for _ in range(5)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[-1][0] < losses[0][0]


def test_pytorch_style_module_step_computes_torchs_and_the_functional_steps_losses():
    """The step written with jitgrad.nn modules gives torch.nn's losses and the bare-tensor
    step's, step after step (nn.Linear's (out, in) weight, nn.CrossEntropyLoss)."""
    pytest.importorskip("torch")
    from benchmarks.pytorch_style import build_module_step, build_step
    small = {"sizes": (20, 16, 16, 5), "batch": 8}
    steps = [build_module_step("jitgrad_nn", **small), build_module_step("torch_nn", **small),
             build_step("jitgrad", **small), build_module_step("jitgrad_nn_compiled", **small)]
    losses = np.array([[step() for step in steps] for _ in range(5)])
    for column in losses.T[1:]:
        np.testing.assert_allclose(losses[:, 0], column, rtol=1e-5)
    assert losses[-1, 0] < losses[0, 0]


def test_pytorch_style_lstm_step_computes_torchs_losses():
    pytest.importorskip("torch")
    from benchmarks.pytorch_style import build_lstm_step
    small = {"sizes": (10, 8, 5, 3)}
    ours, theirs = build_lstm_step("jitgrad_nn", **small), build_lstm_step("torch_nn", **small)
    losses = [(ours(), theirs()) for _ in range(4)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[-1][0] < losses[0][0]


def test_pytorch_style_step_compiled_computes_the_eager_losses():
    from benchmarks.pytorch_style import build_step as build_pytorch_style
    eager = build_pytorch_style("jitgrad", sizes=(20, 16, 16, 5), batch=8)
    compiled = build_pytorch_style("jitgrad_compiled", sizes=(20, 16, 16, 5), batch=8)
    losses = [(eager(), compiled()) for _ in range(6)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-6)


def test_report_writes_the_performance_page(tmp_path):
    path = fake_step_run(tmp_path / "bench.json", [{"jitgrad": 0.002, "torch": 0.004}])
    page = tmp_path / "performance.md"
    report.main(["--output", str(page), str(path)])
    text = page.read_text()
    assert text.startswith("# Performance\n\nGenerated, never typed")
    assert "python -m benchmarks.report --output docs/performance.md" in text
    assert "| mlp_small | float32 | 2.00 |" in text


def test_record_cost_runs_and_reports_steps():
    from benchmarks import record_cost
    record, eager = record_cost.measure(WORKLOADS["mlp_small"].scaled(DIVISOR), rounds=1)
    assert np.isfinite([record, eager]).all() and record > 0.5 and eager > 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_candidates_times_every_product_of_a_step(dtype):
    """jitgrad's gemm always; XLA where jax is installed (its products are checked against
    jitgrad's inside ``compare``)."""
    from benchmarks import gemm_candidates
    workload = WORKLOADS["mlp_small"].scaled(DIVISOR)
    rows = gemm_candidates.compare(workload, np.dtype(dtype), seconds=0.01)
    assert [product for product, _ in rows] == list(dict.fromkeys(workload.products()))
    for _, times in rows:
        assert times["jitgrad"] > 0 and set(times) <= {"jitgrad", "xla"}


def test_interleaved_divides_times_of_the_same_round():
    """Ratios are taken within each round, and the best peer chosen per round: PyTorch in the
    fast rounds, jax in the slow one, where every other time doubled."""
    from benchmarks import interleaved
    fast = {"jitgrad_compiled": 1.0, "jitgrad": 2.0, "torch": 4.0, "jax": 5.0, "gemm_floor": 0.8}
    slow = {"jitgrad_compiled": 2.0, "jitgrad": 4.0, "torch": 8.0, "jax": 2.5, "gemm_floor": 1.6}
    spans, peers = interleaved.summary([fast, slow, fast])
    assert spans["compiled / best peer"] == pytest.approx((0.25, 0.25, 0.8))  # 1/4, 2/2.5, 1/4
    assert spans["compiled / floor"] == pytest.approx((1.25, 1.25, 1.25))
    assert spans["compiled / eager"] == pytest.approx((0.5, 0.5, 0.5))
    assert peers == ["jax", "torch"]


def test_interleaved_times_every_implementation_each_round():
    from benchmarks import interleaved
    steps = interleaved.build(WORKLOADS["mlp_small"].scaled(DIVISOR), "float32")
    assert {"jitgrad_compiled", "jitgrad", "gemm_floor"} <= set(steps)
    rounds = interleaved.measure(steps, rounds=2, seconds=0.001)
    assert len(rounds) == 2 and all(set(times) == set(steps) for times in rounds)
    assert all(seconds > 0 for times in rounds for seconds in times.values())
