"""jitgrad's speed benchmarks (pytest-benchmark): training steps on jitgrad, a book-style NumPy
reference and PyTorch beside their GEMM-only floors, kernels against NumPy, the GEMM peak,
and the Markdown reports ``benchmarks.report`` and ``benchmarks.memory``. See README,
"Benchmarks". ``python -m pytest`` (testpaths = tests) does not run them."""
