"""The switch through which ``jitgrad.compile`` records a step (see jitgrad/compiler.py).

Off, it costs one flag check at each hook, as ``profiler.switch`` does. On, ``switch.tape``
(a ``compiler.Recording``) hears of every op, backward pass, optimizer call and tensor made.
"""
import functools


class _Switch:
    """Whether a step is being recorded; read at every op, so a plain class attribute."""
    active = False
    tape = None


switch = _Switch()


def recorded(method):
    """``method`` (an optimizer's step, ``zero_grad``, gradient clipping: whatever changes
    parameters or gradients outside ops), made visible to a recording, which replays the
    call itself on later steps."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        if switch.active:
            return switch.tape.call(method, args, kwargs)
        return method(*args, **kwargs)
    return wrapper
