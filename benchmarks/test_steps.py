"""One training step of each workload on jitgrad, the NumPy references, PyTorch (eager and
torch.compile) and jax.jit, beside the step's GEMM-only floor: one pytest-benchmark group per
workload and dtype. The compiled peers compile once, in the first pass (the time is recorded as
``compile_seconds``, apart from the step's).

The whole set runs PASSES times, and each pass measures a group's implementations one right
after another, within seconds. On a shared machine speed drifts by tens of percent for tens of
seconds at a time; ``benchmarks.report`` divides times of the same pass and takes the median of
those ratios over the passes, which are minutes apart, so that one slow spell moves one pass.
"""
import functools

import pytest

from .conftest import require
from .workloads import (
    COMPILED,
    DTYPES,
    IMPLEMENTATIONS,
    WORKLOADS,
    build_floor,
    build_step,
    gemm_flops,
)

#: Seconds of measurement per benchmark (a step of 0.1 s gets 8 rounds), after the warm-up.
STEP_SECONDS = 0.75
PASSES = 6
FLOOR = "gemm_floor"

CASES = [(workload, dtype, implementation, run) for run in range(1, PASSES + 1)
         for workload in WORKLOADS for dtype in DTYPES
         for implementation in (*IMPLEMENTATIONS, FLOOR)]


@pytest.mark.parametrize("workload, dtype, implementation, run", CASES,
                         ids=[f"{w}-{d}-{i}-pass{r}" for w, d, i, r in CASES])
def test_step(jitgrad_benchmark, workload, dtype, implementation, run):
    require(implementation)
    spec = WORKLOADS[workload]
    if implementation == FLOOR:
        step = build_floor(spec, dtype)
    elif implementation in COMPILED:
        step = compiled_step(workload, implementation, dtype)
    else:
        step = build_step(spec, implementation, dtype)
    jitgrad_benchmark(step, group=f"{workload}-{dtype}", seconds=STEP_SECONDS, kind="step",
            workload=workload, dtype=dtype, implementation=implementation, run=run,
            gemm_flops=gemm_flops(spec), compile_seconds=getattr(step, "compile_seconds", None))


@functools.cache
def compiled_step(workload, implementation, dtype):
    """A compiled peer's step, built (compiled) once and reused by the later passes."""
    return build_step(WORKLOADS[workload], implementation, dtype)
