"""NumPy broadcasting and reductions over any dims, on flat C-contiguous arrays.

The caller describes the full (broadcast) shape as a few *groups* of adjacent dims that
broadcast alike (``shape``, int64 (k,)), and each operand by its element strides over those
groups (int64 (k,)): the stride of a group the operand spans, 0 for one it is broadcast
along (or reduced over). (n, m) + (m,) is groups (n, m), strides (m, 1) and (0, 1).
The last group is walked by an inner loop with stride 1 or 0, which vectorizes; the others
by an odometer (``_next_row``). One compiled kernel per dtype serves every rank.
"""
import numpy as np

from .jit import kernel, summing_kernel
from .vmath import inline

ADD, SUB, MUL, DIV = 0, 1, 2, 3


@inline
def _next_row(counter, shape, strides, positions):
    """Advance the odometer ``counter`` over all groups but the last by one row, moving each
    operand's flat position (``positions[j]`` by ``strides[j]``) along with it."""
    for d in range(shape.size - 2, -1, -1):
        counter[d] += 1
        for j in range(positions.size):
            positions[j] += strides[j, d]
        if counter[d] < shape[d]:
            return
        counter[d] = 0
        for j in range(positions.size):
            positions[j] -= strides[j, d] * shape[d]


@inline
def _combine(code, x, y):
    if code == ADD:
        return x + y
    if code == SUB:
        return x - y
    if code == MUL:
        return x * y
    return x / y


@kernel
def binary(code, a, b, shape, strides):
    """a <code> b broadcast over groups ``shape``; ``strides`` (2, k): a's row, then b's.

    Returns the flat result, of prod(shape) elements.
    """
    inner = shape[shape.size - 1]
    out = np.empty(np.prod(shape), dtype=a.dtype)
    counter = np.zeros(shape.size, dtype=np.int64)
    positions = np.zeros(2, dtype=np.int64)
    step_a, step_b = strides[0, shape.size - 1], strides[1, shape.size - 1]
    for start in range(0, out.size, inner):
        # rows as slices: indexing them by the loop counter needs no negative-index check,
        # which would keep the loop from vectorizing
        pa, pb, row = positions[0], positions[1], out[start:start + inner]
        if step_a == 1 and step_b == 1:
            row_a, row_b = a[pa:pa + inner], b[pb:pb + inner]
            for i in range(inner):
                row[i] = _combine(code, row_a[i], row_b[i])
        elif step_a == 1:
            row_a, y = a[pa:pa + inner], b[pb]
            for i in range(inner):
                row[i] = _combine(code, row_a[i], y)
        else:
            x, row_b = a[pa], b[pb:pb + inner]
            for i in range(inner):
                row[i] = _combine(code, x, row_b[i])
        _next_row(counter, shape, strides, positions)
    return out


@kernel
def broadcast_to(x, shape, strides, scale):
    """x read with ``strides`` (1, k) at every position of groups ``shape``, times ``scale``:
    flat, prod(shape)."""
    inner = shape[shape.size - 1]
    out = np.empty(np.prod(shape), dtype=x.dtype)
    counter = np.zeros(shape.size, dtype=np.int64)
    positions = np.zeros(1, dtype=np.int64)
    step = strides[0, shape.size - 1]
    for start in range(0, out.size, inner):
        p, row = positions[0], out[start:start + inner]
        if step == 1:
            source = x[p:p + inner]
            for i in range(inner):
                row[i] = source[i] * scale
        else:
            value = x[p] * scale
            for i in range(inner):
                row[i] = value
        _next_row(counter, shape, strides, positions)
    return out


@summing_kernel
def reduce_sum(x, shape, strides, size, scale):
    """Sum x (flat, of groups ``shape``) into ``size`` outputs at ``strides`` (1, k), which
    are 0 along the groups summed over, times ``scale``: broadcast_to's backward."""
    inner = shape[shape.size - 1]
    out = np.zeros(size, dtype=x.dtype)
    counter = np.zeros(shape.size, dtype=np.int64)
    positions = np.zeros(1, dtype=np.int64)
    step = strides[0, shape.size - 1]
    for start in range(0, x.size, inner):
        p, row = positions[0], x[start:start + inner]
        if step == 1:
            target = out[p:p + inner]
            for i in range(inner):
                target[i] += row[i]
        else:
            total = out[p]
            for i in range(inner):
                total += row[i]
            out[p] = total
        _next_row(counter, shape, strides, positions)
    if scale != 1.0:
        for o in range(size):
            out[o] *= scale
    return out


@inline
def _wins(value, current, largest):
    """Whether ``value`` replaces ``current`` as the extreme; NaN always does, as in torch."""
    return (value > current if largest else value < current) or value != value


@kernel
def reduce_extreme(x, shape, strides, size, largest):
    """The largest (or smallest) element of x over the groups where ``strides`` is 0, as in
    reduce_sum."""
    inner = shape[shape.size - 1]
    out = np.full(size, -np.inf if largest else np.inf, dtype=x.dtype)
    counter = np.zeros(shape.size, dtype=np.int64)
    positions = np.zeros(1, dtype=np.int64)
    step = strides[0, shape.size - 1]
    for start in range(0, x.size, inner):
        p, row = positions[0], x[start:start + inner]
        if step == 1:
            target = out[p:p + inner]
            for i in range(inner):
                if _wins(row[i], target[i], largest):
                    target[i] = row[i]
        else:
            extreme = out[p]
            for i in range(inner):
                if _wins(row[i], extreme, largest):
                    extreme = row[i]
            out[p] = extreme
        _next_row(counter, shape, strides, positions)
    return out


@kernel
def extreme_backward(x, shape, strides, extremes, grad):
    """Gradient of reduce_extreme: each output's gradient shared evenly among the elements
    equal to it (torch's rule for ties), 0 elsewhere; flat, like x."""
    inner = shape[shape.size - 1]
    step = strides[0, shape.size - 1]
    ties = np.zeros(extremes.size, dtype=x.dtype)
    out = np.zeros_like(x)
    for sweep in range(2):  # count the ties, then share the gradient among them
        counter = np.zeros(shape.size, dtype=np.int64)
        positions = np.zeros(1, dtype=np.int64)
        for start in range(0, x.size, inner):
            p, row, row_out = positions[0], x[start:start + inner], out[start:start + inner]
            for i in range(inner):
                o = p + i * step
                if row[i] == extremes[o]:
                    if sweep == 0:
                        ties[o] += 1.0
                    else:
                        row_out[i] = grad[o] / ties[o]
            _next_row(counter, shape, strides, positions)
    return out
