"""Each kernel gives the plain NumPy expression's result, in the input's dtype
(the cases of ``benchmarks/kernel_cases.py``, which the kernel benchmarks time)."""
import numpy as np
import pytest

from benchmarks.kernel_cases import CASES, assert_same

PAIRS = [(case, dtype) for case in CASES for dtype in ("float32", "float64")]


@pytest.mark.parametrize("case, dtype", PAIRS, ids=[f"{c.module}.{c.name}-{d}" for c, d in PAIRS])
def test_kernel_agrees_with_numpy(case, dtype):
    kernel = case.kernel()
    assert kernel is not None, f"kernels.{case.module}.{case.name} is gone: update kernel_cases"
    args = case.make_args(np.random.default_rng(0), np.dtype(dtype))
    assert_same(kernel(*args), case.numpy_fn(*args), dtype)


@pytest.mark.parametrize("size", [0, 3, 8, 21, 64])
def test_a_fingerprint_sees_any_one_byte_changed_and_bytes_moved(size):
    """Every byte counts: the 8-byte words and the bytes after the last whole word; and where
    it is: two words or two bytes swapped change it too."""
    from kernels.fingerprint import fingerprint
    a = np.arange(size, dtype=np.uint8)
    before = fingerprint(a)
    assert fingerprint(a.copy()) == before
    for position in range(size):
        b = a.copy()
        b[position] ^= 0x80
        assert fingerprint(b) != before, position
    for first, second in [(0, 8), (size - 2, size - 1)]:  # words, then the tail's bytes
        if 0 <= first < second < size:
            b = a.copy()
            b[[first, second]] = b[[second, first]]
            assert fingerprint(b) != before, (first, second)
