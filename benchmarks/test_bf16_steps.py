"""bfloat16 training steps (forward and loss under each library's autocast, float32
parameters, SGD) beside the float32 steps and PyTorch's, and the bf16 GEMM's 2048³ peak: one
pytest-benchmark group per workload, PASSES passes; ``benchmarks.report`` tabulates them
("bfloat16 mixed precision"), and ``python -m benchmarks.bf16_steps`` interleaves the four
within seconds.

    pytest benchmarks/test_bf16_steps.py --benchmark-only --benchmark-json=bf16.json
"""
import functools
import warnings

import numpy as np
import pytest

from jitgrad.backend import amp

from .bf16_steps import autocast_step
from .conftest import require
from .workloads import WORKLOADS, build_step, gemm_flops

PASSES = 3
STEP_SECONDS = 0.75
IMPLEMENTATIONS = {"jitgrad_f32": ("jitgrad", False), "jitgrad_bf16": ("jitgrad", True),
                   "torch_f32": ("torch", False), "torch_bf16": ("torch", True)}
CASES = [(workload, name, run) for run in range(1, PASSES + 1)
         for workload in ("mlp_large", "mlp_wide") for name in IMPLEMENTATIONS]


def require_bf16_gemm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", amp.AutocastFallback)
        if amp.gemm() is None:
            pytest.skip(f"no bf16 GEMM: {amp.library()}")


@functools.cache
def step(workload, name):
    implementation, bf16 = IMPLEMENTATIONS[name]
    spec = WORKLOADS[workload]
    return autocast_step(spec, implementation) if bf16 else build_step(spec, implementation, "float32")


@pytest.mark.parametrize("workload, name, run", CASES, ids=[f"{w}-{n}-pass{r}" for w, n, r in CASES])
def test_bf16_step(measure, workload, name, run):
    implementation, bf16 = IMPLEMENTATIONS[name]
    require(implementation)
    if bf16 and implementation == "jitgrad":
        require_bf16_gemm()
    measure(step(workload, name), group=f"{workload}-bf16", seconds=STEP_SECONDS, kind="bf16_step",
            workload=workload, dtype="bfloat16" if bf16 else "float32",
            implementation=name, run=run, gemm_flops=gemm_flops(WORKLOADS[workload]))


def test_bf16_gemm_peak(measure):
    require_bf16_gemm()
    from kernels import bf16
    rng = np.random.default_rng(0)
    a, b = (bf16.to_bf16(rng.standard_normal((2048, 2048)).astype(np.float32)) for _ in "ab")
    out = np.empty((2048, 2048), np.float32)
    measure(lambda: amp.multiply_into(a, b, out, beta=0.0), group="gemm_peak", seconds=3.0,
            kind="peak", dtype="bfloat16", size=2048, flops=2 * 2048 ** 3, backend=amp.library())
