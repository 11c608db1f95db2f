"""L-BFGS, PyTorch's algorithm (torch.optim.LBFGS), on the parameters' NumPy arrays.

Each ``step(closure)`` runs up to ``max_iter`` quasi-Newton iterations: the search direction
from the last ``history_size`` (step, gradient change) pairs by the two-loop recursion, then a
fixed step ``lr`` or PyTorch's strong-Wolfe line search (cubic interpolation, c1=1e-4, c2=0.9).
The stopping rules, the first step's size ``min(1, 1 / |g|_1) * lr`` and the evaluation
budget are PyTorch's, so that a float64 run follows PyTorch's iterates step for step.
All parameters are treated as one flat vector (one dtype; one parameter group).
"""
import copy

import numpy as np

from jitgrad.autograd.recording import recorded
from jitgrad.backend.dtypes import describe
from jitgrad.optim.optimizer import Optimizer, run_closure

LINE_SEARCHES = (None, "strong_wolfe")


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None (max_iter * 5 // 4),
    tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100, line_search_fn=None)``.

    ``step(closure)`` needs the closure (it evaluates the loss and gradient several times);
    it returns the loss of the closure's first call. The state (directions, steps and the
    last gradient, flat) lives under the first parameter, as in PyTorch.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: parameter groups are not supported (give one list of "
                             "parameters)")
        self._params = self.param_groups[0]["params"]
        dtypes = {p.data.dtype for p in self._params}
        if len(dtypes) != 1:
            raise TypeError("LBFGS: parameters must share one dtype (they are one flat vector), "
                            f"got {', '.join(describe(p.data) for p in self._params)}")

    def check(self, group):
        super().check(group)
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"LBFGS: {name} must be an int >= 1, got {value!r}")
        if group["line_search_fn"] not in LINE_SEARCHES:
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{group['line_search_fn']!r}")

    # --- the parameters as one flat vector ---------------------------------------------
    def _check_writeable(self):
        """Raise, before the closure runs, if a parameter cannot be updated in place."""
        for index, p in enumerate(self._params):
            if not p.data.flags.writeable:
                raise ValueError(f"LBFGS.step: parameter {index} ({describe(p.data)}) is a "
                                 "read-only array; give it a writeable copy: "
                                 "p.data = p.data.copy()")

    def _flat_grad(self):
        """Every parameter's gradient, flat and joined (zeros for one without a gradient)."""
        return np.concatenate([np.zeros(p.data.size, p.data.dtype) if p.grad is None
                               else p.grad.data.reshape(-1).astype(p.data.dtype, copy=False)
                               for p in self._params])

    def _add_to_params(self, step_size, direction):
        """params += step_size * direction (flat), in place."""
        offset = 0
        for p in self._params:
            part = direction[offset:offset + p.data.size].reshape(p.data.shape)
            p.data += step_size * part
            offset += p.data.size

    def _copy_params(self):
        return [p.data.copy() for p in self._params]

    def _set_params(self, arrays):
        for p, array in zip(self._params, arrays):
            p.data[...] = array

    def _evaluate_at(self, closure, start, t, d):
        """Loss and flat gradient at ``start + t * d``; the parameters are put back to
        ``start`` afterwards."""
        self._add_to_params(t, d)
        loss = _as_float(run_closure(closure))
        flat_grad = self._flat_grad()
        self._set_params(start)
        return loss, flat_grad

    # --- the step ----------------------------------------------------------------------
    @recorded
    def step(self, closure=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the closure's first loss."""
        if not callable(closure):
            raise TypeError("LBFGS.step: needs a closure that re-evaluates the model, calls "
                            "backward and returns the loss: optimizer.step(closure)")
        self._check_writeable()
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = run_closure(closure)
        loss = _as_float(first_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return first_loss

        d, t = state.get("d"), state.get("t")
        history = state.get("history")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        iteration = 0
        while iteration < max_iter:
            iteration += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                history = _History(group["history_size"])
            else:
                history.add(flat_grad - prev_flat_grad, d * t)
                d = history.direction(flat_grad)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            # the first step is scaled down by the gradient's size, later ones are lr
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            evals_here, optimal = 0, False
            if group["line_search_fn"] == "strong_wolfe":
                start = self._copy_params()
                # the search's own tolerance_change stays at its default, as PyTorch calls it
                loss, flat_grad, t, evals_here = _strong_wolfe(
                    lambda x, step, direction: self._evaluate_at(closure, x, step, direction),
                    start, t, d, loss, flat_grad, gtd, max_ls=max_eval - evals)
                self._add_to_params(t, d)
                optimal = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_to_params(t, d)
                if iteration != max_iter:  # the last iteration's loss is the next step's first
                    loss = _as_float(run_closure(closure))
                    flat_grad = self._flat_grad()
                    optimal = np.abs(flat_grad).max() <= tolerance_grad
                    evals_here = 1
            evals += evals_here
            state["func_evals"] += evals_here

            if (iteration == max_iter or evals >= max_eval or optimal
                    or np.abs(d * t).max() <= tolerance_change
                    or abs(loss - prev_loss) < tolerance_change):
                break

        state.update(d=d, t=t, history=history, prev_flat_grad=prev_flat_grad,
                     prev_loss=prev_loss)
        return first_loss

    def load_state_dict(self, state_dict):
        """Settings and state from ``state_dict()`` of an LBFGS over parameters of the same
        sizes. Raises ValueError, changing nothing, if it does not fit."""
        size = sum(p.data.size for p in self._params)
        for values in state_dict["state"].values():
            for name, value in values.items():
                if isinstance(value, np.ndarray) and value.size != size:
                    raise ValueError(f"LBFGS.load_state_dict: state {name!r} is "
                                     f"{describe(value)}, the parameters have {size} elements")
        (saved,) = state_dict["param_groups"]
        self.param_groups[0].update({k: v for k, v in saved.items() if k != "params"})
        states = list(copy.deepcopy(state_dict["state"]).values())  # at most the first's
        self.state = {self._params[0]: states[0]} if states else {}


class _History:
    """The last ``size`` curvature pairs (y: gradient change, s: step) that L-BFGS keeps, and
    the diagonal scale of the initial inverse Hessian."""

    def __init__(self, size):
        self.size, self.ys, self.ss, self.rhos, self.scale = size, [], [], [], 1.0

    def add(self, y, s):
        """Keep the pair if the curvature ``y . s`` is clearly positive (PyTorch: > 1e-10)."""
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.ys) == self.size:
                del self.ys[0], self.ss[0], self.rhos[0]
            self.ys.append(y)
            self.ss.append(s)
            self.rhos.append(1.0 / ys)
            self.scale = ys / y.dot(y)

    def direction(self, flat_grad):
        """-H @ flat_grad by the two-loop recursion."""
        q = -flat_grad
        alphas = [0.0] * len(self.ys)
        for i in reversed(range(len(self.ys))):
            alphas[i] = self.ss[i].dot(q) * self.rhos[i]
            q -= alphas[i] * self.ys[i]
        r = q * self.scale
        for i in range(len(self.ys)):
            beta = self.ys[i].dot(r) * self.rhos[i]
            r += (alphas[i] - beta) * self.ss[i]
        return r


def _as_float(loss):
    """The closure's loss (a Tensor or a number) as a Python float."""
    return float(loss.item() if hasattr(loss, "item") else loss)


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser, clipped to ``bounds`` (default: between x1 and x2), of the cubic through
    (x1, f1) and (x2, f2) with slopes g1, g2; the bounds' midpoint if it has none."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(position, low), high)


def _strong_wolfe(evaluate, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """PyTorch's strong-Wolfe line search along ``d`` from ``x`` (loss ``f``, gradient ``g``,
    slope ``gtd``), starting at step ``t``: bracket a step, then zoom in by cubic
    interpolation. ``evaluate(x, t, d)`` gives (loss, gradient) at x + t d. Returns the
    loss, gradient and step found, and the number of evaluations."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(x, t, d)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # bracketing: grow the step until the loss rises or the slope turns
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new])
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = _Bracket([t], [f_new], [g_new], [gtd_new]), True
            break
        if gtd_new >= 0:
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new])
            break
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:  # PyTorch's fallback: the bracket from 0 to the last step
        bracket = _Bracket([0, t], [f, f_new], [g, g_new], [None, None])

    # zoom: shrink the bracket until a step satisfies both conditions
    insufficient_progress = False
    low, high = bracket.ends()
    while not done and ls_iter < max_ls:
        if abs(bracket.t[1] - bracket.t[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(bracket.t[0], bracket.f[0], bracket.gtd[0],
                           bracket.t[1], bracket.f[1], bracket.gtd[1])
        # keep away from the bracket's ends: a tenth of its width
        top, bottom = max(bracket.t), min(bracket.t)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insufficient_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket.f[low]:
            bracket.set(high, t, f_new, g_new, gtd_new)
            low, high = bracket.ends()
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket.t[high] - bracket.t[low]) >= 0:
                bracket.set(high, bracket.t[low], bracket.f[low], bracket.g[low],
                            bracket.gtd[low])
            bracket.set(low, t, f_new, g_new, gtd_new)
    return bracket.f[low], bracket.g[low], bracket.t[low], evals


class _Bracket:
    """The line search's one or two points: steps ``t``, losses ``f``, gradients ``g`` and
    slopes ``gtd``."""

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd

    def ends(self):
        """(index of the lower loss, index of the other); (0, 1) for a single point too."""
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)

    def set(self, i, t, f, g, gtd):
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd
