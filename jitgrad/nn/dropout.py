"""Dropout."""
from jitgrad.nn import functional
from jitgrad.nn.module import Layer


class Dropout(Layer):
    """Inverted dropout: while training, zero each input element with probability ``p`` and
    scale the rest by 1 / (1 - p), so the expected output is the input; in eval mode the input
    passes unchanged. Masks come from NumPy's global RNG unless an ``rng``
    (``np.random.Generator``) is given. ``inplace=True`` is accepted and computes out of place.
    """

    def __init__(self, p=0.5, inplace=False, *, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p, self.inplace, self.rng = p, inplace, rng

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, input):
        return functional.dropout(input, self.p, self.training, self.rng)
