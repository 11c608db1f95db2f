"""PyTorch's module-level math, ``jitgrad.exp(x)``, ``jitgrad.sum(x, 1)``, ...: the op
registry's functions, under their registered names (so ``jitgrad.exp`` is ``Tensor.exp``).

Listed here once; ``jitgrad/__init__.py`` re-exports them.
"""
from jitgrad.ops import registry

#: The registered ops PyTorch also has as ``torch.<name>(tensor, ...)``.
NAMES = ("abs", "add", "amax", "amin", "argmax", "argmin", "cat", "chunk", "clamp", "clone",
         "cos", "div", "exp", "flatten", "log", "log10", "log_softmax", "matmul", "max", "mean",
         "min", "mm", "mul", "neg", "permute", "pow", "relu", "reshape", "sigmoid", "sin",
         "softmax", "split", "sqrt", "squeeze", "stack", "sub", "sum", "tanh", "transpose",
         "unsqueeze", "where")

globals().update({name: registry.SPECS[name].function for name in NAMES})
