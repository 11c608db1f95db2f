"""One training step of each workload on jitgrad, the NumPy reference and PyTorch, beside the
step's GEMM-only floor: one pytest-benchmark group per workload and dtype."""
import pytest

from .conftest import require
from .workloads import DTYPES, IMPLEMENTATIONS, WORKLOADS, build_floor, build_step, gemm_flops

#: Seconds of measurement per benchmark (a step of 0.1 s gets 40 rounds).
STEP_SECONDS = 4.0
FLOOR = "gemm_floor"

# Ordered so that one group's benchmarks run one after another, under the same machine load.
CASES = [(workload, dtype, implementation) for workload in WORKLOADS for dtype in DTYPES
         for implementation in (*IMPLEMENTATIONS, FLOOR)]


@pytest.mark.parametrize("workload, dtype, implementation", CASES,
                         ids=["-".join(case) for case in CASES])
def test_step(measure, workload, dtype, implementation):
    require(implementation)
    spec = WORKLOADS[workload]
    if implementation == FLOOR:
        step = build_floor(spec, dtype)
    else:
        step = build_step(spec, implementation, dtype)
    measure(step, group=f"{workload}-{dtype}", seconds=STEP_SECONDS, kind="step",
            workload=workload, dtype=dtype, implementation=implementation,
            gemm_flops=gemm_flops(spec))
