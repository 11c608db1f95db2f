"""The benchmarks' setup: jitgrad's pytest plugin, whose ``jitgrad_benchmark`` fixture times
every benchmark (warm-up, first call apart, per-op profile, foreign load: docs/benchmarking.md),
the BLAS threads in the JSON, and PyTorch or JAX optional."""
import os

import pytest

from .workloads import REQUIRES

# where jitgrad is installed its entry point has loaded the plugin already, and this does nothing
pytest_plugins = ["jitgrad_pytest_plugin"]


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record the BLAS thread count in the JSON, for ``benchmarks.report``."""
    machine_info["openblas_num_threads"] = os.environ.get("OPENBLAS_NUM_THREADS", "unset")


def require(implementation):
    """Skip the test when ``implementation`` needs PyTorch or JAX and it is not installed."""
    if implementation in REQUIRES:
        pytest.importorskip(REQUIRES[implementation])
