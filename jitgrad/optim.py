"""The book's optimizer: plain stochastic gradient descent."""
import numpy as np

from kernels import optim as k

from .ops.base import describe


class SGD:
    """p.data -= alpha * p.grad.data for every parameter, in place."""

    def __init__(self, parameters, alpha=0.1):
        self.parameters = parameters
        self.alpha = alpha

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
                    f"SGD.step: parameter {index} ({describe(p.data)}) has no gradient; call "
                    "backward() on a loss that depends on it, or leave it out of the optimizer")
        for p in self.parameters:
            if _fused_update_applies(p):
                k.sgd_step(p.data.reshape(-1), p.grad.data.reshape(-1), float(self.alpha), bool(zero))
            else:
                p.data -= np.asarray(self.alpha * p.grad.data, dtype=p.data.dtype)
                if zero:
                    p.grad.data.fill(0)


def _fused_update_applies(p):
    """The one-pass kernel needs float data and gradient of one dtype, both C-contiguous."""
    return (p.data.dtype == p.grad.data.dtype and p.data.dtype.kind == "f"
            and p.data.flags.c_contiguous and p.grad.data.flags.c_contiguous
            and p.data.shape == p.grad.data.shape)
