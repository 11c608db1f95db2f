"""SGD: the book's ``p -= alpha * grad``, plus PyTorch's momentum, Nesterov and weight decay."""
from jitgrad.autograd.engine import release_grad
from jitgrad.optim.optimizer import (
    AddressTable,
    Optimizer,
    flat_state,
    learning_rate,
    one_dtype_in_place,
    one_layout,
    run_flat,
    scalar,
)
from kernels import optim as k


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formula.

    ``SGD(params, lr)`` (or the book's ``SGD(parameters, alpha)``): ``p -= lr * grad``.
    With ``momentum`` m each parameter keeps a velocity ``v = m * v + (1 - dampening) * g``
    (``v = g`` at its first step) and steps ``p -= lr * v`` (``nesterov``: ``lr * (g + m * v)``);
    ``weight_decay`` adds ``weight_decay * p`` to the gradient first.
    """

    def __init__(self, parameters=None, alpha=None, momentum=0.0, dampening=0.0,
                 weight_decay=0.0, nesterov=False, *, lr=None, params=None):
        if params is not None:
            parameters = params
        lr = learning_rate("SGD", lr, alpha, default=0.1)  # the book's default
        super().__init__(parameters, dict(lr=lr, momentum=momentum, dampening=dampening,
                                          weight_decay=weight_decay, nesterov=nesterov))
        self._tables = {}  # id(group) -> its AddressTable

    def check(self, group):
        super().check(group)
        if not 0 <= group["momentum"] < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {group['momentum']!r}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening 0")

    def update_group(self, params, group, zero):
        """The book's step on all of ``params`` in one kernel call when they allow it (one
        dtype, in place, no momentum or weight decay)."""
        dtype = None if group["momentum"] or group["weight_decay"] else one_dtype_in_place(params)
        table = None if dtype is None else self._tables.setdefault(id(group), AddressTable()).of(
            [(p.data, p.grad.data) for p in params])
        if table is None:
            super().update_group(params, group, zero)
            return
        k.sgd_steps(table, dtype.type(group["lr"]), zero)
        if zero:
            for p in params:
                release_grad(p, zeroed=True)

    def update(self, p, group, state, zero):
        if group["momentum"] or group["weight_decay"]:
            first = "momentum_buffer" not in state
            velocity = flat_state(state, "momentum_buffer", p)
            run_flat(p, k.sgd_momentum_step, velocity, scalar(p, group["lr"]),
                     scalar(p, group["momentum"]), scalar(p, 1 - group["dampening"]),
                     scalar(p, group["weight_decay"]), bool(group["nesterov"]), first)
            return False
        if one_layout(p):
            # the book's step and the gradient's zeroing in one pass over memory; lr in the
            # parameter's dtype, as NumPy's ``p.data -= p.grad.data * alpha`` takes it
            k.sgd_step(p.data.reshape(-1), p.grad.data.reshape(-1), scalar(p, group["lr"]), zero)
            return zero
        run_flat(p, k.sgd_step, scalar(p, group["lr"]), False)
        return False
