"""Parameter updates: one pass over each parameter, its gradient and its optimizer state.

Every array is flat (n,) and C-contiguous, updated in place (the ``_steps`` kernels update
many parameters in one call, from a table of their arrays' addresses); scalars should have the
parameter's dtype, so that float32 steps compute (and vectorize) in float32. Complements such
as ``1 - beta1`` come in as scalars too: written in a kernel, the integer 1 would promote a
float32 step to float64 and halve its SIMD width (Adam ran 2x slower). The formulas and the
order of their operations are PyTorch's (which also rounds those complements from double), so
the two agree to rounding.
"""
import numpy as np
from numba import carray, types
from numba.extending import intrinsic, register_jitable

from .jit import kernel


@kernel
def sgd_step(param, grad, alpha, zero_grad):
    """param -= alpha * grad, then grad = 0 if ``zero_grad`` (the book's SGD)."""
    for i in range(param.size):
        param[i] -= alpha * grad[i]
        if zero_grad:
            grad[i] = 0


@kernel
def sgd_momentum_step(param, grad, velocity, lr, momentum, undamped, weight_decay, nesterov,
                      first):
    """PyTorch's SGD with momentum: g = grad + wd * param; v = g on the ``first`` step, else
    momentum * v + undamped * g (``undamped`` = 1 - dampening); param -= lr * (g + momentum * v
    if nesterov else v)."""
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i]
        if first:
            velocity[i] = g
        else:
            velocity[i] = momentum * velocity[i] + undamped * g
        if nesterov:
            g = g + momentum * velocity[i]
        else:
            g = velocity[i]
        param[i] -= lr * g


@kernel
def adam_step(param, grad, exp_avg, exp_avg_sq, coefficients, decoupled, zero_grad):
    """Adam (``decoupled`` False: weight decay wd added to the gradient) or AdamW (True:
    param *= 1 - lr * wd first); then m = b1 * m + (1 - b1) * g, v = b2 * v + (1 - b2) * g**2
    and param -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps); then grad = 0 if ``zero_grad``
    (in the same pass over memory).

    ``coefficients`` (9,), in the parameter's dtype: lr / bc1, b1, 1 - b1, b2, 1 - b2, eps,
    wd, 1 - lr * wd, sqrt(bc2), where bc1 = 1 - b1**t and bc2 = 1 - b2**t at step t.
    """
    step_size, beta1, one_minus_beta1, beta2, one_minus_beta2 = coefficients[:5]
    eps, weight_decay, decay, bias_correction2_sqrt = coefficients[5:]
    for i in range(param.size):
        g = grad[i]
        if decoupled:
            param[i] *= decay
        else:
            g = g + weight_decay * param[i]
        exp_avg[i] = beta1 * exp_avg[i] + one_minus_beta1 * g
        exp_avg_sq[i] = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g
        denominator = np.sqrt(exp_avg_sq[i]) / bias_correction2_sqrt + eps
        param[i] -= step_size * exp_avg[i] / denominator
        if zero_grad:
            grad[i] = 0


@kernel
def rmsprop_step(param, grad, square_avg, lr, alpha, one_minus_alpha, eps, weight_decay):
    """RMSprop: v = alpha * v + (1 - alpha) * g^2; param -= lr * g / (sqrt(v) + eps)."""
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i]
        square_avg[i] = alpha * square_avg[i] + one_minus_alpha * g * g
        param[i] -= lr * g / (np.sqrt(square_avg[i]) + eps)


@kernel
def sgd_steps(table, alpha, zero_grad):
    """``sgd_step`` on many parameters at once: table (parameters, 3) int64, each row the
    addresses of a parameter and its gradient (flat C arrays of ``alpha``'s dtype) and
    their size. One call instead of one per parameter: a small model's step is mostly calls."""
    for row in range(table.shape[0]):
        sgd_step(_array_at(table, row, 0, alpha), _array_at(table, row, 1, alpha), alpha,
                 zero_grad)


@kernel
def adam_steps(table, coefficients, decoupled, zero_grad):
    """``adam_step`` on many parameters at once: table (parameters, 5) int64, each row the
    addresses of a parameter, its gradient, exp_avg and exp_avg_sq (flat C arrays of the
    coefficients' dtype) and their size."""
    like = coefficients[0]
    for row in range(table.shape[0]):
        adam_step(_array_at(table, row, 0, like), _array_at(table, row, 1, like),
                  _array_at(table, row, 2, like), _array_at(table, row, 3, like),
                  coefficients, decoupled, zero_grad)


@register_jitable
def _array_at(table, row, column, like):
    """The flat array at the address ``table[row, column]``, as long as the row's last entry
    says, of ``like``'s type (a scalar)."""
    return carray(_pointer(table[row, column], like), table[row, table.shape[1] - 1])


@intrinsic
def _pointer(typingctx, address, like):
    """``address`` (an int64) as a pointer to values of ``like``'s type (a scalar)."""
    pointer_type = types.CPointer(like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer_type))
    return pointer_type(address, like), codegen
