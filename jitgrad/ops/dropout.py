"""dropout: inverted dropout, a product with a random mask drawn by the op's forward.

The mask is drawn inside ``forward`` (not by the function that applies the op) so that a
compiled step (``jitgrad.compile``), which replays ops' forwards, draws from the same random
stream, in the same order, as eager code does.
"""
import numbers

import numpy as np

from jitgrad.ops.elementwise import Mul
from jitgrad.ops.registry import BadInput, Example, apply, constant, register


class Dropout(Mul):
    """x -> x * mask, each mask element 0 with probability ``p`` else 1 / (1 - p), drawn
    at each forward from ``rng`` (np.random.Generator) or NumPy's global RNG."""

    creation_op = "dropout"
    draws_random = True

    def __init__(self, p, rng):
        self.p, self.rng = p, rng

    def forward(self, x):
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        draw = np.random.random_sample if self.rng is None else self.rng.random
        keep = draw(x.shape) >= self.p
        return super().forward(x, keep.astype(dtype) / dtype.type(1 - self.p))

    def backward(self, grad, needs_grad):
        return super().backward(grad, [needs_grad[0], False])[:1]


def dropout(input, p=0.5, training=True, rng=None):  # noqa: A002 -- torch's argument names
    """While ``training``, each element zeroed with probability ``p`` and the rest scaled by
    1 / (1 - p); otherwise ``input`` itself. Masks come from NumPy's global RNG unless an
    ``rng`` (np.random.Generator) is given."""
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    dtype = input.dtype if input.dtype.kind == "f" else np.dtype(np.float64)
    if p == 1:
        return input * constant(np.zeros(input.shape, dtype=dtype))
    return apply(Dropout(p, rng), input)


register("dropout", dropout, functional=["dropout"], examples=[
    Example(lambda lib, x: lib.F.dropout(x, 0.3, training=False), [(3, 4)]),
    Example(lambda lib, x: lib.F.dropout(x, 0.0), [(3, 4)]),
    Example(lambda lib, x: lib.F.dropout(x, 1.0), [(3, 4)]),
], bad_inputs=[BadInput(lambda lib, x: lib.F.dropout(x, 1.5), [(2,)], ValueError,
                        r"dropout: p must be in \[0, 1\], got 1.5")])
