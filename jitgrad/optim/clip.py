"""Gradient clipping by global norm."""
import numpy as np

from jitgrad.autograd.recording import recorded


@recorded
def clip_grad_norm(parameters, max_norm):
    """Scale the gradients of ``parameters`` together, in place, so that their global L2 norm
    (all gradients as one vector) is at most ``max_norm``; returns the norm before clipping.

    Parameters without a gradient are skipped. Clipping keeps the update's direction and
    stops one exploding step (common in recurrent nets) from wrecking the weights.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm!r}")
    with_grad = [p for p in parameters if p.grad is not None]
    norm = float(np.sqrt(sum(float(np.vdot(p.grad.data, p.grad.data)) for p in with_grad)))
    if norm > max_norm:
        for p in with_grad:
            _rewrite_grad(p, np.multiply, max_norm / norm)
    return norm


@recorded
def clip_grad_value(parameters, clip_value):
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value: clip_value must be >= 0, got {clip_value!r}")
    for p in parameters:
        if p.grad is not None:
            _rewrite_grad(p, np.clip, -clip_value, clip_value)


def _rewrite_grad(p, function, *args):
    """p.grad's array as ``function(array, *args)``: written in place (it may be a buffer a
    compiled step reuses), or replaced where it is read-only (a view of a constant)."""
    grad = p.grad.data
    if grad.flags.writeable:
        function(grad, *args, out=grad)
    else:
        p.grad.data = function(grad, *args)
