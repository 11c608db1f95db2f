"""Parameter updates: one pass over each parameter and its gradient."""
from .jit import kernel


@kernel
def sgd_step(param, grad, alpha, zero_grad):
    """param -= alpha * grad, then grad = 0 if ``zero_grad``; flat (n,) arrays, in place.

    ``alpha`` should have param's dtype: a float64 alpha makes float32 steps compute in float64.
    """
    for i in range(param.size):
        param[i] -= alpha * grad[i]
        if zero_grad:
            grad[i] = 0
