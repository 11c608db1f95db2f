"""A 64-bit fingerprint of an array's bytes: how ``jitgrad.compile``'s recording sees Python
change a tensor between the ops it records (it fingerprints each watched tensor, and again
later, instead of keeping a copy to compare with: half the memory traffic, and no second
copy of every parameter while a step is confirmed)."""
import numpy as np

from .jit import kernel
from .vmath import inline

#: splitmix64's odd multiplier and golden-ratio step: each word is offset by its position,
#: then mixed by a bijection of 64-bit words, so the fingerprint depends on where bytes are
MIX = np.uint64(0xBF58476D1CE4E5B9)
STEP = np.uint64(0x9E3779B97F4A7C15)


@inline
def _mixed(value, position):
    """A bijection of 64-bit words applied to ``value`` offset by its position."""
    x = value + np.uint64(position) * STEP
    x ^= x >> np.uint64(31)
    x *= MIX
    return x ^ (x >> np.uint64(29))


@kernel
def fingerprint(data):
    """The sum, modulo 2**64, of mix(value + position * STEP) over the 8-byte words of the
    byte array ``data``, shape (n,), then over the bytes after the last whole word; a uint64.

    mix (x ^= x >> 31, x *= MIX, x ^= x >> 29) is one-to-one, so changing any one word or
    byte always changes the sum; several changes leave it equal with odds of about 2**-64,
    moved bytes included (their offsets differ). One read of the data, vectorized: about as
    fast as comparing it with a copy, which reads twice as much."""
    words = data.size // 8
    packed = data[:words * 8].view(np.uint64)
    total = np.uint64(0)
    for i in range(words):
        total += _mixed(packed[i], i)
    for i in range(words * 8, data.size):
        total += _mixed(np.uint64(data[i]), i)
    return total
