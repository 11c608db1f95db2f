"""Normalization layers: LayerNorm and BatchNorm1d, over the kernels of
``jitgrad/ops/normalization.py`` (``F.layer_norm``, ``F.batch_norm``)."""
import numbers

import numpy as np

from jitgrad.backend.dtypes import pytorch_parameter_dtype
from jitgrad.nn import functional
from jitgrad.nn.module import Layer
from jitgrad.nn.parameter import Parameter


class LayerNorm(Layer):
    """input (..., *normalized_shape) -> normalized over its last dims, times ``weight``
    plus ``bias`` (both of ``normalized_shape``, ones and zeros at first) when
    ``elementwise_affine``. Parameters are float32 unless ``dtype`` or ``set_default_dtype``
    says otherwise (``jitgrad.LayerNorm``, the book's door, defaults to float64)."""

    parameter_dtype = staticmethod(pytorch_parameter_dtype)

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        dtype = self.parameter_dtype(dtype)
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            self.parameters += [self.weight, self.bias]

    def forward(self, input):  # noqa: A002 -- torch's argument name
        return functional.layer_norm(input, self.normalized_shape, self.weight, self.bias,
                                     self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class BatchNorm1d(Layer):
    """input (batch, num_features) or (batch, num_features, length) -> each feature
    normalized, times ``weight`` plus ``bias`` (ones and zeros at first).

    While training it normalizes by the batch's statistics and moves the running ones
    (``running_mean``, ``running_var``: NumPy arrays) towards them by ``momentum``; in
    ``eval()`` it normalizes by the running statistics. They are buffers, with
    ``num_batches_tracked`` (an int64 0-d array counting the training batches), as in
    PyTorch: saved in ``state_dict()``, the float ones converted by ``to(dtype)``.
    Parameters and statistics are float32 unless ``dtype`` or ``set_default_dtype`` says
    otherwise (``jitgrad.BatchNorm1d``, the book's door, defaults to float64).
    """

    parameter_dtype = staticmethod(pytorch_parameter_dtype)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        dtype = self.parameter_dtype(dtype)
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        self.weight = self.bias = None
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
            self.parameters += [self.weight, self.bias]

    def forward(self, input):  # noqa: A002 -- torch's argument name
        if input.ndim == 3:  # (batch, features, length): every position is a row of features
            batch, features, length = input.shape
            rows = input.permute(0, 2, 1).reshape(batch * length, features)
            return self._normalize(rows).reshape(batch, length, features).permute(0, 2, 1)
        return self._normalize(input)

    def _normalize(self, rows):
        return functional.batch_norm(rows, self.running_mean, self.running_var, self.weight,
                                     self.bias, training=self.training, momentum=self.momentum,
                                     eps=self.eps, num_batches_tracked=self.num_batches_tracked)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}")
