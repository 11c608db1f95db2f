"""A compiled step's plain SGD update, fused into the products of its backward pass (float32).

Eagerly, BLAS's threads write a weight's gradient into ``.grad`` and ``optimizer.step()``,
on one thread, reads it back for ``w -= lr * grad``. Half of that gradient was written on the
other core; reading it there took 45 to 290 µs on mlp_small, depending on the process,
against 11 µs when the data is at hand (docs/speed-notes.md). A compiled step knows that
nothing reads the gradient in between, so the product adds ``-lr * x.T @ grad`` straight into
the weight (BLAS alpha = -lr, beta = 1) and ``.grad`` is never written; a bias gets ``-lr``
times its column sums the same way. An LSTM window's weights get theirs from the window's
products over all its steps.

A parameter's update is fused when, on the tape,
- the backward pass is followed at once by ``step()`` of an ``SGD`` (that class, not a
  subclass) that releases the gradients (``zero=True``, the default), so no ``.grad`` is
  left to read afterwards either;
- the parameter is float32 and gets its gradient in that pass from one op, at an input that
  op can add scaled (``Op.scaled_grad_inputs``: mm's and linear's weight, linear's bias, an
  LSTM step's weights): its only use, or uses in ops that hand their gradients over together
  (``Op.grad_delivery``: the steps of an LSTM window, whose first step sums them);

and, at each replay, when the optimizer's checks pass (else its step raises as eager does,
changing nothing), its group has no momentum and no weight decay, and the parameter is
float32, C-contiguous, writeable and has no ``.grad`` (nothing to add to).

Numbers: a bias's update is eager's bit for bit. A weight's differs in the last place: BLAS
rounds ``-lr * (x.T @ grad)`` once where eager rounds the gradient, then ``lr`` times it.
That is within float32's tolerance for replay (docs/compile.md) on OpenBLAS; float64, which
replays bit for bit, is never fused. Nor is anything while float32 products run on MKL: its
``C += alpha * A @ B`` strayed further from eager's update (2026-11-29: a step's outputs 1.2e-7
apart at 0.006, past the tolerance, and twelve float32 tests failed in a CI run whose
measurement had chosen MKL). Whether to fuse is decided when a tape is built.
"""
import collections
import inspect

import numpy as np

from jitgrad.autograd.engine import fits
from jitgrad.backend import gemm, profiler
from jitgrad.optim import SGD
from jitgrad.optim.optimizer import Optimizer

_STEP = Optimizer.step.__wrapped__  # what a recording notes for ``optimizer.step(...)``
_STEP_SIGNATURE = inspect.signature(_STEP)
_FLOAT32 = np.dtype(np.float32)  # a dtype: comparing with np.float32 converts it each time


def plan(events, sources, ops):
    """{index of a backward event in ``events``: its ``FusedSGD``}, for each backward pass
    with parameters whose update can fuse (module docstring). ``sources`` and ``ops`` (output
    slot -> Op) are the recording's."""
    if gemm.backends(np.float32) != {"openblas"}:
        return {}  # MKL's fused products rounded away from eager's update (module docstring)
    plans = {}
    for index, (event, after) in enumerate(zip(events, events[1:])):
        if event[0] == "backward" and _releasing_sgd_step(after):
            fusable = _fusable_inputs(event[3], sources, ops, after[2][0])
            if fusable:
                plans[index] = FusedSGD(after[2][0], fusable)
    return plans


def _releasing_sgd_step(event):
    """Whether ``event`` is ``step()`` of an SGD that releases the gradients."""
    if event[0] != "call" or event[1] is not _STEP or type(event[2][0]) is not SGD:
        return False
    bound = _STEP_SIGNATURE.bind(*event[2], **event[3])
    zero = bound.arguments.get("zero", True)
    if callable(zero) or bound.arguments.get("closure") is not None:
        return False  # step(closure): the backward pass runs inside the step
    return bool(zero)


def _fusable_inputs(nodes, sources, ops, optimizer):
    """{position of a node in the pass: ((input index, parameter), ...)} for the parameters of
    ``optimizer`` whose float32 gradient that node's op hands over alone: the parameter's
    only use, or every use in ops that hand over together (``Op.grad_delivery``: an LSTM
    window's steps), each once."""
    params = {id(p) for p in optimizer.parameters}
    uses = collections.defaultdict(list)  # slot of an input -> (position, index) of each use
    for position, (_, creators) in enumerate(nodes):
        for index, (slot, wants_grad, *_) in enumerate(creators):
            if wants_grad:
                uses[slot].append((position, index))
    fusable = {}
    for slot, places in uses.items():
        kind, param = sources[slot]
        if kind != "param" or id(param) not in params:
            continue
        deliveries = [ops[nodes[position][0]].grad_delivery() for position, _ in places]
        givers = [place for place, (_, delivers) in zip(places, deliveries) if delivers]
        if (len(givers) != 1 or len({id(group) for group, _ in deliveries}) != 1
                or len({position for position, _ in places}) != len(places)):
            continue  # gradients from several ops, or twice from one
        position, index = givers[0]
        _, _, dtype, _, is_leaf = nodes[position][1][index]
        if is_leaf and dtype == np.float32 and index in ops[nodes[position][0]].scaled_grad_inputs:
            fusable.setdefault(position, []).append((index, param))
    return {position: tuple(sorted(inputs, key=lambda item: item[0]))
            for position, inputs in fusable.items()}


class FusedSGD:
    """The fused updates of one backward pass and the SGD step after it.

    The replay calls ``begin()`` before the pass, ``defer`` at each node with fusable inputs
    (those nodes' positions in the pass are the keys of ``fusable``), and ``step`` in place
    of the optimizer's step."""

    def __init__(self, optimizer, fusable):
        self.optimizer, self.fusable = optimizer, fusable
        self.planned = {id(param) for inputs in fusable.values() for _, param in inputs}
        self.scales = {}  # id(parameter) -> -lr as float32, for the parameters fused this time
        self.deferred = []  # (op, gradient given to the op, ((input index, parameter), ...))

    def begin(self):
        """Choose the parameters fused in this replay (the conditions of the module docstring
        that can change between calls)."""
        self.scales, self.deferred = {}, []
        try:
            self.optimizer._check_parameters()
        except (TypeError, ValueError):
            return  # the step raises, as eagerly, after an unfused pass
        for group in self.optimizer.param_groups:
            if group["momentum"] or group["weight_decay"]:
                continue
            scale = np.float32(-group["lr"])
            for p in group["params"]:
                if (id(p) in self.planned and p.grad is None and p.autograd
                        and fits(p.data, p.data.shape, _FLOAT32)):  # updated in place
                    self.scales[id(p)] = scale

    def defer(self, op, grad, fusable):
        """The indices of ``op``'s inputs (of ``fusable``, its entry) fused this time, whose
        updates from ``grad`` wait for ``step``: the pass must neither compute their
        gradients nor hand the op their ``.grad`` buffers."""
        fused = tuple((index, param) for index, param in fusable if id(param) in self.scales)
        if op.scaled_grads_together and (
                tuple(index for index, _ in fused) != op.scaled_grad_inputs
                or len({self.scales[id(param)] for _, param in fused}) != 1):
            return ()
        if fused:
            self.deferred.append((op, grad, fused))
        return [index for index, _ in fused]

    def step(self, method, args, kwargs):
        """The fused updates, then ``finish``."""
        for op, grad, fused in self.deferred:
            targets = [(index, param.data, self.scales[id(param)]) for index, param in fused]
            if profiler.switch.active:
                profiler.timed_scaled_grads(op, grad, targets)
            else:
                op.add_scaled_grads(grad, targets)
        fused, self.deferred = bool(self.deferred), []
        self.finish(fused, method, args, kwargs)

    def finish(self, fused, method, args, kwargs):
        """After the fused updates (``fused``: whether there were any), the optimizer's step
        for the parameters that have a gradient; none left, it is skipped (it would only warn
        that nothing was updated)."""
        if not fused or any(p.grad is not None for p in self.optimizer.parameters):
            method(*args, **kwargs)
