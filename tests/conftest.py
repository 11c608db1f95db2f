"""Hypothesis profiles: a quick one for every run, and ``long`` for a thorough search; and
the suite's BLAS.

``python -m pytest --hypothesis-profile=long`` runs the property tests on many more examples.
No deadline: the first example of a run may wait for Numba to compile or load kernels.
"""
import os

from hypothesis import settings

# The suite runs its products on OpenBLAS, so that what it asserts (which updates fuse, bit
# for bit equalities) does not hang on jitgrad.gemm's measurement, which picks MKL (when
# installed) on some runs and OpenBLAS on others. tests/test_gemm.py clears this to test the
# choice itself, and the tests that need MKL choose it.
os.environ["JITGRAD_BLAS"] = "openblas"

settings.register_profile("quick", max_examples=150, deadline=None)
settings.register_profile("long", max_examples=10_000, deadline=None)
settings.load_profile("quick")
