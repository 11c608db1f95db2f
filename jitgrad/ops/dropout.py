"""dropout: inverted dropout as a product with a random mask (no op of its own)."""
import numbers

import numpy as np

from .registry import BadInput, Example, constant, register


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
    draw = np.random.random_sample if rng is None else rng.random
    keep = draw(input.shape) >= p
    return input * constant(keep.astype(dtype) / dtype.type(1 - p))


register("dropout", dropout, functional=["dropout"], examples=[
    Example(lambda lib, x: lib.F.dropout(x, 0.3, training=False), [(3, 4)]),
    Example(lambda lib, x: lib.F.dropout(x, 0.0), [(3, 4)]),
    Example(lambda lib, x: lib.F.dropout(x, 1.0), [(3, 4)]),
], bad_inputs=[BadInput(lambda lib, x: lib.F.dropout(x, 1.5), [(2,)], ValueError,
                        r"dropout: p must be in \[0, 1\], got 1.5")])
