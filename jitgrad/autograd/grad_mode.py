"""``no_grad()``: run ops without recording the graph (evaluation, sampling, weight updates).

The switch is per thread, so one thread can evaluate a model while another trains its own.
"""
import contextlib
import threading

_state = threading.local()


def is_grad_enabled():
    """Whether ops in this thread record the graph (True unless inside ``no_grad()``)."""
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` (or a function decorated ``@no_grad()``), ops record no graph.

    Their results have ``autograd=False`` and no ``creators``, and their inputs gain no
    ``children``, so nothing is kept for a backward pass. Nesting is allowed; leaving restores
    the previous state, also when an exception is raised.
    """
    previous = is_grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


@contextlib.contextmanager
def enable_grad():
    """Inside ``with enable_grad():`` ops record the graph again, even within ``no_grad()``
    (PyTorch's ``enable_grad``: an optimizer's step runs its closure so). Leaving restores
    the previous state, also when an exception is raised."""
    previous = is_grad_enabled()
    _state.enabled = True
    try:
        yield
    finally:
        _state.enabled = previous
