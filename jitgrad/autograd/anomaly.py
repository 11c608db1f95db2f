"""``detect_anomaly()``: stop at the first op whose output or gradient is NaN or infinite.

Without it, NaN and inf flow through training as IEEE arithmetic says, and nothing raises.
Inside it, the op that first makes a non-finite array raises ``AnomalyError`` naming itself
and its input shapes: in the forward pass before its output joins the graph, in the backward
pass as soon as its backward returns (gradients already added into leaves by then stay).

The switch is per thread, so one thread can debug while another trains undisturbed.
"""
import contextlib
import threading

import numpy as np

from jitgrad.backend.dtypes import describe
from jitgrad.ops.base import ACCUMULATED, DEFERRED


class AnomalyError(FloatingPointError):
    """An op made a NaN or infinite output or gradient while ``detect_anomaly()`` was on."""


class _Switch(threading.local):
    active = False  # a class attribute: every thread starts with detection off


switch = _Switch()


@contextlib.contextmanager
def detect_anomaly():
    """Check every op's output (and every gradient in backward) for NaN and inf.

    A context manager (and decorator); nests, and restores the previous state on exit.
    """
    previous, switch.active = switch.active, True
    try:
        yield
    finally:
        switch.active = previous


def check_forward(op, inputs, output):
    """Raise if ``output``, what ``op`` made from the arrays ``inputs``, is not all finite."""
    if _finite(output):
        return
    raise AnomalyError(f"detect_anomaly: {op.creation_op} made {_badness(output)} output "
                       f"{describe(output)} from inputs {_arrays(inputs)}"
                       f"{_upstream(inputs, 'an input')}")


def check_backward(node, grad, input_grads):
    """Raise if the backward of ``node``'s op, given ``grad``, returned a non-finite gradient.

    ``input_grads`` has one array (or None where not needed) per creator of ``node``, or
    ACCUMULATED where the op added the gradient straight into that leaf's ``.grad``, or
    DEFERRED where a later op delivers it (and is checked then).
    """
    for position, input_grad in enumerate(input_grads):
        if input_grad is DEFERRED:
            continue
        if input_grad is ACCUMULATED:
            input_grad = node.creators[position].grad.data
        if input_grad is None or _finite(input_grad):
            continue
        inputs = [creator.data for creator in node.creators]
        raise AnomalyError(
            f"detect_anomaly: the backward of {node.creation_op} (inputs {_arrays(inputs)}) "
            f"made {_badness(input_grad)} gradient {describe(input_grad)} for input "
            f"{position}{_upstream([grad], 'the gradient it was given')}")


def _finite(array):
    return bool(np.isfinite(array).all())


def _badness(array):
    return "a NaN" if np.isnan(array).any() else "an infinite"


def _arrays(arrays):
    return ", ".join(describe(np.asarray(a)) for a in arrays)


def _upstream(arrays, what):
    """A note when the op only passed on a non-finite value it was given."""
    return "" if all(_finite(a) for a in arrays) else f" ({what} was already not finite)"
