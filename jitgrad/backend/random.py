"""Random numbers, PyTorch's way: ``jitgrad.Generator``, ``manual_seed`` and the global stream.

The global stream is NumPy's global RNG (``np.random``): the book's layers draw from it in the
book's order, and so do ``jitgrad.randn``, ``rand``, ``randint``, ... when no ``generator=``
is given. ``jitgrad.manual_seed(s)`` therefore is ``np.random.seed(s)``: a PyTorch script that
calls it is reproducible (its layers' initial weights, dropout masks, shuffles), and a book
script that calls ``np.random.seed`` keeps its numbers. A ``Generator`` is a stream of its own
(NumPy's PCG64), untouched by either seed.
"""
import numpy as np

_initial_seed = None  # the last manual_seed of the global stream, for initial_seed()


class Generator:
    """A random stream of its own, usable as ``generator=`` wherever PyTorch takes one.

    ``Generator().manual_seed(0)`` returns the generator, as PyTorch's does.
    """

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError(f"Generator: jitgrad runs on the CPU only, got device {device!r}")
        self.seed()

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an int); returns the generator."""
        self._initial_seed = _check_seed("Generator.manual_seed", seed)
        self.numpy = np.random.default_rng(self._initial_seed)
        return self

    def seed(self):
        """Restart the stream from a fresh seed drawn from the OS; returns that seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) % 2 ** 63)
        return self._initial_seed

    def initial_seed(self):
        """The seed the stream was last started from."""
        return self._initial_seed

    def get_state(self):
        """The stream's state (a dict: NumPy's bit generator state)."""
        return self.numpy.bit_generator.state

    def set_state(self, state):
        self.numpy.bit_generator.state = state


def manual_seed(seed):
    """Seed the global stream (NumPy's global RNG: ``np.random.seed(seed)``)."""
    global _initial_seed
    _initial_seed = _check_seed("manual_seed", seed)
    np.random.seed(_initial_seed % 2 ** 32)  # NumPy's legacy seeds are 32-bit


def seed():
    """Seed the global stream from the OS; returns the seed."""
    value = int(np.random.SeedSequence().entropy) % 2 ** 32
    manual_seed(value)
    return value


def initial_seed():
    """The seed last given to ``manual_seed`` (or ``seed``); None if neither was called."""
    return _initial_seed


def source(generator=None, who="generator"):
    """What draws the numbers: ``generator``'s NumPy Generator (``generator`` may also be a
    NumPy Generator itself), or the ``np.random`` module (the global stream). Each has
    ``standard_normal``, ``random``, ``uniform``, ``normal``, ``permutation`` and ``choice``."""
    if generator is None:
        return np.random
    if isinstance(generator, np.random.Generator):
        return generator
    if not isinstance(generator, Generator):
        raise TypeError(f"{who}: generator must be a jitgrad.Generator, got "
                        f"{type(generator).__name__}")
    return generator.numpy


def numpy_generator(generator=None):
    """A NumPy ``np.random.Generator`` for ``generator``: its own stream, or for the global
    stream a new one seeded by one draw from it (so ``manual_seed`` makes it reproducible).
    For code that wants NumPy's Generator API (a data loader's shuffles)."""
    if generator is not None:
        return source(generator)
    return np.random.default_rng(np.random.randint(0, 2 ** 31 - 1))


def integers(rng, low, high, size):
    """Integers in [low, high) from a ``source``: NumPy's Generator and the legacy global RNG
    name the call differently."""
    if rng is np.random:
        return np.random.randint(low, high, size=size, dtype=np.int64)
    return rng.integers(low, high, size=size, dtype=np.int64)


def _check_seed(who, seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{who}: the seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        seed = seed % 2 ** 64  # PyTorch accepts negative seeds the same way
    return int(seed)
