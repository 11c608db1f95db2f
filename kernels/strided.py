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
        pa, pb = positions[0], positions[1]
        if step_a == 1 and step_b == 1:
            for i in range(inner):
                out[start + i] = _combine(code, a[pa + i], b[pb + i])
        elif step_a == 1:
            y = b[pb]
            for i in range(inner):
                out[start + i] = _combine(code, a[pa + i], y)
        else:
            x = a[pa]
            for i in range(inner):
                out[start + i] = _combine(code, x, b[pb + i])
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
        p = positions[0]
        if step == 1:
            for i in range(inner):
                out[start + i] = x[p + i] * scale
        else:
            value = x[p] * scale
            for i in range(inner):
                out[start + i] = value
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
        p = positions[0]
        if step == 1:
            for i in range(inner):
                out[p + i] += x[start + i]
        else:
            total = out[p]
            for i in range(inner):
                total += x[start + i]
            out[p] = total
        _next_row(counter, shape, strides, positions)
    if scale != 1.0:
        for o in range(size):
            out[o] *= scale
    return out


@kernel
def reduce_extreme(x, shape, strides, size, largest):
    """The largest (or smallest) element of x over the groups where ``strides`` is 0, as in
    reduce_sum; NaN wins, as in torch.amax."""
    inner = shape[shape.size - 1]
    out = np.full(size, -np.inf if largest else np.inf, dtype=x.dtype)
    counter = np.zeros(shape.size, dtype=np.int64)
    positions = np.zeros(1, dtype=np.int64)
    step = strides[0, shape.size - 1]
    for start in range(0, x.size, inner):
        p = positions[0]
        for i in range(inner):
            value, o = x[start + i], p + i * step
            if (value > out[o] if largest else value < out[o]) or value != value:
                out[o] = value
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
            p = positions[0]
            for i in range(inner):
                o = p + i * step
                if x[start + i] == extremes[o]:
                    if sweep == 0:
                        ties[o] += 1.0
                    else:
                        out[start + i] = grad[o] / ties[o]
            _next_row(counter, shape, strides, positions)
    return out
