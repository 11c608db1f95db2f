"""Learning-rate schedulers with PyTorch's names, arguments and sequences.

Make one after its optimizer and call ``scheduler.step()`` after ``optimizer.step()``: once
per epoch, or once per batch for OneCycleLR (``ReduceLROnPlateau.step(metric)`` takes the
validation metric). Each scheduler sets every parameter group's ``lr``; the values equal
PyTorch's, step for step, to rounding. They are computed in closed form from the group's
``initial_lr``, so a learning rate changed by hand is overwritten at the next step.
"""
import bisect
import math

from jitgrad.autograd.recording import recorded


class _State:
    """What every scheduler shares: its last rates and a state dict of its settings."""

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per group."""
        return list(self._last_lr)

    def state_dict(self):
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state):
        vars(self).update(state)


class LRScheduler(_State):
    """Sets each group's ``lr`` to ``lr_at(epoch)`` at every ``step()``; subclasses give it."""

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, epoch):
        """The learning rate of each group at ``epoch`` (0 is the first)."""
        raise NotImplementedError

    @recorded
    def step(self):
        self.last_epoch += 1
        self._last_lr = self.lr_at(self.last_epoch)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch):
        return [base * self.gamma ** (epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (the number of milestones reached by ``epoch``)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch):
        return [base * self.gamma ** bisect.bisect_right(self.milestones, epoch)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch):
        return [base * self.gamma ** epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch):
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = initial_lr * a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then staying there."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError("LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1]")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch):
        progress = min(epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base * factor for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith), stepped once per batch: lr rises from max_lr / div_factor to
    max_lr over the first ``pct_start`` of ``total_steps``, then falls to
    max_lr / div_factor / final_div_factor; momentum (or Adam's beta1) moves the other way,
    between ``max_momentum`` and ``base_momentum``, as in PyTorch when ``cycle_momentum``."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, last_epoch=-1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.phases = [(float(pct_start * total_steps) - 1, "initial_lr", "max_lr",
                        "max_momentum", "base_momentum"),
                       (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self.cycle_momentum = cycle_momentum
        for group in optimizer.param_groups:
            group["initial_lr"] = max_lr / div_factor
            group["max_lr"], group["min_lr"] = max_lr, max_lr / div_factor / final_div_factor
            if cycle_momentum:
                if "betas" not in group and "momentum" not in group:
                    raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with "
                                     "momentum or betas")
                group["max_momentum"], group["base_momentum"] = max_momentum, base_momentum
                _set_momentum(group, max_momentum)
        super().__init__(optimizer, last_epoch)

    @recorded
    def step(self):
        if self.last_epoch + 1 > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {self.last_epoch + 1} times, but total_steps "
                             f"is {self.total_steps}")
        super().step()
        if self.cycle_momentum:
            for group in self.optimizer.param_groups:
                _set_momentum(group, self._value(group, self.last_epoch, momentum=True))

    def lr_at(self, epoch):
        return [self._value(group, epoch) for group in self.optimizer.param_groups]

    def _value(self, group, step, momentum=False):
        start_step = 0.0
        for index, (end_step, start_lr, end_lr, start_m, end_m) in enumerate(self.phases):
            if step <= end_step or index == len(self.phases) - 1:
                fraction = (step - start_step) / (end_step - start_step)
                start, end = (start_m, end_m) if momentum else (start_lr, end_lr)
                return self._anneal(group[start], group[end], fraction)
            start_step = end_step

    def _anneal(self, start, end, fraction):
        if self.anneal_strategy == "linear":
            return (end - start) * fraction + start
        return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)


def _set_momentum(group, value):
    if "betas" in group:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class ReduceLROnPlateau(_State):
    """Multiply each group's lr by ``factor`` when ``step(metric)`` has seen no improvement
    for more than ``patience`` steps (then wait ``cooldown`` steps); never below ``min_lr``.
    ``mode='min'`` wants the metric lower, ``'max'`` higher; an improvement must beat the best
    by ``threshold`` (relative in ``'rel'`` threshold_mode, absolute in ``'abs'``)."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau: factor must be < 1.0")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError("ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode "
                             "'rel' or 'abs'")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = (threshold, threshold_mode,
                                                                        cooldown, eps)
        count = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * count
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    @recorded
    def step(self, metric):
        metric = float(metric)
        self.last_epoch += 1
        if self._improves(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _improves(self, metric):
        if self.threshold_mode == "rel":
            scale = 1 - self.threshold if self.mode == "min" else 1 + self.threshold
            bound = self.best * scale
        else:
            bound = self.best - self.threshold if self.mode == "min" else self.best + self.threshold
        return metric < bound if self.mode == "min" else metric > bound

    def _reduce(self):
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            new_lr = max(group["lr"] * self.factor, min_lr)
            if group["lr"] - new_lr > self.eps:
                group["lr"] = new_lr
