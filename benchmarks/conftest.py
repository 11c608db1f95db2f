"""Fixtures of the benchmarks: jitgrad warmed up, PyTorch optional, a time-boxed runner."""
import math
import os
import statistics
import time

import pytest

import jitgrad

from .cpu_load import ForeignLoad
from .workloads import REQUIRES

#: Seconds of warm-up before each measurement. After a benchmark on another BLAS (NumPy's,
#: SciPy's or PyTorch's), that library's idle threads spin for about 0.1 s and steal the cores.
WARMUP_SECONDS = 0.5
#: Shortest round: calls shorter than this are repeated within a round, so that the timer's
#: resolution and the per-round overhead do not matter.
MIN_ROUND_SECONDS = 0.001


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record the BLAS thread count in the JSON, for ``benchmarks.report``."""
    machine_info["openblas_num_threads"] = os.environ.get("OPENBLAS_NUM_THREADS", "unset")


@pytest.fixture(scope="session", autouse=True)
def warm_jitgrad():
    """Every kernel compiled (or loaded from Numba's cache) before anything is timed."""
    jitgrad.compiler.warmup(progress=False)


def require(implementation):
    """Skip the test when ``implementation`` needs PyTorch or JAX and it is not installed."""
    if implementation in REQUIRES:
        pytest.importorskip(REQUIRES[implementation])


@pytest.fixture
def measure(benchmark):
    """``measure(fn, group, seconds=..., **extra_info)`` times ``fn()`` for about ``seconds``
    (at least 5 rounds) after a warm-up, under pytest-benchmark group ``group``.

    ``extra_info`` (and the cores other processes kept busy meanwhile, ``foreign_cores``) is
    stored in the JSON output for ``benchmarks.report``. With ``--benchmark-disable`` ``fn``
    runs once.
    """
    def run(fn, group, seconds, min_rounds=5, max_rounds=200, **extra_info):
        benchmark.group = group
        benchmark.extra_info.update(extra_info)
        if benchmark.disabled:
            return benchmark.pedantic(fn)
        call_seconds = _warm_up(fn)
        iterations = max(1, math.ceil(MIN_ROUND_SECONDS / call_seconds))
        rounds = min(max_rounds, max(min_rounds, round(seconds / (call_seconds * iterations))))
        with ForeignLoad() as load:
            result = benchmark.pedantic(fn, rounds=rounds, iterations=iterations)
        benchmark.extra_info["foreign_cores"] = load.cores
        return result
    return run


def _warm_up(fn):
    """Call ``fn`` for at least WARMUP_SECONDS and twice; returns the median seconds per call
    of the calls after the first (which may compile)."""
    durations, start = [], time.perf_counter()
    while len(durations) < 2 or time.perf_counter() - start < WARMUP_SECONDS:
        call_start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - call_start)
    return statistics.median(durations[1:])
