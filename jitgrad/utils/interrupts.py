"""Ctrl-C that a training loop cannot lose.

Python raises KeyboardInterrupt wherever the main thread is when it handles the signal. If
that is a finalizer (a Tensor's ``__del__``, which takes the tensor out of its creators'
``children``) or Python code that a compiled kernel calls back, the exception is printed as
"Exception ignored in ..." and dropped, and training goes on. A replayed ``jitgrad.compile``
step runs so little other Python that ``jitgrad train`` dropped every Ctrl-C in 6 tries.

Training loops run inside ``catching_interrupts()`` and call ``check()`` once per batch: a
Ctrl-C then also sets a flag, and ``check()`` raises KeyboardInterrupt again if the first one
was dropped (without Python's "Exception ignored" report of it).
"""
import contextlib
import signal
import sys
import threading

_pending = False


@contextlib.contextmanager
def catching_interrupts():
    """While active, Ctrl-C raises KeyboardInterrupt as usual and also notes it for
    ``check()``; one still pending when the block ends is raised then. Only in the main
    thread, and only over Python's own SIGINT handler: a handler the program installed is
    left alone (``check()`` then never raises)."""
    global _pending
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    _pending = False
    signal.signal(signal.SIGINT, _note_and_raise)
    report_unraisable = sys.unraisablehook

    def quiet_when_noted(unraisable):  # "Exception ignored in ...": check() raises it again
        if not (issubclass(unraisable.exc_type, KeyboardInterrupt) and _pending):
            report_unraisable(unraisable)
    sys.unraisablehook = quiet_when_noted
    try:
        yield
        dropped = _pending  # after the last check(): in evaluation, callbacks, the last batch
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = report_unraisable
        _pending = False
    if dropped:
        raise KeyboardInterrupt


def check():
    """Raise KeyboardInterrupt if Ctrl-C was pressed inside ``catching_interrupts()`` and the
    exception it raised was dropped (it raises once)."""
    global _pending
    if _pending:
        _pending = False
        raise KeyboardInterrupt


def _note_and_raise(signum, frame):
    global _pending
    _pending = True
    raise KeyboardInterrupt
