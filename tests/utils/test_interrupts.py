"""A Ctrl-C that lands in a finalizer is dropped by Python; training loops raise it again."""
import signal
import threading

import numpy as np
import pytest

import jitgrad
from jitgrad.utils import interrupts


class DropsACtrlC:
    """Dies at once, and Ctrl-C is handled inside its ``__del__``, where Python drops the
    KeyboardInterrupt (as it does in a Tensor's ``__del__`` during training)."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)
        for _ in range(3):  # a backward jump: the handler runs here, inside __del__
            pass


def drop_a_ctrl_c():
    DropsACtrlC()


def test_a_ctrl_c_dropped_in_a_finalizer_is_raised_by_check_once():
    with interrupts.catching_interrupts():
        drop_a_ctrl_c()  # no exception here: Python dropped it
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
        interrupts.check()  # raised once
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_still_interrupts_where_it_lands():
    reached = []
    with pytest.raises(KeyboardInterrupt), interrupts.catching_interrupts():
        signal.raise_signal(signal.SIGINT)
        for _ in range(3):
            pass
        reached.append(True)
    assert not reached and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_the_program_installed_is_left_alone():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda *_: calls.append(1))
    try:
        with interrupts.catching_interrupts():
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            signal.raise_signal(signal.SIGINT)
            interrupts.check()
        assert calls == [1]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_nothing_is_installed():
    seen = []

    def run():
        with interrupts.catching_interrupts():
            seen.append(signal.getsignal(signal.SIGINT))
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def fit_dropping_ctrl_c(epochs, dropping_epochs, compile=False):
    """``fit`` for ``epochs`` epochs, with a metric (run after each epoch's batches) that has
    a Ctrl-C dropped in the epochs numbered in ``dropping_epochs``; the epochs it saw."""
    seen = []

    def metric(y, outputs):
        seen.append(len(seen) + 1)
        if seen[-1] in dropping_epochs:
            drop_a_ctrl_c()
        return 0.0
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 4)), rng.integers(0, 2, 64)
    model = jitgrad.Sequential([jitgrad.Linear(4, 2)])
    with pytest.raises(KeyboardInterrupt):
        jitgrad.fit(model, jitgrad.CrossEntropyLoss(), jitgrad.SGD(model.parameters(), lr=0.1),
                    (x, y), epochs=epochs, metrics={"m": metric}, progress=False,
                    compile=compile)
    return seen


@pytest.mark.parametrize("compile", [False, True])
def test_fit_stops_on_a_ctrl_c_that_a_finalizer_dropped(compile):
    # stopped at the first batch of the second epoch
    assert fit_dropping_ctrl_c(5, {1}, compile) == [1]


def test_a_ctrl_c_dropped_after_the_last_check_is_raised_when_the_block_ends():
    with pytest.raises(KeyboardInterrupt):
        with interrupts.catching_interrupts():
            drop_a_ctrl_c()  # e.g. during the last epoch's evaluation
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_fit_stops_on_a_ctrl_c_dropped_in_its_last_epoch():
    assert fit_dropping_ctrl_c(2, {2}) == [1, 2]
