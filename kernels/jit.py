"""The one decorator every kernel uses, so all share the same compile options."""
from numba import njit

#: ``cache=True``: compiled code is stored on disk and reused by later processes.
#: ``nogil=True``: kernels release the GIL, so independent models can train in threads.
#: ``error_model="numpy"``: x / 0 gives inf or NaN as in NumPy, instead of a Python
#: ZeroDivisionError check that would also keep loops from vectorizing.
#: No ``fastmath``: results stay IEEE-exact, so NaN and inf propagate as NumPy's would.
kernel = njit(cache=True, nogil=True, error_model="numpy")
