"""``jitgrad.compile``: record a training step once, replay it without Tensors or graph.

    step = jitgrad.compile(train_step)      # or @jitgrad.compile above its def
    loss = step(x, y)

The first two calls with a new signature (the arguments' structure, shapes, dtypes and
autograd flags, and the grad mode) run ``train_step`` eagerly, as written, while a
``Recording`` notes, through the hooks of ``jitgrad.autograd.recording``:

- every op applied (``Tensor._from_op``): the Op instance, the slots of its inputs and
  output, and where its data operands (indices, targets) come from;
- every backward pass: its root and the order in which autograd processed the tensors;
- every call that changes parameters or gradients outside ops (``optimizer.step()``,
  ``zero_grad()``, ``clip_grad_norm``, ``scheduler.step()``);
- which layers' ``training`` flags the step read.

A slot is an argument, a tensor made before the step (a parameter: read at each replay, so
in-place changes are seen), a constant made inside the step (kept), or an earlier op's output.
When the two recordings agree, later calls replay the second (``Tape``): each op's
``forward`` on the same Op instance with the new arrays, each backward pass in the recorded
order through autograd's own routing (``deliver``), and the recorded calls, which read
learning rates and parameter lists as they are then. Numbers are therefore eager's, bit for
bit: the same kernels, on the same arrays, summed in the same order, drawing from the same
random stream. The one exception is float32 plain SGD, whose update a replay adds straight
into the weights inside the backward products (jitgrad/fused_sgd.py: the last rounding moves).
A tape whose ops all have programs (``Op.forward_program``) runs, after
``codegen.AFTER_REPLAYS`` replays, as one generated Numba function with the replay's numbers,
the recorded calls around it in Python (jitgrad/compiler/codegen.py).

Anything the tape cannot express makes the step run eagerly from then on, with one
RuntimeWarning naming the reason. See docs/compile.md for the rules.
"""
import collections
import copy
import functools
import time
import warnings

import numpy as np

from jitgrad.autograd import anomaly, grad_mode, recording
from jitgrad.autograd import tensor as tensor_module
from jitgrad.autograd.engine import (
    memory_owner,
    check_delivered,
    deliver,
    is_gradient,
    run_backward,
)
from jitgrad.autograd.tensor import Tensor
from jitgrad.backend import profiler
from jitgrad.compiler import codegen, fused_sgd
from jitgrad.compiler import lstm_windows as input_batching
from jitgrad.optim.optimizer import Optimizer
from kernels.fingerprint import fingerprint

#: Tapes kept per compiled step (signatures times modes); the oldest is dropped beyond it.
MAX_TAPES = 8


def compile(fn):  # noqa: A001 -- jitgrad.compile, as torch.compile
    """``fn`` (a training step) as a ``CompiledStep``; also usable as a decorator."""
    return CompiledStep(fn)


class FallbackReason(Exception):
    """Why a step cannot be replayed (raised inside a recording, reported as a warning)."""


class CompiledStep:
    """A callable that records ``fn`` per signature and replays it (module docstring).

    ``eager_reason`` is None while compiling works, else why every call now runs eagerly.
    """

    def __init__(self, fn):
        self.fn = fn
        self.eager_reason = None
        self._tapes = collections.OrderedDict()  # signature -> [Tape]
        self._candidates = {}  # signature -> the first Recording, to be confirmed
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        if self.eager_reason is not None or recording.switch.active or anomaly.switch.active:
            return self.fn(*args)  # anomaly checks see eager ops
        try:
            leaves, signature = _flatten(args)
        except FallbackReason as reason:
            return self._fall_back(str(reason), args)
        signature = (signature, grad_mode.is_grad_enabled())
        for tape in self._tapes.get(signature, ()):
            if tape.guards_hold():
                return tape.replay(leaves)
        result, reason = self._record(signature, args, leaves)
        if reason is not None:
            self._fall_back(reason)
        return result

    def _record(self, signature, args, leaves):
        """Run ``fn`` eagerly while recording; keep the tape once two recordings agree.
        Returns (fn's result, None or why the step cannot be replayed)."""
        # the confirming recording watches the tensors made before the step that the first
        # read, and the optimizers it called, from the start (the first runs the same code)
        first = self._candidates.get(signature)
        rec = (Recording(leaves) if first is None else
               Recording(leaves, watch=first.tensors_before(), optimizers=first.optimizers()))
        recording.switch.tape, recording.switch.active = rec, True
        try:
            result = self.fn(*args)
        finally:
            recording.switch.active, recording.switch.tape = False, None
        try:
            rec.finish(result)
            first = self._candidates.pop(signature, None)
            if first is None:
                self._candidates[signature] = rec
            else:
                first.check_same(rec)
                self._keep(signature, Tape(rec))
        except FallbackReason as reason:
            return result, str(reason)
        return result, None

    def _keep(self, signature, tape):
        tapes = self._tapes.setdefault(signature, [])
        tapes.insert(0, tape)
        self._tapes.move_to_end(signature)
        while sum(map(len, self._tapes.values())) > MAX_TAPES:
            oldest = next(iter(self._tapes))
            self._tapes[oldest].pop()
            if not self._tapes[oldest]:
                del self._tapes[oldest]

    def _fall_back(self, reason, args=None):
        """Run eagerly from now on, with one warning naming ``reason``."""
        self.eager_reason = reason
        self._tapes.clear()
        self._candidates.clear()
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        warnings.warn(f"jitgrad.compile: {name} runs eagerly: {reason}", RuntimeWarning,
                      stacklevel=3)
        return None if args is None else self.fn(*args)


def _flatten(args):
    """(Tensors and arrays in ``args``, nested lists and tuples included; a hashable
    signature of the structure, shapes, dtypes, strides and autograd flags, other values as
    they are)."""
    leaves = []

    def describe_value(value):
        if isinstance(value, Tensor):
            leaves.append(value)
            return ("T", value.data.shape, value.data.dtype, value.data.strides,
                    value.autograd, value.creators is None)
        if isinstance(value, np.ndarray):
            leaves.append(value)
            return ("A", value.shape, value.dtype, value.strides)
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, tuple(describe_value(item) for item in value))
        try:
            hash(value)
        except TypeError:
            raise FallbackReason(f"an argument of type {type(value).__name__} is neither a "
                                 "Tensor, an array, a list of them nor a hashable value") from None
        return ("V", type(value), value)
    return leaves, describe_value(tuple(args))


class _Inner:
    """Stands for an input that is no leaf where autograd's helpers expect a Tensor."""
    creators, autograd = (), False


INNER = _Inner()
#: Stands for a leaf made inside the step (``init_hidden()``): a new Tensor at each eager call,
#: so no one holds it to read its ``.grad``, and replay drops its gradient.
DROPPED = _Inner()
#: The source ``_leaf`` reads as INNER: an input that is no leaf, or wants no gradient.
INNER_SOURCE = ("inner", None)


class Recording:
    """What one eager run of a step did, in slots (module docstring).

    ``sources``: slot -> ("arg", binding) (an argument's array, or a view of it: see
    ``_arg_binding``), ("copy", binding) (a new copy of one: ``Tensor(x)`` inside the step),
    ("param", tensor) (made before the step: its ``.data`` at each replay), ("const", array)
    or ("out", event index). An op's data operand binds the same way, or to ("slot", slot),
    the array of an earlier op's output (``xs[t]`` of a Tensor argument).
    """

    def __init__(self, leaves, watch=None, optimizers=()):
        """``watch``: tensors made before the step (parameters, data buffers) to see whether
        the step changes them other than through ops or recorded calls: each is fingerprinted
        now, as is any other at its first use, and again after each recorded call; None to
        watch nothing. ``optimizers``: those whose settings (each group's lr, momentum, ...) and
        groups are watched the same way."""
        self.leaves, self.watch = leaves, watch is not None
        self.start_id = tensor_module.next_id()  # tensors with smaller ids existed before
        self.events = []  # ("op", op, input slots, output slot, operand bindings, settings)
        #                 | ("backward", root slot, grad, [node slots]) | ("call", fn, args, kwargs)
        self.sources = []
        self.slots = {}  # id(Tensor) -> slot
        self.out_arrays = {}  # id(.data) of each op output -> its slot
        self.keep = []  # every Tensor whose id is in ``slots`` or ``made``, so ids stay unique
        self.args = {}  # id(array or Tensor) of each argument -> its index in ``leaves``
        self.owners = {}  # id of the array owning an argument's memory -> argument indices
        for index, leaf in enumerate(leaves):
            self.args[id(leaf)] = index
            array = leaf.data if isinstance(leaf, Tensor) else leaf
            self.args.setdefault(id(array), index)
            owner = array if array.base is None else array.base
            self.owners.setdefault(id(owner), []).append(index)
        self.made = {}  # id(Tensor or its .data) made inside from an argument -> its binding
        self.modes = {}  # id(layer) -> (layer, training flag read)
        self.untouched = {}  # id(tensor made before the step) -> (tensor, its _NotedArray)
        self._note_data(watch or ())
        self.settings = {}  # id(optimizer) -> (optimizer, a copy of its groups' settings)
        self._note_settings(optimizers)
        self.reasons = []
        self.backward_nodes = None
        self.outputs = None

    # --- hooks --------------------------------------------------------------------------
    def op(self, op, inputs, out):
        if not op.replayable:
            self.reasons.append(f"the op {op.creation_op!r} ({type(op).__name__}) has no tape "
                                "form")
        ins = [self._slot(t) for t in inputs]
        operands = tuple((name, self._bind(getattr(op, name))) for name in op.operands)
        out_slot = self._new_slot(out, ("out", len(self.events)))
        self.out_arrays[id(out.data)] = out_slot
        self.events.append(("op", op, ins, out_slot, operands, _settings(op)))

    def tensor_made(self, data, tensor):
        if isinstance(data, Tensor):
            data = data.data
        binding = self._arg_binding(data) if isinstance(data, np.ndarray) else None
        if binding is not None:
            self.keep.append(tensor)
            self.made[id(tensor)] = self.made[id(tensor.data)] = binding

    def escape(self, what):
        self.reasons.append(f"{what} was called on a Tensor inside the step (the tape cannot "
                            "replay Python that reads tensor values; do it outside the step)")

    def mode_read(self, layer):
        self.modes[id(layer)] = (layer, vars(layer).get("_training", True))

    def backward_root(self, root, grad):
        if id(root) not in self.slots or root.creators is None:
            self.reasons.append("backward() was called on a tensor no op inside the step made")
            return
        self.backward_nodes = []
        self.events.append(("backward", self.slots[id(root)], np.array(grad, copy=True),
                            self.backward_nodes))

    def backward_node(self, node):
        slot = self.slots.get(id(node))
        if slot is None or self.sources[slot][0] != "out":
            self.reasons.append("backward reaches a tensor made by ops before the step (carried "
                                "state still attached to the last step's graph: pass it as "
                                "Tensor(h.data, autograd=True) or h.detach())")
        elif node._retain_grad:
            self.reasons.append("retain_grad() on a tensor made inside the step")
        elif self.backward_nodes is not None:
            self.backward_nodes.append((slot, [(self._slot(c), c.autograd, c.data.dtype,
                                                c._grad_dtype(), c.creators is None)
                                               for c in node.creators]))

    def call(self, method, args, kwargs):
        args = tuple(list(a) if hasattr(a, "__next__") else a for a in args)  # generators
        self.events.append(("call", method, args, kwargs))
        self._check_untouched()  # before the call's own changes are taken as the new copies
        recording.switch.active = False  # what it does inside is replayed by calling it
        try:
            return method(*args, **kwargs)
        finally:
            recording.switch.active = True
            self._note_data(t for t, _ in self.untouched.values())
            self._note_settings(opt for opt, _ in self.settings.values())

    def _note_data(self, tensors):
        """Note the data of tensors made before the step, to see changes no replay makes:
        at their first use, and again after each recorded call (which replay makes); they
        are checked before each call and at the end."""
        for t in tensors:
            self.untouched[id(t)] = (t, _NotedArray(t.data))

    def _note_settings(self, optimizers):
        """Copy the settings of ``optimizers``' groups, compared like the watched tensors: a
        learning rate decayed by hand inside the step would stay where the recordings left it."""
        for opt in optimizers:
            self.settings[id(opt)] = (opt, _group_settings(opt))

    def _check_untouched(self):
        if self.reasons:
            return  # one reason is enough: the step falls back
        for opt, settings in self.settings.values():
            if not _same(_group_settings(opt), settings):
                self.reasons.append(
                    f"the settings of {type(opt).__name__} (a group's lr, momentum, ... or its "
                    "groups and parameters) changed inside the step other than through "
                    "recorded calls (optimizer.step(), scheduler.step()): Python that changes "
                    "them is not replayed; change them between calls, or with a scheduler")
                return
        for t, noted in self.untouched.values():
            if not noted.matches(t.data):
                self.reasons.append(
                    "a tensor made before the step (a parameter or a data buffer) changed "
                    "inside it other than through ops or recorded calls (optimizer.step(), "
                    "zero_grad(), clip_grad_norm, scheduler.step()): Python that changes it is "
                    "not replayed; pass the data as the step's arguments, or decorate the "
                    "function making the update with jitgrad.autograd.recording.recorded")
                return

    # --- slots --------------------------------------------------------------------------
    def _new_slot(self, tensor, source):
        self.slots[id(tensor)] = len(self.sources)
        self.keep.append(tensor)
        self.sources.append(source)
        return len(self.sources) - 1

    def _slot(self, t):
        slot = self.slots.get(id(t))
        if slot is not None:
            return slot
        if id(t) in self.args:
            return self._new_slot(t, ("arg", ("whole", self.args[id(t)])))
        if t.id < self.start_id:
            if self.watch and id(t) not in self.untouched:  # what Python code changes
                self._note_data([t])
            return self._new_slot(t, ("param", t))
        if id(t) in self.made:
            return self._new_slot(t, ("copy", self.made[id(t)]))
        return self._new_slot(t, ("const", t.data))

    def _bind(self, value):
        """Where an op's data operand comes from (a source, as in ``sources``)."""
        if isinstance(value, np.ndarray):
            if id(value) in self.made:
                return ("copy", self.made[id(value)])
            if id(value) in self.out_arrays:
                return ("slot", self.out_arrays[id(value)])
            binding = self._arg_binding(value)
            if binding is not None:
                return ("arg", binding)
        return ("const", value)

    def _arg_binding(self, array):
        """("whole", i) if ``array`` is argument i's array; ("view", (i, start, shape,
        strides)) if it is a slice of it (``xs[t]``, ``x[:, :5]``) starting at index
        ``start``; else None."""
        if id(array) in self.args:
            return ("whole", self.args[id(array)])
        for index in self.owners.get(id(array.base), ()):
            arg = self.leaves[index]
            start = _slice_start(arg.data if isinstance(arg, Tensor) else arg, array)
            if start is not None:
                return ("view", (index, start, array.shape, array.strides))
        return None

    # --- the end ------------------------------------------------------------------------
    def finish(self, result):
        """Note the step's outputs; raise FallbackReason if anything cannot be replayed."""
        self._check_untouched()
        items = result if isinstance(result, (tuple, list)) else (result,)
        if result is not None and not all(isinstance(item, Tensor) for item in items):
            self.reasons.append("the step returns something other than a Tensor or a tuple "
                                "of Tensors")
        elif result is not None:
            self.outputs = (type(result) if isinstance(result, (tuple, list)) else None,
                            [(self._slot(t), t.autograd) for t in items])
        if self.reasons:
            raise FallbackReason(self.reasons[0])

    def tensors_before(self):
        """The tensors made before the step that it read (parameters, data buffers)."""
        return [payload for kind, payload in self.sources if kind == "param"]

    def optimizers(self):
        """The optimizers of the recorded calls: called themselves (``step()``,
        ``zero_grad()``) or through a scheduler."""
        found = {}
        for event in self.events:
            if event[0] == "call" and event[2]:
                owner = event[2][0]
                for candidate in (owner, getattr(owner, "optimizer", None)):
                    if isinstance(candidate, Optimizer):
                        found[id(candidate)] = candidate
        return list(found.values())

    def check_same(self, other):
        """Raise FallbackReason unless ``other`` (the next call's recording) did the same:
        ops, slots, settings, constants, data operands, backward order, calls and modes."""
        what = _difference(self, other)
        if what:
            raise FallbackReason(
                f"the step ran differently on its second call ({what}); Python control flow "
                "on tensor values, or changing data reaching ops other than through the "
                "step's arguments, cannot be replayed")


def _group_settings(optimizer):
    """Each group's settings (copied: deep only where not plain, which deepcopy does in
    ten times the time) and its parameters' ids."""
    return [({key: value if _plain(value) else copy.deepcopy(value)
              for key, value in group.items() if key != "params"},
             [id(p) for p in group["params"]]) for group in optimizer.param_groups]


class _NotedArray:
    """An array as noted: the object, its shape and dtype (``array.shape = ...`` reshapes in
    place) and the fingerprint of its bytes in C order (``kernels.fingerprint``)."""

    def __init__(self, array):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype
        self.fingerprint = _fingerprint(array)

    def matches(self, array):
        """Whether ``array`` is still the noted array, with the same layout and bytes."""
        return (array is self.array and array.shape == self.shape and array.dtype == self.dtype
                and _fingerprint(array) == self.fingerprint)


def _fingerprint(array):
    return fingerprint(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def _address(array):
    return array.__array_interface__["data"][0]


def _slice_start(arg, view):
    """The index of ``arg`` at which ``view`` starts, if ``view`` is a slice of it: each of
    its axes runs along an axis of ``arg`` with the same stride and stays inside it. Else None.

    The same index and strides then address the same elements of any array of ``arg``'s
    shape and strides (the signature holds both), so a replay rebuilds the slice from them.
    """
    offset = _address(view) - _address(arg)
    if offset < 0 or any(stride <= 0 for stride in arg.strides):
        return None
    start = [0] * arg.ndim
    for axis in sorted(range(arg.ndim), key=lambda a: -arg.strides[a]):
        start[axis], offset = divmod(offset, arg.strides[axis])
    if offset or any(i >= size for i, size in zip(start, arg.shape)):
        return None
    used = set()
    for size, stride in zip(view.shape, view.strides):
        if size == 1:
            continue
        axis = next((a for a in range(arg.ndim) if arg.strides[a] == stride and a not in used),
                    None)
        if axis is None or start[axis] + size > arg.shape[axis]:
            return None
        used.add(axis)
    return tuple(start)


def _settings(op):
    """An op's plain settings after its forward (numbers, strings, tuples of them), compared
    between two recordings: a setting taken from tensor values would differ."""
    return {name: value for name, value in vars(op).items() if _plain(value)}


def _plain(value):
    if isinstance(value, tuple):
        return all(map(_plain, value))
    return isinstance(value, (bool, int, float, str, type(None)))


def _difference(a, b):
    """A short description of the first difference between two recordings, or None."""
    if len(a.events) != len(b.events):
        return f"{len(a.events)} events, then {len(b.events)}"
    for index, (x, y) in enumerate(zip(a.events, b.events)):
        if x[0] != y[0]:
            return f"event {index}: {x[0]}, then {y[0]}"
        if x[0] == "op" and not (type(x[1]) is type(y[1]) and x[2:4] == y[2:4]
                                 and _same(x[4], y[4]) and _same(x[5], y[5])):
            return f"op {index} ({x[1].creation_op}, then {y[1].creation_op})"
        if x[0] == "backward" and not (x[1] == y[1] and _same(x[2], y[2]) and x[3] == y[3]):
            return f"backward pass at event {index}"
        if x[0] == "call" and not (x[1] is y[1] and _same(x[2:], y[2:])):
            return f"call {getattr(x[1], '__qualname__', x[1])}"
    for slot, (x, y) in enumerate(zip(a.sources, b.sources)):
        if not (x[0] == y[0] and (x[0] == "out" or _same(x[1], y[1]))):
            return f"input {slot} ({x[0]}, then {y[0]})"
    if len(a.sources) != len(b.sources) or a.outputs != b.outputs:
        return "outputs"
    if {k: v[1] for k, v in a.modes.items()} != {k: v[1] for k, v in b.modes.items()}:
        return "train/eval modes"
    return None


def _same(x, y):
    """Equal values: arrays by shape, dtype and elements, Tensors and objects by identity."""
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                and x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return type(x) is type(y) and len(x) == len(y) and all(map(_same, x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, (int, float, str, bool, slice, type(None), type(Ellipsis))):
        return type(x) is type(y) and x == y
    return x is y


class Tape:
    """A confirmed recording, replayed by ``replay(leaves)`` while ``guards_hold()``."""

    def __init__(self, rec):
        self.size = len(rec.sources)
        self.inputs = [(slot, kind, payload) for slot, (kind, payload) in enumerate(rec.sources)
                       if kind != "out"]
        self.params = [(t, t.data.shape, t.data.dtype, t.autograd, t.creators is None)
                       for t in rec.tensors_before()]
        self.modes = list(rec.modes.values())
        ops = {event[3]: event[1] for event in rec.events if event[0] == "op"}
        self.steps, fusions = _compile_events(rec.events, rec.sources, ops, {})
        # LSTM windows whose input products can be made at once: replayed either way until
        # measured (jitgrad/input_batching.py)
        events, batches = input_batching.plan(rec.events, rec.sources)
        self.batches = list(batches.values())
        self.batched_steps = _compile_events(events, rec.sources, ops, batches)[0] \
            if batches else None
        self.choice = input_batching.Choice() if batches else None
        self.outputs = rec.outputs
        self.replays = 0
        self.program = None  # codegen's Program once generated, False if the tape has none
        self._for_program = (rec.events, fusions)

    def guards_hold(self):
        """Whether the parameters kept their shape, dtype and autograd flag (their values
        are read anew) and the layers their train/eval mode."""
        for t, shape, dtype, wants_grad, leaf in self.params:
            if t.data.shape != shape or t.data.dtype != dtype or t.autograd != wants_grad \
                    or (t.creators is None) != leaf:
                return False
        return all(vars(layer).get("_training", True) == mode for layer, mode in self.modes)

    def replay(self, leaves):
        values = [None] * self.size
        for slot, kind, payload in self.inputs:
            values[slot] = _source_value(kind, payload, leaves, values)
        program = self._program(values, leaves)
        results = None if program is None else self._run(program, values, leaves)
        if results is None and self.choice is not None:
            results = self._replay_choosing(values, leaves)
        elif results is None:
            results = self._replay_from(0, values, leaves)
        if self.outputs is None:
            return None
        kind, items = self.outputs
        out = [_output(results[slot], autograd) for slot, autograd in items]
        return out[0] if kind is None else kind(out)

    def _program(self, values, leaves):
        """The generated function to run this call with (jitgrad/codegen.py), or None."""
        if self.program is False or profiler.switch.active:
            return None
        if self.program is None:
            self.replays += 1
            if self.replays <= codegen.AFTER_REPLAYS:
                return None
            if not codegen.enabled():
                self.program = False
                return None
            events, fusions = self._for_program
            nodes = [args[3] for run, *args in self.steps if run is _replay_backward]
            arrays = {slot: values[slot] for slot, _, _ in self.inputs}
            try:
                self.program = codegen.generate(events, fusions, nodes[0] if nodes else (),
                                                self.outputs, arrays, self._binder(values, leaves))
            except codegen.NotEmitted:
                self.program = False
            self._for_program = None
        return self.program or None

    def _run(self, program, values, leaves):
        """The results of ``program`` run on this call's inputs ({slot: array}, or the
        values of a replay it resumed op by op), or None to replay op by op. A function
        that did not compile is not used again."""
        def resume():  # after the calls before the ops
            return self._replay_from(len(program.before), values, leaves)
        results = program.run([values[slot] for slot in program.input_slots],
                              self._binder(values, leaves), resume)
        if program.failed is not None:
            self.program = False
        return results

    @staticmethod
    def _binder(values, leaves):
        """``bind(kind, payload)``: an op's data operand for this call (``_source_value``)."""
        return lambda kind, payload: _source_value(kind, payload, leaves, values)

    def _replay_from(self, start, values, leaves, steps=None):
        """Replay the events (``steps``, by default ``self.steps``) from ``start`` op by op;
        returns ``values``."""
        for run, *args in (self.steps if steps is None else steps)[start:]:
            run(values, leaves, *args)
        return values

    def _replay_choosing(self, values, leaves):
        """Replay with the windows' input products batched or not, as ``choice`` says, and
        time it for the choice while it measures (not under the profiler, which slows ops)."""
        batched = self.choice.next()
        for batch in self.batches:
            batch.use(batched)
        start = time.perf_counter()
        self._replay_from(0, values, leaves, self.batched_steps if batched else None)
        if not profiler.switch.active:
            self.choice.note(batched, time.perf_counter() - start)
        return values


def _compile_events(events, sources, ops, batches):
    """(the replay steps of ``events``, their fused SGD plans: ``fused_sgd.plan``'s)."""
    fusions = fused_sgd.plan(events, sources, ops)
    return [_compile_event(event, ops, sources, fusions.get(index), fusions.get(index - 1),
                           batches) for index, event in enumerate(events)], fusions


def _compile_event(event, ops, sources, fusion, fusion_before, batches):
    """(replay function, its arguments) for one recorded event; ``ops``: output slot -> op.
    ``fusion``: the FusedSGD of a backward pass (else None), ``fusion_before``: that of the
    event before, of which this event is the step. ``batches``: input_batching's, by the
    output slot of their window's first step."""
    if event[0] == "op":
        _, op, ins, out, operands, _ = event
        if out in batches:
            return (_replay_batched_op, batches[out], op, ins, out, operands)
        return (_replay_op, op, ins, out, operands)
    if event[0] == "backward":
        _, root, grad, nodes = event
        fusable = fusion.fusable if fusion is not None else {}
        return (_replay_backward, root, grad, fusion, [
            _backward_node(slot, ops[slot], creators, sources, fusable.get(position, ()))
            for position, (slot, creators) in enumerate(nodes)], batches)
    _, method, args, kwargs = event
    if fusion_before is not None:
        return (_replay_fused_step, fusion_before, method, args, kwargs)
    return (_replay_call, method, args, kwargs)


def _backward_node(slot, op, creators, sources, fusable):
    """What replaying one node of a backward pass needs: (its slot, its op, which inputs want
    a gradient, each input's source for ``_leaf``, the inputs as ``run_backward`` takes them
    -- None when an argument is among them, looked up at each call --, for each input that
    wants a gradient, where it goes: (input index, slot, dtype, gradient dtype), and the
    inputs whose SGD update may fuse into this op: ((input index, parameter), ...))."""
    needs = [wants_grad for _, wants_grad, *_ in creators]
    sinks = [sources[key] if wants_grad and is_leaf else INNER_SOURCE
             for key, wants_grad, _, _, is_leaf in creators]
    inputs = None if any(sink[0] == "arg" for sink in sinks) else [
        _leaf(None, sink) for sink in sinks]
    routes = [(index, key, dtype, grad_dtype)
              for index, (key, wants_grad, dtype, grad_dtype, _) in enumerate(creators)
              if wants_grad]
    return slot, op, needs, sinks, inputs, routes, fusable


def _source_value(kind, payload, leaves, values):
    """The array of a slot or data operand at a replay, from its source (``Recording``)."""
    if kind == "param":
        return payload.data
    if kind == "const":
        return payload
    if kind == "slot":
        return values[payload]
    array = _argument_array(payload, leaves)
    return array if kind == "arg" else np.array(array)


def _argument_array(binding, leaves):
    """The array an argument binding names in this call's ``leaves``."""
    how, where = binding
    if how == "whole":
        arg = leaves[where]
        return arg.data if isinstance(arg, Tensor) else arg
    index, start, shape, strides = where
    arg = leaves[index]
    array = arg.data if isinstance(arg, Tensor) else arg
    corner = array[tuple(slice(i, None) for i in start)]
    return np.lib.stride_tricks.as_strided(corner, shape, strides, writeable=False)


def _output(array, autograd):
    out = Tensor.wrap(array)
    out.autograd = autograd
    return out


def _replay_op(values, leaves, op, ins, out, operands):
    for name, (kind, payload) in operands:
        setattr(op, name, _source_value(kind, payload, leaves, values))
    arrays = [values[i] for i in ins]
    values[out] = profiler.timed_forward(op, arrays) if profiler.switch.active else op.forward(*arrays)


def _replay_batched_op(values, leaves, batch, op, ins, out, operands):
    """The first step of an LSTM window whose input products are batched: those first (the
    profiler's "inputs" phase of the op)."""
    if profiler.switch.active:
        profiler.timed(op, "inputs", batch.project, values)
    else:
        batch.project(values)
    _replay_op(values, leaves, op, ins, out, operands)


def _replay_backward(values, leaves, root, grad, fusion, nodes, batches):
    """One backward pass as eager autograd ran it: the same nodes in the same order, each
    input's gradient routed by ``autograd.deliver`` into ``pending`` or a leaf's ``.grad``;
    the gradients of parameters whose SGD update is fused (``fusion``) are left out. After
    the first step of an LSTM window in ``batches``, the other steps' inputs get theirs."""
    root_value = values[root]
    pending = {root: grad.astype(root_value.dtype if root_value.dtype.kind == "f"
                                 else np.float64, copy=True)}
    summed, deferring = set(), []
    if fusion is not None:
        fusion.begin()
    for slot, op, needs, sinks, inputs, routes, fusable in nodes:
        node_grad = pending.pop(slot)
        summed.discard(slot)
        if inputs is None:  # an argument among them: this call's Tensor
            inputs = [_leaf(leaves, sink) for sink in sinks]
        fused = fusion.defer(op, node_grad, fusable) if fusable else ()
        if fused:
            needs = [wants and index not in fused for index, wants in enumerate(needs)]
            inputs = [INNER if index in fused else leaf for index, leaf in enumerate(inputs)]
        grads = run_backward(op, node_grad, needs, inputs)
        grad_owner = memory_owner(node_grad)
        for index, key, dtype, grad_dtype in routes:
            creator_grad, leaf = grads[index], inputs[index]
            if index in fused:
                continue
            if not is_gradient(op, creator_grad, deferring) or leaf is DROPPED:
                continue
            if creator_grad.dtype != dtype:
                creator_grad = creator_grad.astype(grad_dtype, copy=False)
            deliver(key, None if leaf is INNER else leaf, creator_grad, grad_owner, pending, summed)
        if slot in batches:
            for key, input_grad in batches[slot].input_grads():
                deliver(key, None, input_grad, None, pending, summed)
    check_delivered(deferring)


def _leaf(leaves, source):
    """The Tensor of a leaf input that wants a gradient (``source``: its slot's), INNER for
    other inputs, DROPPED for a leaf made inside the step."""
    if source is INNER_SOURCE:
        return INNER
    kind, payload = source
    if kind == "param":
        return payload
    return leaves[payload[1]] if kind == "arg" else DROPPED


def _replay_call(values, leaves, method, args, kwargs):
    method(*args, **kwargs)


def _replay_fused_step(values, leaves, fusion, method, args, kwargs):
    fusion.step(method, args, kwargs)
