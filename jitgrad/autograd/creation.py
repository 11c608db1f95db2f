"""Tensors made from a shape: zeros, ones, randn, zeros_like and ones_like.

``dtype`` defaults to ``jitgrad.backend.dtypes.get_default_dtype()`` (float64 unless set), or the
other tensor's dtype for the ``_like`` ones; ``autograd`` (or PyTorch's ``requires_grad``)
makes a leaf that gradients flow to. randn draws from NumPy's global RNG (``np.random.seed``).
"""
import numpy as np

from jitgrad.autograd.tensor import Tensor
from jitgrad.backend.dtypes import get_default_dtype


def _shape(size):
    """zeros(2, 3) and zeros((2, 3)) alike."""
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _tensor(array, autograd, requires_grad):
    return Tensor.wrap(array, autograd=bool(autograd if requires_grad is None else requires_grad))


def zeros(*size, dtype=None, autograd=False, requires_grad=None):
    """A tensor of zeros of shape ``size``."""
    return _tensor(np.zeros(_shape(size), dtype=dtype or get_default_dtype()), autograd,
                   requires_grad)


def ones(*size, dtype=None, autograd=False, requires_grad=None):
    """A tensor of ones of shape ``size``."""
    return _tensor(np.ones(_shape(size), dtype=dtype or get_default_dtype()), autograd,
                   requires_grad)


def randn(*size, dtype=None, autograd=False, requires_grad=None):
    """A tensor of shape ``size`` drawn from the standard normal distribution."""
    array = np.random.standard_normal(_shape(size)).astype(dtype or get_default_dtype())
    return _tensor(array, autograd, requires_grad)


def zeros_like(other, dtype=None, autograd=False, requires_grad=None):
    """Zeros of ``other``'s shape (and dtype, unless given)."""
    return _tensor(np.zeros(other.shape, dtype=dtype or other.dtype), autograd, requires_grad)


def ones_like(other, dtype=None, autograd=False, requires_grad=None):
    """Ones of ``other``'s shape (and dtype, unless given)."""
    return _tensor(np.ones(other.shape, dtype=dtype or other.dtype), autograd, requires_grad)
