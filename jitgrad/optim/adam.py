"""Adam and AdamW (decoupled weight decay), PyTorch's formulas."""
import math

import numpy as np

from jitgrad.autograd.engine import release_grad
from jitgrad.optim.optimizer import (
    AddressTable,
    Optimizer,
    flat_state,
    learning_rate,
    one_dtype_in_place,
    one_layout,
    run_flat,
    state_array,
)
from kernels import optim as k


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias-corrected moments, as PyTorch computes it:

    g = grad + weight_decay * p;  m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g**2
    p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)   at this parameter's step t
    """

    decoupled = False

    def __init__(self, parameters=None, alpha=None, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=None, *, lr=None, params=None):
        if params is not None:
            parameters = params
        lr = learning_rate(type(self).__name__, lr, alpha, default=0.001)
        if weight_decay is None:
            weight_decay = 0.01 if self.decoupled else 0.0  # PyTorch's defaults
        super().__init__(parameters, dict(lr=lr, betas=tuple(betas), eps=eps,
                                          weight_decay=weight_decay))
        self._coefficient_cache = {}  # id(group) -> (settings and step, coefficients in a dtype)
        self._tables = {}  # id(group) -> its AddressTable

    def check(self, group):
        super().check(group)
        betas = group["betas"]
        if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"{self._name}: betas must be two numbers in [0, 1), got {betas!r}")
        if not group["eps"] >= 0:
            raise ValueError(f"{self._name}: eps must be >= 0, got {group['eps']!r}")

    def update_group(self, params, group, zero):
        """All of ``params`` in one kernel call when they allow it: one dtype, in place, and
        at one step (parameters added to a group later, or frozen a while, are not)."""
        dtype = one_dtype_in_place(params)
        states = [self.state.setdefault(p, {}) for p in params]
        step = states[0].get("step", 0)
        if dtype is None or any(state.get("step", 0) != step for state in states):
            super().update_group(params, group, zero)
            return
        rows = [(p.data, p.grad.data, state_array(state, "exp_avg", p),
                 state_array(state, "exp_avg_sq", p)) for p, state in zip(params, states)]
        table = self._tables.setdefault(id(group), AddressTable()).of(rows)
        if table is None:
            super().update_group(params, group, zero)
            return
        for state in states:
            state["step"] = step + 1
        k.adam_steps(table, self._coefficients(group, step + 1, dtype), self.decoupled, zero)
        if zero:
            for p in params:
                release_grad(p, zeroed=True)

    def update(self, p, group, state, zero):
        state["step"] = step = state.get("step", 0) + 1
        exp_avg, exp_avg_sq = flat_state(state, "exp_avg", p), flat_state(state, "exp_avg_sq", p)
        in_place = one_layout(p)  # then the kernel zeroes the gradient in the same pass
        run_flat(p, k.adam_step, exp_avg, exp_avg_sq, self._coefficients(group, step, p.data.dtype),
                 self.decoupled, zero and in_place)
        return zero and in_place

    def _coefficients(self, group, step, dtype):
        """``adam_step``'s coefficients (9,) in ``dtype``, computed in double as PyTorch does,
        once per step for all the group's parameters of that dtype."""
        key = (step, dtype, group["lr"], group["betas"], group["eps"], group["weight_decay"])
        cached = self._coefficient_cache.get(id(group))
        if cached is None or cached[0] != key:
            lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
            values = (lr / (1 - beta1 ** step), beta1, 1 - beta1, beta2, 1 - beta2, group["eps"],
                      weight_decay, 1 - lr * weight_decay, math.sqrt(1 - beta2 ** step))
            cached = (key, np.array(values, dtype=dtype))
            self._coefficient_cache[id(group)] = cached
        return cached[1]


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``p *= 1 - lr * weight_decay``
    before the Adam step, instead of adding the decay to the gradient. weight_decay defaults to
    0.01, as in PyTorch."""

    decoupled = True
