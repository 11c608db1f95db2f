"""RMSprop, PyTorch's formula (without momentum or centering)."""
from jitgrad.optim.optimizer import Optimizer, flat_state, run_flat, scalar
from kernels import optim as k


class RMSprop(Optimizer):
    """v = alpha * v + (1 - alpha) * g**2;  p -= lr * g / (sqrt(v) + eps), with
    g = grad + weight_decay * p.

    As in PyTorch, ``alpha`` here is the smoothing constant, not the learning rate (``lr``):
    the book has no RMSprop, so PyTorch's names apply.
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay))

    def check(self, group):
        super().check(group)
        if not 0 <= group["alpha"] <= 1:
            raise ValueError(f"RMSprop: alpha (smoothing) must be in [0, 1], got {group['alpha']!r}")
        if not group["eps"] >= 0:
            raise ValueError(f"RMSprop: eps must be >= 0, got {group['eps']!r}")

    def update(self, p, group, state, zero):
        square_avg = flat_state(state, "square_avg", p)
        run_flat(p, k.rmsprop_step, square_avg, scalar(p, group["lr"]), scalar(p, group["alpha"]),
                 scalar(p, 1 - group["alpha"]), scalar(p, group["eps"]),
                 scalar(p, group["weight_decay"]))
        return False
