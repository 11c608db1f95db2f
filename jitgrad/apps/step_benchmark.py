"""What the ``jitgrad_benchmark`` fixture does (its pytest plugin is the top-level module
``jitgrad_pytest_plugin``; docs/benchmarking.md): time a training step with pytest-benchmark
so that the numbers mean the step, and two saved runs can be compared.

    def test_step(jitgrad_benchmark):
        jitgrad_benchmark(step)          # step() runs one training step

Before anything is timed: every kernel compiled or loaded from Numba's cache
(``jitgrad.warmup``, once per process); the step's first call, timed on its own
(``first_call_seconds``: the kernels it loads, ``jitgrad.compile``'s recording); calls for at
least WARMUP_SECONDS, which also let another library's idle BLAS threads (NumPy's, PyTorch's)
stop spinning on the cores and take ``jitgrad.compile``'s step to its generated function; and
PROFILE_STEPS calls under ``jitgrad.profile()``, each apart, so that a step whose ops or shapes
change from call to call is caught. Then rounds of enough calls that the timer's resolution
does not matter, for about ``seconds``.
"""
import math
import numbers
import os
import statistics
import sys
import time
import traceback

import numba
import numpy as np
import pytest

import jitgrad

# jitgrad's internals read here, in one place (their paths follow the package's layout)
from jitgrad.apps.cpu_load import ForeignLoad
from jitgrad.backend.gemm import backends, blas_threads
from jitgrad.backend.profiler import Profile
from jitgrad.backend.profiler import switch as profiler_switch
from jitgrad.compiler.codegen import AFTER_REPLAYS
from jitgrad.compiler.step import CompiledStep

#: Seconds of calls before the measurement. After a benchmark on another BLAS (NumPy's,
#: SciPy's or PyTorch's), that library's idle threads spin for about 0.1 s and steal the cores.
WARMUP_SECONDS = 0.5
#: Calls after the first that a ``jitgrad.compile``d step needs to reach its generated
#: function: the second recording, the replays before it is generated, the call that generates
#: it, and one that runs it.
COMPILED_WARMUP_CALLS = 1 + AFTER_REPLAYS + 2
#: Shortest round: calls shorter than this are repeated within a round, so that the timer's
#: resolution and the per-round overhead do not matter.
MIN_ROUND_SECONDS = 0.001
MAX_ROUNDS = 200
#: Steps profiled (each apart) for the per-op table.
PROFILE_STEPS = 3


class StepBenchmark:
    """The ``jitgrad_benchmark`` fixture: ``jitgrad_benchmark(step, group=None, seconds=None,
    min_rounds=None, max_rounds=MAX_ROUNDS, **extra_info)`` times ``step()`` with the test's
    pytest-benchmark ``benchmark`` and returns the step's result.

    ``seconds`` (the measurement's length, after the warm-up) and ``min_rounds`` default to
    ``--benchmark-max-time`` and ``--benchmark-min-rounds``. ``extra_info`` is stored in the
    benchmark's ``extra_info`` beside (and over) what is measured here; see ``describe``.
    With ``--benchmark-disable`` the step runs once, checked as always.
    """

    def __init__(self, benchmark, config, profiles):
        self.benchmark, self.config, self.profiles = benchmark, config, profiles
        self._first_result = None  # (which call, its result's signature)

    def __call__(self, step, group=None, seconds=None, min_rounds=None, max_rounds=MAX_ROUNDS,
                 **extra_info):
        if self._first_result is not None:
            self._fail("times one step per test (as pytest-benchmark's fixture): parametrize the "
                       "test to time several")
        if not callable(step):
            self._fail(f"expected the step function, got {_kind(step)}: pass the step itself, "
                       "jitgrad_benchmark(step), not what it returns")
        if group is not None:
            self.benchmark.group = group
        if self.benchmark.disabled:  # pytest-benchmark calls it once (and then counts it used)
            return self.benchmark.pedantic(lambda: self._call(step, "its only call (--benchmark-disable)"))
        _warm_up_jitgrad()
        start = time.perf_counter()
        self._call(step, "its first call")
        first_call_seconds = time.perf_counter() - start
        call_seconds = self._settle(step, COMPILED_WARMUP_CALLS if isinstance(step, CompiledStep) else 1)
        profile = self._profile(step)
        result, foreign_cores = self._measure(step, call_seconds, seconds, min_rounds, max_rounds)
        self.benchmark.extra_info.update({
            **describe(step, result), "first_call_seconds": first_call_seconds,
            "foreign_cores": foreign_cores, "profile": profile_info(profile), **extra_info})
        return result

    def _call(self, step, which):
        """``step()``, its result checked; a failure names the benchmark and ``which`` call."""
        try:
            result = step()
        except Exception as error:  # noqa: BLE001 -- reported as the step's, with its traceback
            self._fail(f"the step raised at {which}:\n{_step_traceback(error)}")
        try:
            signature = _signature(result)
        except TypeError:
            self._fail(f"the step returned {_kind(result)} at {which}: return the loss "
                       "(a Tensor or a number), or nothing")
        if self._first_result is None:
            self._first_result = (which, signature)
        elif signature != self._first_result[1]:
            self._fail(f"the step's result changed between calls: {self._first_result[0]} "
                       f"returned {self._first_result[1]}, {which} {signature}. {SAME_WORK}")
        return result

    def _settle(self, step, min_calls):
        """Calls ``step`` for WARMUP_SECONDS and at least ``min_calls`` times; returns the
        median seconds of the later half of the calls (after a compiled step's recordings)."""
        durations, start = [], time.perf_counter()
        while len(durations) < min_calls or time.perf_counter() - start < WARMUP_SECONDS:
            call_start = time.perf_counter()
            self._call(step, f"call {len(durations) + 2}")
            durations.append(time.perf_counter() - call_start)
        return statistics.median(durations[len(durations) // 2:])

    def _profile(self, step):
        """PROFILE_STEPS calls, each under its own ``jitgrad.profile()``, added up; None when
        the benchmark runs inside its caller's profile (one records at a time)."""
        if profiler_switch.active:
            return None
        profiles = []
        for number in range(1, PROFILE_STEPS + 1):
            with jitgrad.profile() as profile:
                self._call(step, f"profiled call {number}")
            profiles.append(profile)
            ops, first = _op_counts(profile), _op_counts(profiles[0])
            if ops != first:
                self._fail(f"the step's ops changed between calls: {_op_difference(first, ops, number)}. "
                           f"{SAME_WORK}")
        profile = Profile.combined(profiles)
        if profile.stats:  # a PyTorch step, or a kernel called directly, runs no jitgrad op
            self.profiles.append((f"{self.benchmark.fullname} ({PROFILE_STEPS} steps)", profile.table()))
        return profile

    def _measure(self, step, call_seconds, seconds, min_rounds, max_rounds):
        """pytest-benchmark's rounds of ``step``; returns its last result and the cores other
        processes kept busy meanwhile."""
        if seconds is None:  # pytest-benchmark's defaults reach here unparsed: "1.0"
            seconds = float(self.config.getoption("benchmark_max_time"))
        if min_rounds is None:
            min_rounds = int(self.config.getoption("benchmark_min_rounds"))
        call_seconds = max(call_seconds, 1e-9)  # a step that does nothing, timed as 0
        iterations = max(1, math.ceil(MIN_ROUND_SECONDS / call_seconds))
        rounds = min(max_rounds, max(min_rounds, round(seconds / (call_seconds * iterations))))
        with ForeignLoad() as load:
            try:
                result = self.benchmark.pedantic(step, rounds=rounds, iterations=iterations)
            except Exception as error:  # noqa: BLE001 -- reported as the step's
                self._fail(f"the step raised in a timed round:\n{_step_traceback(error)}")
        return result, load.cores

    def _fail(self, message):
        pytest.fail(f"jitgrad_benchmark {self.benchmark.fullname}: {message}", pytrace=False)


SAME_WORK = ("A benchmark times the same work at every call: give the step inputs of one shape "
             "(drop a smaller last batch, or draw batches of one size)")


def _warm_up_jitgrad():
    """Every kernel compiled, or found in Numba's cache, once per process."""
    if not _warm_up_jitgrad.done:
        jitgrad.warmup(progress=False)
        _warm_up_jitgrad.done = True


_warm_up_jitgrad.done = False


def describe(step, result):
    """What the numbers depend on: the result's dtype (None for a step that returns a Python
    number: pass ``dtype=``), the BLAS that jitgrad's products of that dtype run on and its
    threads, Numba's threads, the CPUs, the versions, whether ``step`` is a
    ``jitgrad.compile``d step (and if it fell back to eager, why), and PyTorch's version and
    threads when it is loaded."""
    dtype = getattr(result, "dtype", None)
    dtype = None if dtype is None else str(dtype).removeprefix("torch.")
    blas = backends(dtype) if dtype in ("float32", "float64") else backends("float32") | backends("float64")
    info = {"dtype": dtype, "blas": "/".join(sorted(blas)), "blas_threads": blas_threads(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS, "cpus": os.cpu_count(),
            "jitgrad_version": jitgrad.__version__, "numba_version": numba.__version__,
            "numpy_version": np.__version__, "compiled": isinstance(step, CompiledStep)}
    if info["compiled"] and step.eager_reason is not None:
        info["compiled_runs_eagerly_because"] = step.eager_reason
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info.update(torch_version=torch.__version__, torch_threads=torch.get_num_threads())
    return info


def profile_info(profile):
    """``profile`` as JSON-ready numbers: one row per op and phase (calls, ms, share of the
    profiled time, GFLOP/s of products), the time outside ops and in all, per PROFILE_STEPS
    steps; None without a profile."""
    if profile is None:
        return None
    rows = profile.rows()
    inside = sum(stats.seconds for _, _, stats in rows)
    return {"steps": PROFILE_STEPS, "ms": profile.seconds * 1e3,
            "outside_ops_ms": (profile.seconds - inside) * 1e3,
            "ops": [{"op": name, "phase": phase, "calls": stats.calls, "ms": stats.seconds * 1e3,
                     "share": stats.seconds / profile.seconds if profile.seconds else None,
                     "gflops": stats.flops / stats.seconds / 1e9 if stats.flops and stats.seconds else None}
                    for name, phase, stats in rows]}


def _signature(value):
    """What must stay the same from call to call: the result's type, and shape and dtype
    for arrays and tensors; a TypeError for anything but those, numbers, None, and tuples or
    lists of them."""
    if value is None or isinstance(value, numbers.Number):
        return type(value).__name__
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # jitgrad's, NumPy's, PyTorch's
        return f"a {type(value).__name__} of shape {tuple(value.shape)} {value.dtype}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(_signature, value)) + ")"
    raise TypeError(type(value).__name__)


def _kind(value):
    """"a generator (its body has not run)", "a dict", ..."""
    name = type(value).__name__
    hint = " (its body has not run)" if name in ("generator", "coroutine") else ""
    return f"a{'n' if name[0] in 'aeiou' else ''} {name}{hint}"


def _op_counts(profile):
    """{(op, phase, input shapes): calls} of one profiled step."""
    return {key: stats.calls for key, stats in profile.stats.items()}


def _op_difference(first, later, number):
    """The first op whose calls differ, as words (forward phases first: they show the inputs)."""
    key = next(key for key in sorted(first.keys() | later.keys(), key=lambda k: (k[1] != "forward", str(k)))
               if first.get(key, 0) != later.get(key, 0))
    name, phase, shapes = key
    on = ", ".join("x".join(map(str, shape)) or "()" for shape in shapes)
    return (f"{name} ({phase}, on {on or 'no array'}) ran {first.get(key, 0)} times in the first "
            f"profiled call, {later.get(key, 0)} in profiled call {number}")


def _step_traceback(error):
    """``error``'s traceback from the step's frames on: those of this module and of
    pytest-benchmark, which called the step, are left out."""
    harness = (__file__, os.path.dirname(sys.modules["pytest_benchmark"].__file__))
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(harness):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb)).rstrip()
