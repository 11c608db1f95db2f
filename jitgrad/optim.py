"""Optimizers: the book's SGD (plus optional momentum and weight decay), Adam, and gradient
clipping. Every update happens in place, in each parameter's own dtype."""
import numpy as np

from kernels import optim as k

from .dtypes import describe


class Optimizer:
    """Updates ``parameters`` (a list of Tensors, kept as given) from their gradients.

    ``weight_decay`` adds ``weight_decay * p`` to each gradient before the update (L2).
    Subclasses define ``update(index, p, grad)``.
    """

    def __init__(self, parameters, alpha, weight_decay=0.0):
        name = type(self).__name__
        if not alpha > 0:
            raise ValueError(f"{name}: alpha (learning rate) must be positive, got {alpha!r}")
        if not weight_decay >= 0:
            raise ValueError(f"{name}: weight_decay must be >= 0, got {weight_decay!r}")
        self.parameters = parameters
        self.alpha, self.weight_decay = alpha, weight_decay

    def zero(self):
        """Set every gradient to 0, keeping its buffer (backward then adds into it)."""
        for p in self.parameters:
            if p.grad is not None:
                p.grad.data.fill(0)

    def step(self, zero=True):
        """Update every parameter, then zero the gradients unless ``zero=False``.

        Raises, changing nothing, if any parameter has no gradient (it was not used in the
        graph that was back-propagated).
        """
        for index, p in enumerate(self.parameters):
            if p.grad is None:
                raise RuntimeError(
                    f"{type(self).__name__}.step: parameter {index} ({describe(p.data)}) has no "
                    "gradient; call backward() on a loss that depends on it, or leave it out of "
                    "the optimizer")
        for index, p in enumerate(self.parameters):
            if self.fused_step(p, zero):
                continue
            grad = p.grad.data
            if self.weight_decay:
                grad = grad + self.weight_decay * p.data
            self.update(index, p, grad)
            if zero:
                p.grad.data.fill(0)

    def fused_step(self, p, zero):
        """Update ``p`` and zero its gradient (if ``zero``) in one kernel pass, where the
        optimizer has such a kernel; returns whether it did."""
        return False

    def update(self, index, p, grad):
        """Change ``p.data`` in place given its gradient ``grad`` (weight decay included)."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= alpha * grad`` (the book's, with the defaults).

    With ``momentum`` m > 0 each parameter keeps a velocity ``v = m * v + grad`` (starting
    at 0) and steps ``p -= alpha * v``, as PyTorch's SGD without dampening.
    """

    def __init__(self, parameters, alpha=0.1, momentum=0.0, weight_decay=0.0):
        super().__init__(parameters, alpha, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self.velocities = {}  # parameter index -> velocity array

    def fused_step(self, p, zero):
        if self.momentum or self.weight_decay or not _one_float_layout(p):
            return False
        # alpha in the parameter's dtype, as NumPy's ``p.data -= p.grad.data * alpha`` takes
        # it: float32 steps round as the book's do, and the loop runs at float32's SIMD width
        alpha = p.data.dtype.type(self.alpha)
        k.sgd_step(p.data.reshape(-1), p.grad.data.reshape(-1), alpha, bool(zero))
        return True

    def update(self, index, p, grad):
        if self.momentum:
            if index not in self.velocities:
                self.velocities[index] = np.zeros_like(p.data)
            velocity = self.velocities[index]
            velocity *= self.momentum
            velocity += grad
            grad = velocity
        p.data -= np.asarray(self.alpha * grad, dtype=p.data.dtype)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with bias-corrected moment estimates:

    m = b1 * m + (1 - b1) * grad;  v = b2 * v + (1 - b2) * grad**2   (both start at 0)
    p -= alpha * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)   at this parameter's step t
    """

    def __init__(self, parameters, alpha=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(parameters, alpha, weight_decay)
        if not all(0 <= beta < 1 for beta in betas) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.betas, self.eps = tuple(betas), eps
        self.moments = {}  # parameter index -> [m, v, t]

    def update(self, index, p, grad):
        b1, b2 = self.betas
        if index not in self.moments:
            self.moments[index] = [np.zeros_like(p.data), np.zeros_like(p.data), 0]
        moments = self.moments[index]
        m, v, _ = moments
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        moments[2] += 1
        t = moments[2]
        denominator = np.sqrt(v / (1 - b2 ** t)) + self.eps
        p.data -= np.asarray(self.alpha / (1 - b1 ** t) * m / denominator, dtype=p.data.dtype)


def _one_float_layout(p):
    """Whether ``p`` and its gradient are float arrays of one dtype and shape, C-contiguous
    (what the one-pass kernels need)."""
    return (p.data.dtype == p.grad.data.dtype and p.data.dtype.kind == "f"
            and p.data.flags.c_contiguous and p.grad.data.flags.c_contiguous
            and p.data.shape == p.grad.data.shape)


def clip_grad_norm(parameters, max_norm):
    """Scale the gradients of ``parameters`` together, in place, so that their global L2 norm
    (all gradients as one vector) is at most ``max_norm``; returns the norm before clipping.

    Parameters without a gradient are skipped. Clipping keeps the update's direction and
    stops one exploding step (common in recurrent nets) from wrecking the weights.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm!r}")
    grads = [p.grad.data for p in parameters if p.grad is not None]
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if norm > max_norm:
        scale = max_norm / norm
        for grad in grads:
            grad *= scale
    return norm
