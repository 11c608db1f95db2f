"""Hypothesis profiles: a quick one for every run, and ``long`` for a thorough search; the
suite's BLAS, and a fixture for tests that change it.

``quick`` (the default, so CI's) is derandomized: every run draws the same examples, so a
failure in CI fails the same way on any machine (see docs/tests.md). ``explore`` draws as
many new examples on each run, ``python -m pytest --hypothesis-profile=long`` many more.
No deadline: the first example of a run may wait for Numba to compile or load kernels.
"""
import os

import pytest
from hypothesis import settings

from jitgrad.backend import dtypes, gemm
from kernels import blas

# The suite runs its products on OpenBLAS, so that what it asserts (which updates fuse, bit
# for bit equalities) does not hang on jitgrad.backend.gemm's measurement, which picks MKL (when
# installed) on some runs and OpenBLAS on others. tests/backend/test_gemm.py clears this to test the
# choice itself, and the tests that need MKL choose it.
os.environ["JITGRAD_BLAS"] = "openblas"

settings.register_profile("quick", max_examples=150, deadline=None, derandomize=True,
                          print_blob=True)
settings.register_profile("explore", max_examples=150, deadline=None, print_blob=True)
settings.register_profile("long", max_examples=10_000, deadline=None, print_blob=True)
settings.load_profile("quick")


@pytest.fixture
def gemm_choice_restored(monkeypatch):
    """For a test that changes the process's backends: ``JITGRAD_BLAS`` cleared (the test sets
    it, or tests the measured choice), and the old backends put back afterwards."""
    monkeypatch.delenv(gemm.OVERRIDE, raising=False)
    saved = (gemm._Decision.choice, gemm._Decision.reason, gemm._Decision.microseconds, list(blas.TABLE))
    yield
    gemm._Decision.choice, gemm._Decision.reason, gemm._Decision.microseconds, table = saved
    blas.TABLE[:] = table


@pytest.fixture(autouse=True)
def default_dtype_restored(monkeypatch):
    """Every test leaves the default parameter dtypes as it found them (a test that calls
    ``set_default_dtype`` would otherwise change the next tests' layers)."""
    monkeypatch.setattr(dtypes, "_default_dtype", dtypes._default_dtype)
    monkeypatch.setattr(dtypes, "_default_chosen", dtypes._default_chosen)
