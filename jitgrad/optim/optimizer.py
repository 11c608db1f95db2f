"""What every optimizer shares: parameter groups, which parameters a step updates, and state.

A step updates each parameter that has a gradient and skips the rest (frozen parameters,
branches a step did not use), leaving their state untouched, as PyTorch does. After the
update it releases the gradient (``.grad`` becomes None) so that a parameter that gets no
gradient in the next step is skipped then too; the buffer is kept and reused by the next
backward pass, so no memory is allocated per step.
"""
import copy
import operator
import warnings

import numpy as np

from jitgrad.autograd.engine import release_grad, zero_grad
from jitgrad.autograd.grad_mode import enable_grad
from jitgrad.autograd.recording import recorded
from jitgrad.backend.dtypes import KERNEL_DTYPES, describe


class Optimizer:
    """Updates parameters (Tensors) from their gradients, in place.

    ``params``: any iterable of Tensors (a list, a generator, ``model.parameters()``), or of
    dicts, each a parameter group ``{"params": [...], "lr": ..., ...}`` whose settings override
    ``defaults`` for its parameters. Subclasses give ``defaults``, ``check(group)`` and
    ``update(p, group, state, zero)`` (one parameter); those with a kernel for many parameters
    at once also override ``update_group(params, group, zero)``.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        # state and dtypes are keyed by the parameter itself, as in PyTorch: a parameter
        # removed from a group leaves the others' state where it was
        self.param_groups, self.state, self._dtypes = [], {}, {}
        groups = _as_groups(self._name, params)
        for group in groups:
            self.add_param_group(group)
        self._warned_nothing_to_update = False

    @property
    def _name(self):
        return type(self).__name__

    # --- groups and settings ------------------------------------------------------------
    def add_param_group(self, group):
        """Add a dict ``{"params": iterable of Tensors, setting: value, ...}``; settings it does
        not give take the optimizer's defaults."""
        group = dict(group)
        params = _as_list(self._name, group.get("params", ()), "a parameter group")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"{self._name}: unknown setting(s) {sorted(unknown)} in a parameter "
                            f"group; settings are {sorted(self.defaults)}")
        group = {**self.defaults, **group, "params": params}
        self.check(group)
        seen = {id(p) for p in self.parameters}
        for index, p in enumerate(params):
            _check_parameter(self._name, index, p)
            if id(p) in seen:
                raise ValueError(f"{self._name}: a parameter ({describe(p.data)}) is given twice")
            seen.add(id(p))
        self.param_groups.append(group)
        self._dtypes.update((p, p.data.dtype) for p in params)

    @property
    def parameters(self):
        """Every parameter of every group, in order (the book's ``optim.parameters``)."""
        return [p for group in self.param_groups for p in group["params"]]

    def check(self, group):
        """Raise ValueError for a setting out of range (subclasses)."""
        _positive(self._name, "lr (alpha)", group["lr"], allow_zero=True)
        _positive(self._name, "weight_decay", group.get("weight_decay", 0.0), allow_zero=True)

    @property
    def alpha(self):
        """The learning rate (the book's name; PyTorch keeps it as ``param_groups[i]["lr"]``)."""
        rates = {group["lr"] for group in self.param_groups}
        if len(rates) > 1:
            raise AttributeError(f"{self._name}.alpha: the parameter groups have different "
                                 "learning rates; read param_groups[i]['lr']")
        return rates.pop()

    @alpha.setter
    def alpha(self, value):
        _positive(self._name, "alpha", value, allow_zero=True)
        for group in self.param_groups:
            group["lr"] = value

    lr = alpha

    # --- the step -----------------------------------------------------------------------
    @recorded
    def step(self, zero=True, closure=None):
        """Update every parameter that has a gradient; then, unless ``zero=False``, release the
        gradients (``.grad`` becomes None; the next backward starts from zero).

        ``closure`` (PyTorch's ``step(closure)``, also given in ``zero``'s place): a function
        that re-evaluates the model, calls ``backward`` and returns the loss; it runs first,
        with gradients recorded even inside ``no_grad()``, and ``step`` returns its loss
        (without a closure, None).

        Raises, changing nothing, if a parameter's dtype or shape changed since the optimizer
        was made or its state was. Warns (once per optimizer) if no parameter had a gradient.
        """
        if callable(zero):  # step(closure), PyTorch's positional argument
            zero, closure = True, zero
        loss = None if closure is None else run_closure(closure)
        self._check_parameters()
        updated = 0
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None and p.autograd]
            if params:
                self.update_group(params, group, zero)
                updated += len(params)
        if not updated and not self._warned_nothing_to_update:
            self._warned_nothing_to_update = True
            warnings.warn(f"{self._name}.step: no parameter has a gradient, so nothing was "
                          "updated; call loss.backward() before step()", RuntimeWarning,
                          stacklevel=3)  # the caller of the @recorded wrapper
        return loss

    def update_group(self, params, group, zero):
        """Update ``params`` (those of ``group`` that have a gradient) with its settings; then,
        if ``zero``, release their gradients. Optimizers with a kernel that updates many
        parameters in one call override it."""
        for p in params:
            zeroed = self.update(p, group, self.state.setdefault(p, {}), zero)
            if zero:
                release_grad(p, zeroed)

    def update(self, p, group, state, zero):
        """Change ``p.data`` in place from ``p.grad`` with ``group``'s settings and ``state``
        (this parameter's dict, empty on its first update). May zero the gradient in the same
        pass when ``zero``; returns whether it did."""
        raise NotImplementedError

    @recorded
    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient: release it (None, as PyTorch's default) or, with
        ``set_to_none=False``, fill it with zeros."""
        for p in self.parameters:
            zero_grad(p, set_to_none)

    def zero(self):
        """The book's ``zero()``: fill every gradient with 0, keeping it."""
        self.zero_grad(set_to_none=False)

    def _check_parameters(self):
        """Raise if a parameter is read-only, or its dtype or shape no longer fits its optimizer
        state: the update kernels trust the state's size, so a stale one would write past its
        end."""
        no_state = {}
        for index, p in enumerate(self.parameters):
            data = p.data
            dtype = self._dtypes.setdefault(p, data.dtype)  # one added to a group by hand
            if not data.flags.writeable:  # kernels would write it anyway, or fail in Numba
                raise ValueError(
                    f"{self._name}.step: parameter {index} ({describe(data)}) is a read-only "
                    "array, which the update cannot change in place; give it a writeable "
                    "copy: p.data = p.data.copy()")
            if data.dtype != dtype:
                raise TypeError(
                    f"{self._name}.step: parameter {index} is now {describe(data)} but was "
                    f"{dtype} when the optimizer was created, so its optimizer state would be "
                    "stale; create the optimizer after converting the model (model.to(dtype))")
            for name, value in self.state.get(p, no_state).items():
                if isinstance(value, np.ndarray) and value.shape != data.shape:
                    raise ValueError(
                        f"{self._name}.step: parameter {index} is now {describe(data)} but "
                        f"its state {name!r} is {describe(value)}; make a new optimizer after "
                        "changing a parameter's shape")

    # --- state dicts --------------------------------------------------------------------
    def state_dict(self):
        """{"state": {position: {name: array or number}}, "param_groups": [settings with
        "params" as positions]}: copies, so that training can resume exactly from them."""
        groups, position = [], 0
        for group in self.param_groups:
            settings = {key: value for key, value in group.items() if key != "params"}
            count = len(group["params"])
            groups.append({**settings, "params": list(range(position, position + count))})
            position += count
        state = {position: self.state[p] for position, p in enumerate(self.parameters)
                 if p in self.state}
        return {"state": copy.deepcopy(state), "param_groups": copy.deepcopy(groups)}

    def load_state_dict(self, state_dict):
        """Take settings and state from ``state_dict()`` of an optimizer over the same
        parameters. Raises ValueError, changing nothing, if it does not fit."""
        groups, state = state_dict["param_groups"], state_dict["state"]
        sizes = [len(group["params"]) for group in self.param_groups]
        if [len(group["params"]) for group in groups] != sizes:
            raise ValueError(f"{self._name}.load_state_dict: the state has groups of "
                             f"{[len(g['params']) for g in groups]} parameters, this optimizer "
                             f"{sizes}")
        state = {int(position): values for position, values in state.items()}
        parameters = self.parameters
        for position, values in state.items():
            if not 0 <= position < len(parameters):
                raise ValueError(f"{self._name}.load_state_dict: state for parameter "
                                 f"{position}, but there are {len(parameters)}")
            p = parameters[position]
            for name, value in values.items():
                if isinstance(value, np.ndarray) and (value.shape != p.data.shape
                                                      or value.dtype != p.data.dtype):
                    raise ValueError(f"{self._name}.load_state_dict: state {name!r} of "
                                     f"parameter {position} is {describe(value)}, the "
                                     f"parameter {describe(p.data)}")
        for group, saved in zip(self.param_groups, groups):
            group.update({key: value for key, value in saved.items() if key != "params"})
        self.state = {parameters[position]: values
                      for position, values in copy.deepcopy(state).items()}


def run_closure(closure):
    """``closure()`` with the graph recorded (as PyTorch's ``enable_grad``), its loss."""
    with enable_grad():
        return closure()


def state_array(state, name, p):
    """``state[name]``: a C-contiguous zero array of ``p``'s shape and dtype, made on first
    use. C-contiguous because kernels update it through a flat view: the flat view of an
    F-ordered array would be a copy, and the update would be lost."""
    array = state.get(name)
    if array is None:
        array = state[name] = np.zeros(p.data.shape, p.data.dtype)
    elif not array.flags.c_contiguous:  # loaded by hand in another layout
        array = state[name] = np.ascontiguousarray(array)
    return array


def flat_state(state, name, p):
    """``state_array(state, name, p)`` flat."""
    return state_array(state, name, p).reshape(-1)


def run_flat(p, kernel, *args):
    """``kernel(param_flat, grad_flat, *args)`` on ``p``: flat C-contiguous views where the
    arrays allow, else contiguous copies (the parameter's written back; a read-only gradient
    is copied too, as kernels take writeable arrays)."""
    param, grad = p.data, p.grad.data
    if grad.flags.c_contiguous and grad.dtype == param.dtype and grad.flags.writeable:
        flat_grad = grad.reshape(-1)
    else:
        flat_grad = np.array(grad, dtype=param.dtype, order="C").reshape(-1)
    if param.flags.c_contiguous:
        kernel(param.reshape(-1), flat_grad, *args)  # the usual case, no copies
        return
    flat_param = np.ascontiguousarray(param).reshape(-1)
    kernel(flat_param, flat_grad, *args)
    param[...] = flat_param.reshape(param.shape)


def one_layout(p):
    """Whether ``p`` and its gradient are C-contiguous arrays of one dtype and shape, the
    gradient writeable, so that a kernel updates and zeroes them in place (``run_flat`` copies
    otherwise)."""
    param, grad = p.data, p.grad.data
    return (param.flags.c_contiguous and grad.flags.c_contiguous and grad.dtype == param.dtype
            and grad.shape == param.shape and grad.flags.writeable)


def one_dtype_in_place(params):
    """The dtype of ``params`` if each of them and its gradient are C-contiguous arrays of
    that one dtype and of one shape (see ``one_layout``), else None."""
    dtype = params[0].data.dtype
    if all(p.data.dtype == dtype and one_layout(p) for p in params):
        return dtype
    return None


class AddressTable:
    """The int64 table a many-parameter update kernel (``kernels.optim.*_steps``) reads: a
    row per parameter, the addresses of its flat arrays (parameter, gradient, state) and
    their size.

    ``of(rows)`` rebuilds it whenever any array is another object than at the last call (a
    parameter's data replaced, a state loaded) and keeps the arrays referenced, so no
    address outlives its array."""

    def __init__(self):
        self._arrays, self._table = [], None

    def of(self, rows):
        """The table for ``rows``, tuples of arrays, one per parameter; None unless every
        array is C-contiguous and of the dtype and size of the first of its row."""
        arrays = [array for row in rows for array in row]
        if len(arrays) != len(self._arrays) or not all(map(operator.is_, arrays, self._arrays)):
            if not all(_fits_row(array, row[0]) for row in rows for array in row):
                return None
            self._table = np.array([[array.__array_interface__["data"][0] for array in row]
                                    + [row[0].size] for row in rows], dtype=np.int64)
            self._arrays = arrays
        return self._table


def _fits_row(array, first):
    return array.flags.c_contiguous and array.dtype == first.dtype and array.size == first.size


def scalar(p, value):
    """``value`` in ``p``'s dtype, so that a float32 update computes in float32."""
    return p.data.dtype.type(value)


def _as_groups(name, params):
    """``params`` (any iterable of Tensors, or of group dicts) as a non-empty list of groups."""
    items = _as_list(name, params, "parameters")
    if not items:
        raise ValueError(f"{name}: got an empty list of parameters; pass model.parameters()")
    if all(isinstance(item, dict) for item in items):
        return items
    if any(isinstance(item, dict) for item in items):
        raise TypeError(f"{name}: give either Tensors or parameter-group dicts, not both")
    return [{"params": items}]


def _as_list(name, params, what):
    """An iterable (read once: a generator works) as a list; a single Tensor is refused."""
    if callable(params) and hasattr(params, "layer"):  # model.parameters without the call
        params = params()
    if hasattr(params, "data") and hasattr(params, "autograd"):
        raise TypeError(f"{name}: {what} must be an iterable of Tensors, got a single Tensor; "
                        "wrap it in a list")
    try:
        return list(params)
    except TypeError:
        raise TypeError(f"{name}: {what} must be an iterable of Tensors, got "
                        f"{type(params).__name__}") from None


def _check_parameter(name, index, p):
    if not (hasattr(p, "data") and hasattr(p, "autograd")):
        raise TypeError(f"{name}: parameter {index} is a {type(p).__name__}, not a Tensor")
    if p.data.dtype not in KERNEL_DTYPES:
        raise TypeError(f"{name}: parameter {index} is {describe(p.data)}; parameters must be "
                        "float32 or float64")


def _positive(name, setting, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not (value >= 0 if allow_zero else value > 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: {setting} must be a number {bound}, got {value!r}")


def learning_rate(name, lr, alpha, default):
    """The learning rate from PyTorch's ``lr`` or the book's ``alpha`` (not both)."""
    if lr is not None and alpha is not None:
        raise TypeError(f"{name}: pass the learning rate as lr or as alpha, not both")
    value = lr if lr is not None else alpha if alpha is not None else default
    if value is None:
        raise TypeError(f"{name}: missing the learning rate (lr=...)")
    return value
