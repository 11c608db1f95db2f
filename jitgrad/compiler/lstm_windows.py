"""A compiled step's LSTM windows with their input products made once for all their steps.

Eager code runs an LSTM window one step at a time, so each step multiplies its input by the
four input weights (x @ wx[g]) and, backward, its gates' gradients by them (d_pre[g] @
wx[g].T): products of a batch's rows (16 in the book's char-LSTM), which BLAS runs at a
fraction of its speed. Only the recurrent products (h @ wh[g]) must wait for the step
before; a replay knows every step's input in advance when it is made from data alone (an
embedding lookup of the step's characters). Then it

- moves the ops making the steps' inputs before the window's first step (they read nothing
  that the window makes), and before that step's forward multiplies all the inputs at once,
  one product per gate (``Window.project``); each step reads its rows (``LSTMStep.rows``);
- backward, has the first step, which runs after every other step's, make all the inputs'
  gradients at once (``Window.share_input_grads``), from the gates' gradients the window
  already keeps for the weights' products; the replay delivers each step's rows to its
  input, whose own backward (the embedding's scatter-add) it moves after that step, in the
  order eager ran them.

Whether it pays depends on the shapes and the machine: on lstm_char_e128 (25 steps, batch
16, hidden 512) it takes 9% off a window, but on ``jitgrad train-text``'s model (batch 32,
hidden 128) the per-step products are quick already and the batched ones, written out for
the whole window and read back, are slower. So a tape measures: its replays alternate
batched and step by step, and after ``TRIALS`` timed replays of each (the first of each
untimed) it keeps batching if it was the faster in most pairs of consecutive replays (pairs
see the same load; this machine's speed drifts by tens of percent from minute to minute).
``JITGRAD_BATCH_INPUTS`` overrides: ``on`` always batches where possible, ``off`` never;
``auto`` (the default) measures.

The products round as the per-step ones do (the same BLAS kernels on more rows; equal to
the bit on this machine), but nothing promises it: like the fused SGD update, it is done in
float32 only, so that float64 replays stay eager's bit for bit.
"""
import os
import statistics

import numpy as np

from jitgrad.ops.recurrent import LSTMStep, by_kind

#: The environment variable choosing: "auto" (measure), "on" or "off".
OVERRIDE = "JITGRAD_BATCH_INPUTS"
#: Timed replays of each kind (after one untimed) before a tape keeps the faster.
TRIALS = 5


def mode():
    """``JITGRAD_BATCH_INPUTS``: "auto", "on" or "off" (ValueError naming it otherwise)."""
    wanted = os.environ.get(OVERRIDE, "auto").strip().lower() or "auto"
    if wanted not in ("auto", "on", "off"):
        raise ValueError(f"{OVERRIDE}={wanted!r}: expected auto, on or off")
    return wanted


class Choice:
    """Whether a tape's next replay batches its windows: measured (module docstring)."""

    def __init__(self):
        self.seconds = {True: [], False: []}  # replay times while measuring
        self.chosen = None  # True (batch) or False once measured

    def next(self):
        """Whether the next replay batches."""
        wanted = mode()
        if wanted != "auto":
            return wanted == "on"
        if self.chosen is not None:
            return self.chosen
        return len(self.seconds[True]) <= len(self.seconds[False])  # alternate, batched first

    def note(self, batched, seconds):
        """Note a replay's time while measuring; choose once both kinds have enough."""
        if self.chosen is not None or mode() != "auto":
            return
        self.seconds[batched].append(seconds)
        if all(len(times) > TRIALS for times in self.seconds.values()):
            pairs = list(zip(self.seconds[True], self.seconds[False]))[1:]
            self.chosen = statistics.median(b / p for b, p in pairs) < 1


class Batch:
    """One window's batched products in a replay: its steps (in step order), the slots of
    its first step's output, of its steps' inputs and of its input weights, and ``delivers``:
    the later steps whose inputs' gradients the first step makes, each with its input's slot
    (empty when each step makes its own)."""

    def __init__(self, steps, first_slot, x_slots, wx_slots, delivers):
        self.steps, self.window = steps, steps[0].window
        self.first_slot = first_slot  # the first step's output slot
        self.x_slots, self.wx_slots, self.delivers = x_slots, wx_slots, delivers
        size = steps[0].x.shape[0]
        self.rows = [slice(number * size, (number + 1) * size) for number in range(len(steps))]

    def project(self, values):
        """Make the window's input products from this replay's ``values`` (by slot)."""
        dtype = self.window.dtype
        self.window.project([np.ascontiguousarray(values[s], dtype=dtype) for s in self.x_slots],
                            [np.ascontiguousarray(values[s], dtype=dtype) for s in self.wx_slots])

    def input_grads(self):
        """(slot, gradient) of each later step's input, made by the first step's backward."""
        return [(slot, self.window.input_grads.pop(step)) for step, slot in self.delivers]

    def use(self, batched):
        """Tell the steps whether this replay batches (their rows, or None)."""
        for number, step in enumerate(self.steps):
            step.rows = self.rows[number] if batched else None
            step.batched_input_grad = batched and bool(self.delivers)


def plan(events, sources):
    """(the events reordered, {output slot of a window's first step: its Batch}) for a
    recording's ``events``: each float32 window whose steps' inputs are all made from data
    can be batched (module docstring); ``Batch.use`` turns it on or off for a replay."""
    events, batches = list(events), {}
    for steps in _windows(events):
        batch = _batch(events, sources, steps)
        if batch is not None:
            batches[batch.first_slot] = batch
    return events, batches


def _windows(events):
    """The step ops of each float32 window of more than one step, in step order."""
    windows = {}
    for event in events:
        if event[0] == "op" and type(event[1]) is LSTMStep:
            windows.setdefault(id(event[1].window), []).append(event[1])
    return [steps for steps in windows.values()
            if len(steps) > 1 and steps[0].window.dtype == np.float32]


def _batch(events, sources, steps):
    """The window's Batch, with ``events`` reordered in place; None, ``events`` untouched,
    unless every step's input is data or made from data alone, all of one shape, and only
    ops run between the steps."""
    where = {id(event[1]): index for index, event in enumerate(events) if event[0] == "op"}
    first, last = where[id(steps[0])], where[id(steps[-1])]
    x_slots = [events[where[id(step)]][2][0] for step in steps]
    step_slots = [events[where[id(step)]][3] for step in steps]
    wx_slots = list(by_kind(events[first][2][3:])[0])
    makers = [sources[x][1] for x in x_slots if sources[x][0] == "out"]
    if (any(event[0] != "op" for event in events[first:last + 1])
            or len({step.x.shape for step in steps}) != 1
            or not all(_made_from_data(events[index], sources) for index in makers)):
        return None
    ahead = {index for index in makers if index > first}
    events[first:] = ([events[index] for index in sorted(ahead)]
                      + [event for index, event in enumerate(events[first:], first)
                         if index not in ahead])
    delivers = _batch_input_grads(events, sources, step_slots, x_slots)
    return Batch(steps, step_slots[0], x_slots, wx_slots,
                 list(zip(steps[1:], x_slots[1:])) if delivers else [])


def _made_from_data(event, sources):
    """Whether an op event reads only data (arguments, parameters, constants), so that it
    can run earlier: no other op's output, no random draw."""
    _, op, ins, _, operands, _ = event
    return (not op.draws_random and all(sources[slot][0] != "out" for slot in ins)
            and all(kind != "slot" for _, (kind, _) in operands))


def _batch_input_grads(events, sources, step_slots, x_slots):
    """Whether the first step makes every step's input gradient: when each input wants one
    and is an op's output. The backward pass's nodes of those ops are then moved, keeping
    their order, to run after the first step's (``events`` changed in place)."""
    for index, event in enumerate(events):
        if event[0] == "backward" and step_slots[0] in (slot for slot, _ in event[3]):
            break
    else:
        return False
    _, root, grad, nodes = event
    position = {slot: at for at, (slot, _) in enumerate(nodes)}
    wants = [nodes[position[slot]][1][0][1] for slot in step_slots if slot in position]
    if (len(wants) != len(step_slots) or not all(wants)
            or any(sources[x][0] != "out" or x not in position for x in x_slots)):
        return False
    makers = sorted({position[x] for x in x_slots})
    kept = [node for at, node in enumerate(nodes) if at not in makers]
    after = kept.index(nodes[position[step_slots[0]]]) + 1
    kept[after:after] = [nodes[at] for at in makers]
    events[index] = ("backward", root, grad, kept)
    return True
