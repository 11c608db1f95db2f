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
from benchmarks.workloads import (DTYPES, IMPLEMENTATIONS, WORKLOADS, build_floor, build_step,
                                  gemm_flops)

DIVISOR = 16  # widths and batch divided by this keep each step to milliseconds
STEPS = 3
CASES = [(name, dtype) for name in WORKLOADS for dtype in DTYPES]
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


def require(implementation):
    if implementation == "torch":
        pytest.importorskip("torch")


@functools.cache
def losses(name, dtype, implementation):
    """The losses of STEPS training steps of the reduced workload ``name``."""
    step = build_step(WORKLOADS[name].scaled(DIVISOR), implementation, dtype)
    return [step() for _ in range(STEPS)]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("name, dtype", CASES)
def test_each_step_lowers_the_loss(name, dtype, implementation):
    require(implementation)
    run = losses(name, dtype, implementation)
    assert np.all(np.isfinite(run))
    assert all(later < earlier for earlier, later in zip(run, run[1:])), run


@pytest.mark.parametrize("implementation", ["numpy", "torch"])
@pytest.mark.parametrize("name, dtype", CASES)
def test_implementations_train_the_same_network(name, dtype, implementation):
    """Same losses step after step: same parameters, data, loss, learning rate and update."""
    require(implementation)
    np.testing.assert_allclose(losses(name, dtype, implementation),
                               losses(name, dtype, "jitgrad"), rtol=TOLERANCE[dtype])


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


def fake_step_run(path, medians):
    """A pytest-benchmark JSON with one mlp_small step per implementation: {impl: seconds}."""
    def bench(implementation, median):
        return {"fullname": f"test_step[mlp_small-float32-{implementation}]",
                "extra_info": {"kind": "step", "workload": "mlp_small", "dtype": "float32",
                               "implementation": implementation, "gemm_flops": 10**6,
                               "foreign_cores": 0.0},
                "stats": {"median": median, "min": median / 2}}
    path.write_text(json.dumps({"benchmarks": [bench(*item) for item in medians.items()]}))
    return path


def median_row(markdown):
    table = markdown.split("### Training step, median ms")[1]
    return next(line for line in table.splitlines() if line.startswith("| mlp_small"))


def test_report_gives_jitgrad_ratios_per_group(tmp_path):
    path = fake_step_run(tmp_path / "bench.json", {"jitgrad": 0.002, "numpy": 0.008,
                                                   "torch": 0.004, "gemm_floor": 0.001})
    row = median_row(report.report(path))
    # ms of jitgrad, NumPy, PyTorch, floor; jitgrad / PyTorch, / NumPy, / floor; floor / jitgrad
    assert row.split(" | ")[2:10] == ["2.00", "8.00", "4.00", "1.00", "0.50", "0.25", "2.00",
                                      "0.50"]


def test_report_of_several_runs_keeps_each_benchmarks_fastest(tmp_path):
    first = fake_step_run(tmp_path / "one.json", {"jitgrad": 0.004, "numpy": 0.008,
                                                  "torch": 0.004, "gemm_floor": 0.001})
    second = fake_step_run(tmp_path / "two.json", {"jitgrad": 0.002, "numpy": 0.016,
                                                   "torch": 0.004, "gemm_floor": 0.002})
    markdown = report.report(first, second)
    assert "lowest median of 2 runs" in markdown
    assert median_row(markdown).split(" | ")[2:6] == ["2.00", "8.00", "4.00", "1.00"]
