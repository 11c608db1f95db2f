"""Numba kernels behind jitgrad's ops: arrays in, arrays out, no Tensor, no graph.

One module per family of ops, each holding an op's forward kernel beside its backward kernel:

==================  ==========================================================
``elementwise``     add, sub, mul, div, neg (equal-shape flat arrays)
``strided``         NumPy broadcasting of add/sub/mul/div, sums and max/min over
                    any dims, and their backwards
``unary``           exp, log, sqrt, abs, clamp, powers, forward and backward
``matmul``          mm and the two products of its backward
``broadcast``       expand and sum over one dim (each other's backward)
``activations``     sigmoid, tanh, relu, leaky_relu, gelu, forward and backward
``softmax``         softmax, log_softmax and cross-entropy, forward and backward
``losses``          the book's squared error and binary cross-entropy of logits
``normalization``   layer norm and batch norm, forward and backward
``gather``          index_select and its scatter-add backward
==================  ==========================================================

Every kernel is compiled lazily (``cache=True``) on its first call for a dtype, so importing
this package compiles nothing; ``jitgrad.warmup()`` compiles or loads them ahead of time.
The Python side (``jitgrad.ops``) checks shapes, dtypes and index ranges before calling a
kernel: kernels assume valid input and do no bounds checking.
"""
