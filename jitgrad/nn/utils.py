"""``jitgrad.nn.utils``: ``clip_grad_norm_`` and ``clip_grad_value_``, PyTorch's names and
return values for ``jitgrad.optim.clip``'s gradient clipping."""
import numpy as np

from jitgrad.autograd.tensor import Tensor
from jitgrad.optim.clip import clip_grad_norm, clip_grad_value


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale the gradients together so that their global L2 norm is at most ``max_norm``;
    returns the norm before clipping (a 0-d Tensor, as PyTorch's)."""
    if norm_type != 2.0:
        raise ValueError(f"clip_grad_norm_: only norm_type=2 is supported, got {norm_type!r}")
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return Tensor(np.asarray(clip_grad_norm(parameters, max_norm)))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    clip_grad_value(parameters, clip_value)
