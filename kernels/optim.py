"""Parameter updates: one pass over each parameter, its gradient and its optimizer state.

Every array is flat (n,) and C-contiguous, updated in place; scalars should have the
parameter's dtype, so that float32 steps compute (and vectorize) in float32. The formulas and
the order of their operations are PyTorch's, so the two agree to rounding.
"""
import numpy as np

from .jit import kernel


@kernel
def sgd_step(param, grad, alpha, zero_grad):
    """param -= alpha * grad, then grad = 0 if ``zero_grad`` (the book's SGD)."""
    for i in range(param.size):
        param[i] -= alpha * grad[i]
        if zero_grad:
            grad[i] = 0


@kernel
def sgd_momentum_step(param, grad, velocity, lr, momentum, dampening, weight_decay, nesterov,
                      first):
    """PyTorch's SGD with momentum: g = grad + wd * param; v = g on the ``first`` step, else
    momentum * v + (1 - dampening) * g; param -= lr * (g + momentum * v if nesterov else v)."""
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i]
        if first:
            velocity[i] = g
        else:
            velocity[i] = momentum * velocity[i] + (1 - dampening) * g
        if nesterov:
            g = g + momentum * velocity[i]
        else:
            g = velocity[i]
        param[i] -= lr * g


@kernel
def adam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
              bias_correction1, bias_correction2_sqrt, decoupled, zero_grad):
    """Adam (``decoupled`` False: weight decay added to the gradient) or AdamW (True:
    param *= 1 - lr * wd first); then m, v updated and param -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps);
    then grad = 0 if ``zero_grad`` (in the same pass over memory)."""
    step_size = lr / bias_correction1
    for i in range(param.size):
        g = grad[i]
        if decoupled:
            param[i] *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param[i]
        exp_avg[i] = beta1 * exp_avg[i] + (1 - beta1) * g
        exp_avg_sq[i] = beta2 * exp_avg_sq[i] + (1 - beta2) * g * g
        denominator = np.sqrt(exp_avg_sq[i]) / bias_correction2_sqrt + eps
        param[i] -= step_size * exp_avg[i] / denominator
        if zero_grad:
            grad[i] = 0


@kernel
def rmsprop_step(param, grad, square_avg, lr, alpha, eps, weight_decay):
    """RMSprop: v = alpha * v + (1 - alpha) * g^2; param -= lr * g / (sqrt(v) + eps)."""
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i]
        square_avg[i] = alpha * square_avg[i] + (1 - alpha) * g * g
        param[i] -= lr * g / (np.sqrt(square_avg[i]) + eps)
