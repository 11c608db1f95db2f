"""Row gather (``index_select``) and its backward, the scatter-add of gradient rows."""
import numpy as np

from .jit import kernel


@kernel
def index_select(weight, indices):
    """weight[indices]: (rows, width), (n,) int -> (n, width)."""
    out = np.empty((indices.size, weight.shape[1]), dtype=weight.dtype)
    for i in range(indices.size):
        row = indices[i]
        for j in range(weight.shape[1]):
            out[i, j] = weight[row, j]
    return out


@kernel
def index_select_backward(grad, indices, rows):
    """Add each gradient row into the row it was read from: (n, width) -> (rows, width).

    A row selected k times receives the sum of its k gradient rows.
    """
    out = np.zeros((rows, grad.shape[1]), dtype=grad.dtype)
    for i in range(indices.size):
        row = indices[i]
        for j in range(grad.shape[1]):
            out[row, j] += grad[i, j]
    return out


@kernel
def index_range(indices):
    """(smallest, largest) of a non-empty int array (n,), to bounds-check it in one pass."""
    low = high = indices[0]
    for i in range(1, indices.size):
        low = min(low, indices[i])
        high = max(high, indices[i])
    return low, high
