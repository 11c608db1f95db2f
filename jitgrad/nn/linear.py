"""Linear (PyTorch's: weight (out, in)) and Identity."""
import math

import numpy as np

from jitgrad.backend.dtypes import pytorch_parameter_dtype
from jitgrad.nn import functional, init
from jitgrad.nn.module import Layer
from jitgrad.nn.parameter import Parameter


class Identity(Layer):
    """Its input, unchanged: a placeholder where a model may or may not have a layer."""

    def __init__(self, *args, **kwargs):  # torch's takes and ignores any arguments
        super().__init__()

    def forward(self, input):  # noqa: A002
        return input

    def extra_repr(self):
        return ""


class Linear(Layer):
    """PyTorch's ``nn.Linear``: input (..., in_features) -> input @ weight.T + bias,
    (..., out_features), one fused op.

    weight (out_features, in_features) ~ kaiming_uniform_(a=sqrt(5)), i.e.
    U(-1/sqrt(in), 1/sqrt(in)), and bias (out_features,) ~ U(-1/sqrt(in), 1/sqrt(in)), as
    PyTorch's ``reset_parameters``; float32 unless ``dtype`` or ``set_default_dtype`` says
    otherwise. (The book's ``jitgrad.Linear`` keeps its (in, out) weight and He init.)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = pytorch_parameter_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # noqa: A002
        return functional.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
