"""What sits between the kernels and the ops: which BLAS runs each product (``gemm``), the
Numba kernel cache (``kernel_cache``), the compute dtypes (``dtypes``), the per-op profiler
(``profiler``) and the write-then-rename every file jitgrad writes goes through (``atomic``).
Imports ``kernels`` only, never the layers above."""
