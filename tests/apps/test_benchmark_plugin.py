"""jitgrad's pytest plugin (jitgrad_pytest_plugin, jitgrad.apps.step_benchmark): the
``jitgrad_benchmark`` fixture with pytest-benchmark, nothing without it, the first call kept
out of the statistics, the extra info in the JSON, ``--jitgrad-profile``'s tables, and bad
steps reported with the benchmark's name."""
import importlib.util
import json
from pathlib import Path

import numba
import numpy as np
import pytest

import jitgrad
import jitgrad.functional as F
from jitgrad import SGD, Linear, ReLU, Sequential, Tensor
from jitgrad.apps import step_benchmark

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
# loads the plugin where its entry point is not installed, and does nothing where it is
PLUGIN = ("-p", "jitgrad_pytest_plugin")
QUICK = ("--benchmark-max-time=0.02", "--benchmark-min-rounds=2")

MLP_STEP = """
import numpy as np
import jitgrad
from jitgrad import SGD, Linear, Tensor

def make_step(rows=8):
    layer = Linear(4, 3, dtype=np.float32)
    optimizer = SGD(layer.parameters(), lr=0.01)
    x = Tensor(np.ones((rows, 4), dtype=np.float32))

    def step():
        optimizer.zero_grad()
        loss = (layer(x) * layer(x)).sum()
        loss.backward()
        optimizer.step()
        return loss
    return step
"""


@pytest.fixture(autouse=True)
def short_warm_up(monkeypatch):
    monkeypatch.setattr(step_benchmark, "WARMUP_SECONDS", 0.02)


@pytest.fixture(scope="module", autouse=True)
def modules_imported_outside():
    """What the fixture's runs import, imported here first: an in-process pytester run forgets
    the modules it imported, and some cannot load twice in a process (NumPy's C extensions,
    which SciPy's BLAS loads; the registries Numba loads at its first kernel). So: the BLAS's
    threads, and a compiled step through to its generated function."""
    step_benchmark.describe(lambda: None, None)
    step = jitgrad.compile(mlp_step())
    for _ in range(step_benchmark.COMPILED_WARMUP_CALLS + 1):
        step()


def mlp_step():
    """A small MLP's training step (float32, cross-entropy, plain SGD), whose tape
    ``jitgrad.compile`` writes out as one generated function."""
    model = Sequential(Linear(6, 5, dtype=np.float32), ReLU(), Linear(5, 3, dtype=np.float32))
    optimizer = SGD(model.parameters(), lr=0.01)
    x, y = Tensor(np.ones((4, 6), dtype=np.float32)), Tensor(np.arange(4) % 3)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def run(pytester, *args):
    return pytester.runpytest(*PLUGIN, *QUICK, "-p", "no:cacheprovider", *args)


def saved_benchmarks(pytester, passed):
    """{test name: benchmark} of a run whose ``passed`` tests pass, from its --benchmark-json."""
    run(pytester, "--benchmark-json=out.json").assert_outcomes(passed=passed)
    return {b["name"]: b for b in json.loads((pytester.path / "out.json").read_text())["benchmarks"]}


def test_extra_info_is_in_the_json(pytester):
    pytester.makepyfile(MLP_STEP + """
import pytest

@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_step(jitgrad_benchmark, compiled):
    step = make_step()
    loss = jitgrad_benchmark(jitgrad.compile(step) if compiled else step, group="tiny", note="mine")
    assert loss.shape == ()
""")
    benchmarks = saved_benchmarks(pytester, passed=2)
    assert benchmarks.keys() == {"test_step[eager]", "test_step[compiled]"}
    for name, bench in benchmarks.items():
        info = bench["extra_info"]
        assert bench["group"] == "tiny" and info["note"] == "mine"
        assert info["compiled"] is name.endswith("[compiled]")
        assert info["dtype"] == "float32" and info["blas"] in ("openblas", "mkl")
        assert info["blas_threads"] >= 1 and info["numba_threads"] == numba.config.NUMBA_NUM_THREADS
        assert (info["jitgrad_version"], info["numba_version"]) == (jitgrad.__version__, numba.__version__)
        assert info["first_call_seconds"] > 0
        profile = info["profile"]
        ops = {(row["op"], row["phase"]): row for row in profile["ops"]}
        assert profile["steps"] == step_benchmark.PROFILE_STEPS == 3
        assert ops[("linear", "forward")]["calls"] == 2 * 3 and ops[("mul", "backward")]["calls"] == 3
        assert ops[("linear", "forward")]["gflops"] > 0 and ops[("sum", "forward")]["gflops"] is None
        assert sum(row["ms"] for row in profile["ops"]) + profile["outside_ops_ms"] == pytest.approx(profile["ms"])
        assert 0 < sum(row["share"] for row in profile["ops"]) <= 1


def test_the_first_call_is_timed_apart(pytester):
    pytester.makepyfile("""
import time

def test_slow_first_call(jitgrad_benchmark):
    calls = []

    def step():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.3)  # as a compile would
    jitgrad_benchmark(step)
""")
    bench = saved_benchmarks(pytester, passed=1)["test_slow_first_call"]
    assert bench["extra_info"]["first_call_seconds"] >= 0.3
    assert bench["stats"]["max"] < 0.1 and bench["stats"]["rounds"] >= 2


def test_profile_tables_follow_pytest_benchmarks_table_on_request(pytester):
    pytester.makepyfile(MLP_STEP + """
def test_step(jitgrad_benchmark):
    jitgrad_benchmark(make_step())

def test_no_jitgrad_ops(jitgrad_benchmark):
    jitgrad_benchmark(lambda: 1.0)
""")
    without = run(pytester).stdout.str()
    assert "jitgrad per-op profiles" not in without and "benchmark: 2 tests" in without
    lines = run(pytester, "--jitgrad-profile").stdout.lines
    start = next(i for i, line in enumerate(lines) if "jitgrad per-op profiles" in line)
    assert any("benchmark: 2 tests" in line for line in lines[:start])  # pytest-benchmark's first
    after = "\n".join(lines[start:])
    assert "test_step (3 steps)" in after and "test_no_jitgrad_ops" not in after
    assert any(line.split()[:2] == ["linear", "backward"] for line in lines[start:])


def test_a_compiled_step_runs_its_generated_function_before_the_timing(pytester, monkeypatch):
    monkeypatch.setattr(step_benchmark, "WARMUP_SECONDS", 0)  # the least number of calls
    pytester.makepyfile("""
import jitgrad
from jitgrad.apps import step_benchmark
from tests.apps.test_benchmark_plugin import mlp_step

def test_generated(jitgrad_benchmark, monkeypatch):
    eager_step, recorded = mlp_step(), []

    @jitgrad.compile
    def step():
        recorded.append(1)  # runs when the step records, not when it replays
        return eager_step()

    generated_when_timed = []
    measure = step_benchmark.StepBenchmark._measure

    def measure_noting(self, step, *args):
        tapes = [tape for kept in step._tapes.values() for tape in kept]
        generated_when_timed.append(bool(tapes and tapes[0].program))
        return measure(self, step, *args)
    monkeypatch.setattr(step_benchmark.StepBenchmark, "_measure", measure_noting)
    jitgrad_benchmark(step)
    assert len(recorded) == 2 and generated_when_timed == [True]
""")
    run(pytester, "--benchmark-json=out.json").assert_outcomes(passed=1)
    info = json.loads((pytester.path / "out.json").read_text())["benchmarks"][0]["extra_info"]
    assert info["compiled"] is True and "compiled_runs_eagerly_because" not in info


def test_benchmark_disable_runs_the_step_once(pytester):
    pytester.makepyfile("""
calls = []

def test_once(jitgrad_benchmark):
    assert jitgrad_benchmark(lambda: calls.append(1) or 2.0) == 2.0
    assert calls == [1]
""")
    run(pytester, "--benchmark-disable").assert_outcomes(passed=1)


def test_without_pytest_benchmark_the_fixture_skips_and_nothing_else_changes(pytester):
    pytester.makepyfile("""
def test_plain():
    assert True

def test_benchmark(jitgrad_benchmark):
    raise AssertionError("not reached")
""")
    result = pytester.runpytest("-p", "no:benchmark", *PLUGIN, "--jitgrad-profile", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    out = result.stdout.str()
    assert 'jitgrad_benchmark needs pytest-benchmark: pip install "jitgrad[bench]"' in out
    assert "jitgrad per-op profiles" not in out


def test_loading_the_plugin_imports_neither_jitgrad_nor_numba(pytester, monkeypatch):
    """Every pytest run loads it once jitgrad is installed: it must cost nothing unused."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile("""
import sys

def test_nothing_heavy_imported():
    assert not {"jitgrad", "numba", "scipy"} & set(sys.modules)
""")
    result = pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("body, message", [
    ("def step():\n    raise ValueError('bad batch')",
     ["*jitgrad_benchmark test_bad.py::test_bad: the step raised at its first call:*",
      "*test_bad.py*, in step*", "ValueError: bad batch"]),
    ("def step():\n    return {'loss': 1.0}",
     ["*test_bad.py::test_bad: the step returned a dict at its first call: return the loss (a Tensor or a number), or nothing*"]),
    ("def step():\n    yield 1.0",
     ["*the step returned a generator (its body has not run) at its first call*"]),
    ("step = make_step()()",
     ["*test_bad.py::test_bad: expected the step function, got a Tensor: pass the step itself*"]),
    ("sizes = iter(range(1, 1000))\n\ndef step():\n    return Tensor(np.ones(next(sizes)))",
     ["*test_bad.py::test_bad: the step's result changed between calls: its first call returned "
      "a Tensor of shape (1,) float64, call 2 a Tensor of shape (2,) float64. A benchmark times "
      "the same work at every call*"]),
    ("steps = iter([make_step(8)] * 3 + [make_step(5)] * 1000)  # first call, warm-up, profiled 1\n\ndef step():\n    return next(steps)()",
     ["*test_bad.py::test_bad: the step's ops changed between calls: linear (forward, on 5x4, 4x3, 3) "
      "ran 0 times in the first profiled call, 2 in profiled call 2*"]),
    ("import traceback\n\ndef step():\n"
     "    if any('pytest_benchmark' in frame.filename for frame in traceback.extract_stack()):\n"
     "        raise RuntimeError('only when timed')",
     ["*test_bad.py::test_bad: the step raised in a timed round:*", "RuntimeError: only when timed"]),
    ("step = make_step()\nstep = [step, step]",
     ["*test_bad.py::test_bad: expected the step function, got a list*"]),
], ids=["raises", "returns_a_dict", "generator", "not_callable", "result_shape_changes",
        "op_shapes_change", "raises_when_timed", "a_list_of_steps"])
def test_bad_steps_are_reported_with_the_benchmarks_name(pytester, monkeypatch, body, message):
    monkeypatch.setattr(step_benchmark, "WARMUP_SECONDS", 0)  # one call between first and profiled
    pytester.makepyfile(test_bad=MLP_STEP + body + "\n\ndef test_bad(jitgrad_benchmark):\n    jitgrad_benchmark(step)\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(message)
    out = result.stdout.str()
    assert "step_benchmark.py" not in out and "pytest_benchmark" + "/fixture.py" not in out


def test_one_step_per_test(pytester):
    pytester.makepyfile(MLP_STEP + """
def test_twice(jitgrad_benchmark):
    jitgrad_benchmark(make_step())
    jitgrad_benchmark(make_step())
""")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*jitgrad_benchmark *::test_twice: times one step per test*parametrize*"])


def test_the_example_runs(pytester, monkeypatch):
    """examples/benchmark_your_model, each step once (a subprocess: it may import PyTorch)."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess(*PLUGIN, "--benchmark-disable", "-p", "no:cacheprovider",
                                           str(ROOT / "examples" / "benchmark_your_model"))
    result.assert_outcomes(passed=3 if importlib.util.find_spec("torch") else 2,
                           skipped=0 if importlib.util.find_spec("torch") else 1)


def test_a_benchmark_inside_the_callers_profile_has_none(pytester):
    """One profile records at a time: the caller's wins (benchmarks/test_profiler.py)."""
    pytester.makepyfile(MLP_STEP + """
def test_inside(jitgrad_benchmark):
    with jitgrad.profile() as mine:
        jitgrad_benchmark(make_step())
    assert mine.stats
""")
    assert saved_benchmarks(pytester, passed=1)["test_inside"]["extra_info"]["profile"] is None

