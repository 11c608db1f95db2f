"""Copy along a new middle axis and sum it away again: ``expand`` and ``sum(dim)``.

Callers view an N-d array as (outer, inner) or (outer, n, inner) around the dim in question,
so one pair of 2-D/3-D kernels serves every rank and every dim.
"""
import numpy as np

from .jit import kernel


@kernel
def expand_middle(x, copies):
    """Repeat x along a new middle axis: (outer, inner) -> (outer, copies, inner)."""
    outer, inner = x.shape
    out = np.empty((outer, copies, inner), dtype=x.dtype)
    for o in range(outer):
        for c in range(copies):
            out[o, c, :] = x[o, :]
    return out


@kernel
def sum_middle(x):
    """Sum the middle axis: (outer, n, inner) -> (outer, inner)."""
    outer, n, inner = x.shape
    out = np.zeros((outer, inner), dtype=x.dtype)
    for o in range(outer):
        for j in range(n):
            out[o, :] += x[o, j, :]
    return out
