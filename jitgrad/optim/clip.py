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
        scale = max_norm / norm
        for p in with_grad:
            if p.grad.data.flags.writeable:
                p.grad.data *= scale
            else:  # a read-only gradient (a view of a constant) is replaced, never written
                p.grad.data = p.grad.data * scale
    return norm
