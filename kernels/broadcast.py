"""Copy along a new middle axis and sum it away again: ``expand`` and ``sum(dim)``.

Callers view an N-d array as (outer, inner) or (outer, n, inner) around the dim in question,
so one pair of 2-D/3-D kernels serves every rank and every dim.
"""
import numpy as np

from .jit import kernel, summing_kernel


@kernel
def expand_middle(x, copies):
    """Repeat x along a new middle axis: (outer, inner) -> (outer, copies, inner)."""
    outer, inner = x.shape
    out = np.empty((outer, copies, inner), dtype=x.dtype)
    for o in range(outer):
        for c in range(copies):
            for i in range(inner):
                out[o, c, i] = x[o, i]
    return out


@summing_kernel
def sum_middle(x):
    """Sum the middle axis: (outer, n, inner) -> (outer, inner)."""
    outer, n, inner = x.shape
    out = np.zeros((outer, inner), dtype=x.dtype)
    for o in range(outer):
        if inner == 1:  # a sum along the last axis: one running total, split into SIMD lanes
            total = out[o, 0]
            for j in range(n):
                total += x[o, j, 0]
            out[o, 0] = total
        else:
            for j in range(n):
                for i in range(inner):
                    out[o, i] += x[o, j, i]
    return out
