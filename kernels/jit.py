"""The decorators every kernel uses, so all share the same compile options (the helpers
compiled into kernels inline have theirs in ``vmath``)."""
from numba import njit

#: ``cache=True``: compiled code is stored on disk and reused by later processes.
#: ``nogil=True``: kernels release the GIL, so independent models can train in threads.
#: ``error_model="numpy"``: x / 0 gives inf or NaN as in NumPy, instead of a Python
#: ZeroDivisionError check that would also keep loops from vectorizing.
#: No other ``fastmath`` flags: NaN and inf propagate as NumPy's would.
kernel = njit(cache=True, nogil=True, error_model="numpy")

#: For kernels that sum: ``reassoc`` lets LLVM split a running sum into SIMD lanes (a
#: different rounding order, as NumPy's pairwise sums also use), which a strict left-to-right
#: sum forbids. NaN and inf still propagate.
summing_kernel = njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
