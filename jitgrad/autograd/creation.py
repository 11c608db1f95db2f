"""PyTorch's creation functions: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``, ``ones``,
``full``, ``empty`` and their ``_like`` twins, ``arange``, ``linspace``, ``rand``, ``randn``,
``randint``, ``randperm``, ``multinomial``.

Float tensors default to float32 (PyTorch's default; ``set_default_dtype`` changes it), as
``jitgrad.backend.dtypes.pytorch_parameter_dtype`` says; the book's ``Tensor(...)`` keeps
making float64 from Python floats. Python ints make int64 and bools bool, as in PyTorch.
``autograd`` (the book's name) or ``requires_grad`` makes a leaf that gradients flow to;
``device`` may only be the CPU. Random ones draw from ``generator`` (a ``jitgrad.Generator``)
or the global stream, NumPy's global RNG (``jitgrad.backend.random``).
"""
import builtins
import numbers

import numpy as np

from jitgrad.autograd.tensor import Tensor, as_array
from jitgrad.backend.device import check_device
from jitgrad.backend import random
from jitgrad.backend.dtypes import as_dtype, pytorch_parameter_dtype


def _shape(who, size):
    """zeros(2, 3) and zeros((2, 3)) alike, as a tuple of non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not builtins.all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0
                        for n in size):
        raise TypeError(f"{who}: the size must be non-negative ints, got {size!r}")
    return tuple(int(n) for n in size)


def _float_dtype(who, dtype):
    """``dtype``, or the default float dtype of PyTorch's door."""
    return pytorch_parameter_dtype() if dtype is None else as_dtype(dtype, who)


def _leaf(who, array, autograd=False, requires_grad=None, device=None):
    """``array`` as a new leaf Tensor (not copied); only float tensors may want gradients."""
    check_device(who, device)
    wants_grad = bool(autograd if requires_grad is None else requires_grad)
    if wants_grad and array.dtype.kind != "f":
        raise RuntimeError(f"{who}: only tensors of floating point dtype can require "
                           f"gradients, got {array.dtype}")
    return Tensor.wrap(array, autograd=wants_grad)


def _inferred_dtype(data, array):
    """PyTorch's dtype for ``data``: an array's (or Tensor's) own; for Python numbers and
    lists, int64, bool or the default float dtype."""
    if isinstance(data, (np.ndarray, np.generic, Tensor)):
        return array.dtype
    if array.dtype.kind == "f":
        return pytorch_parameter_dtype()
    return np.dtype(np.int64) if array.dtype.kind in "iu" else array.dtype


def tensor(data, dtype=None, requires_grad=False, device=None, autograd=False):
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, an array or a
    Tensor): float32 from Python floats unless ``dtype`` or ``set_default_dtype`` says
    otherwise, as ``torch.tensor``."""
    array = as_array(data.data if isinstance(data, Tensor) else data, what="tensor: data")
    array = array.astype(as_dtype(dtype, "tensor") if dtype is not None
                         else _inferred_dtype(data, array), copy=False)
    return _leaf("tensor", array, autograd, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a Tensor, sharing memory where it can: a Tensor of that dtype is returned
    as it is, a NumPy array of that dtype is wrapped, not copied."""
    check_device("as_tensor", device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == as_dtype(dtype) else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == as_dtype(dtype)):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array):
    """A Tensor on ``array`` itself: writes to one show in the other, as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}; jitgrad tensors hold "
                        "bool, int or float data")
    return Tensor.wrap(array)


def _filled(who, fill, size, dtype, options):
    return _leaf(who, fill(_shape(who, size), dtype=_float_dtype(who, dtype)), **options)


def zeros(*size, dtype=None, **options):
    """A tensor of zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``)."""
    return _filled("zeros", np.zeros, size, dtype, options)


def ones(*size, dtype=None, **options):
    """A tensor of ones of shape ``size``."""
    return _filled("ones", np.ones, size, dtype, options)


def empty(*size, dtype=None, **options):
    """A tensor of shape ``size`` whose values are whatever the memory held."""
    return _filled("empty", np.empty, size, dtype, options)


def full(size, fill_value, dtype=None, **options):
    """A tensor of shape ``size`` filled with ``fill_value`` (its dtype follows the value: a
    bool gives bool, an int int64, a float the default float dtype)."""
    if dtype is None:
        dtype = _inferred_dtype(fill_value, np.asarray(fill_value))
    return _leaf("full", np.full(_shape("full", (size,)), fill_value,
                                 dtype=as_dtype(dtype, "full")), **options)


def _like(who, fill, other, dtype, options):
    return _leaf(who, fill(other.shape, dtype=other.dtype if dtype is None else as_dtype(dtype, who)),
                 **options)


def zeros_like(other, dtype=None, **options):
    """Zeros of ``other``'s shape (and dtype, unless given)."""
    return _like("zeros_like", np.zeros, other, dtype, options)


def ones_like(other, dtype=None, **options):
    """Ones of ``other``'s shape (and dtype, unless given)."""
    return _like("ones_like", np.ones, other, dtype, options)


def empty_like(other, dtype=None, **options):
    """An uninitialised tensor of ``other``'s shape (and dtype, unless given)."""
    return _like("empty_like", np.empty, other, dtype, options)


def full_like(other, fill_value, dtype=None, **options):
    """``fill_value`` in ``other``'s shape (and dtype, unless given)."""
    return _leaf("full_like", np.full(other.shape, fill_value, dtype=other.dtype if dtype is None
                                      else as_dtype(dtype, "full_like")), **options)


def arange(start, end=None, step=1, dtype=None, **options):
    """``start``, ``start + step``, ... up to ``end`` (excluded); ``arange(n)`` counts from 0.
    int64 when every bound is an int, else the default float dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    integral = builtins.all(isinstance(v, numbers.Integral) for v in (start, end, step))
    if dtype is None:
        dtype = np.int64 if integral else pytorch_parameter_dtype()
    return _leaf("arange", np.arange(start, end, step, dtype=as_dtype(dtype, "arange")), **options)


def linspace(start, end, steps, dtype=None, **options):
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    return _leaf("linspace", np.linspace(start, end, steps, dtype=_float_dtype("linspace", dtype)),
                 **options)


def rand(*size, generator=None, dtype=None, **options):
    """Uniform samples in [0, 1) of shape ``size``."""
    array = random.source(generator, "rand").random(_shape("rand", size))
    return _leaf("rand", np.asarray(array, dtype=_float_dtype("rand", dtype)), **options)


def randn(*size, generator=None, dtype=None, **options):
    """Standard normal samples of shape ``size``."""
    array = random.source(generator, "randn").standard_normal(_shape("randn", size))
    return _leaf("randn", np.asarray(array, dtype=_float_dtype("randn", dtype)), **options)


def rand_like(other, dtype=None, generator=None, **options):
    """Uniform samples in [0, 1) of ``other``'s shape (and dtype, unless given)."""
    return rand(*other.shape, generator=generator, dtype=dtype or other.dtype, **options)


def randn_like(other, dtype=None, generator=None, **options):
    """Standard normal samples of ``other``'s shape (and dtype, unless given)."""
    return randn(*other.shape, generator=generator, dtype=dtype or other.dtype, **options)


def randint(low, high=None, size=None, generator=None, dtype=None, **options):
    """Integers in [low, high) of shape ``size`` (int64); ``randint(high, size)`` starts at 0,
    as PyTorch's overloads do."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: give the size, e.g. randint(0, 10, (3,))")
    if high is None or high <= low:
        raise ValueError(f"randint: high ({high}) must be larger than low ({low})")
    array = random.integers(random.source(generator, "randint"), low, high,
                            _shape("randint", (size,)))
    return _leaf("randint", array.astype(as_dtype(dtype or np.int64, "randint"), copy=False),
                 **options)


def randperm(n, generator=None, dtype=None, **options):
    """A random permutation of 0 .. n - 1 (int64)."""
    array = random.source(generator, "randperm").permutation(n)
    return _leaf("randperm", array.astype(as_dtype(dtype or np.int64, "randperm")), **options)


def multinomial(input, num_samples, replacement=False, generator=None):  # noqa: A002 -- torch's name
    """``num_samples`` indices drawn for each row of ``input`` (non-negative weights, 1-d or
    2-d), with probabilities proportional to the weights; int64, as ``torch.multinomial``."""
    weights = np.asarray(input.data if isinstance(input, Tensor) else input, dtype=np.float64)
    if weights.ndim not in (1, 2) or (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError(f"multinomial: input must be a 1-d or 2-d tensor of finite, "
                         f"non-negative weights, got shape {weights.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if (rows.sum(axis=1) <= 0).any():
        raise ValueError("multinomial: every row of weights must have a positive sum")
    if not replacement and num_samples > (rows > 0).sum(axis=1).min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         "from a row with fewer non-zero weights")
    rng = random.source(generator, "multinomial")
    drawn = np.stack([rng.choice(row.size, num_samples, replace=replacement, p=row / row.sum())
                      for row in rows]).astype(np.int64)
    return Tensor.wrap(drawn.reshape(*weights.shape[:-1], num_samples))
