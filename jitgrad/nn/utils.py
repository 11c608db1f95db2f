"""``jitgrad.nn.utils``: ``clip_grad_norm_`` and ``clip_grad_value_``, PyTorch's names for
gradient clipping (``jitgrad.optim.clip_grad_norm`` is the same L2 clipping)."""
import numpy as np

from jitgrad.autograd.recording import recorded
from jitgrad.autograd.tensor import Tensor
from jitgrad.optim.clip import clip_grad_norm


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale the gradients together so that their global L2 norm is at most ``max_norm``;
    returns the norm before clipping (a 0-d Tensor, as PyTorch's)."""
    if norm_type != 2.0:
        raise ValueError(f"clip_grad_norm_: only norm_type=2 is supported, got {norm_type!r}")
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return Tensor(np.asarray(clip_grad_norm(parameters, max_norm)))


@recorded
def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in parameters:
        if p.grad is not None:
            p.grad.data = np.clip(p.grad.data, -clip_value, clip_value)
