"""Hypothesis profiles: a quick one for every run, and ``long`` for a thorough search.

``python -m pytest --hypothesis-profile=long`` runs the property tests on many more examples.
No deadline: the first example of a run may wait for Numba to compile or load kernels.
"""
from hypothesis import settings

settings.register_profile("quick", max_examples=150, deadline=None)
settings.register_profile("long", max_examples=10_000, deadline=None)
settings.load_profile("quick")
