"""Initialisers with PyTorch's names (``jitgrad.nn.init.xavier_uniform_(layer.weight)``).

Each fills a Tensor's data in place, keeps its dtype, and returns the Tensor. Draws come from
NumPy's global RNG (seed it with ``np.random.seed``, as the book does, or
``jitgrad.manual_seed``), or from ``generator``: a ``jitgrad.Generator`` or an
``np.random.Generator``.

Fans follow PyTorch's layout, where ``nn.Linear.weight`` is (out, in): for a 2-D tensor
fan_in is ``shape[1]`` and fan_out ``shape[0]``; for more dims, the trailing dims are the
receptive field. ``jitgrad.init`` has the same initialisers with the book's (in, out) fans
(``fan_initialisers(book_fans)``), for the book's ``Linear.weight``.
"""
import math


from jitgrad.backend import random

_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
          "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    """PyTorch's recommended gain for ``nonlinearity`` (``leaky_relu`` takes its slope)."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; one of "
                         f"{sorted(_GAINS) + ['leaky_relu']}")
    return _GAINS[nonlinearity]


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.data.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.data.shape))


def constant_(tensor, value):
    tensor.data[...] = value
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def fan_initialisers(fans):
    """(xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_) computing the fans
    of a tensor's shape with ``fans(shape) -> (fan_in, fan_out)``."""

    def xavier_uniform_(tensor, gain=1.0, generator=None):
        """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio)."""
        fan_in, fan_out = _checked_fans("xavier_uniform_", tensor, fans)
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return uniform_(tensor, -bound, bound, generator)

    def xavier_normal_(tensor, gain=1.0, generator=None):
        """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
        fan_in, fan_out = _checked_fans("xavier_normal_", tensor, fans)
        return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)

    def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        """U(-b, b) with b = gain * sqrt(3 / fan) (He et al.); ``a`` is leaky_relu's slope."""
        std = kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
        return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)

    def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        """N(0, std^2) with std = gain / sqrt(fan) (He et al.)."""
        return normal_(tensor, 0.0, kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity),
                       generator)

    def kaiming_std(name, tensor, a, mode, nonlinearity):
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(f"{name}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
        fan_in, fan_out = _checked_fans(name, tensor, fans)
        fan = fan_in if mode == "fan_in" else fan_out
        return calculate_gain(nonlinearity, a) / math.sqrt(fan)

    return xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_


def torch_fans(shape):
    """(fan_in, fan_out) of PyTorch's (out, in, *receptive field) layout."""
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def book_fans(shape):
    """(fan_in, fan_out) of the book's (in, out, *receptive field) layout."""
    fan_out, fan_in = torch_fans(shape)
    return fan_in, fan_out


xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_ = fan_initialisers(torch_fans)


def _calculate_fan_in_and_fan_out(tensor):  # torch's private name, which scripts call
    return _checked_fans("_calculate_fan_in_and_fan_out", tensor, torch_fans)


def _checked_fans(name, tensor, fans):
    shape = tensor.data.shape
    if len(shape) < 2:
        raise ValueError(f"{name}: needs a tensor of at least 2 dims to compute fans, got shape "
                         f"{shape}")
    return fans(shape)


def _fill(tensor, values):
    tensor.data[...] = values.astype(tensor.data.dtype, copy=False)
    return tensor


def _rng(generator):
    return random.source(generator, "init")
