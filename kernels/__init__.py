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
``recurrent``       a whole LSTM step, its backward, and a window's weight gradients
``optim``           the optimizers' updates (SGD, momentum, Adam/AdamW, RMSprop)
==================  ==========================================================

Helpers: ``jit`` (the ``kernel`` decorators and their compile options), ``vmath`` (exp, tanh,
sigmoid and the normal CDF in forms that vectorize, compiled into the kernels inline),
``blas`` (gemm with accumulation, on the backend chosen per shape class), ``mkl`` (MKL's
gemm through its C address, when the ``mkl`` extra is installed) and ``fingerprint`` (of an
array's bytes: how ``jitgrad.compile`` sees Python change a tensor inside a step).

Every kernel is compiled lazily (``cache=True``) on its first call for a dtype, so importing
this package compiles nothing; ``jitgrad.warmup()`` compiles or loads them ahead of time.
The Python side (``jitgrad.ops``) checks shapes, dtypes and index ranges before calling a
kernel: kernels assume valid input and do no bounds checking.

This folder installs as the top-level package ``kernels``; another package of that name (one
exists on PyPI) would replace it, so ``JITGRAD_KERNELS`` marks it as jitgrad's and jitgrad
refuses to import beside any other.
"""

JITGRAD_KERNELS = True
