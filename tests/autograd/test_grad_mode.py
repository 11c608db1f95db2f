"""no_grad(): ops inside record no graph, per thread."""
import threading

import numpy as np
import pytest

from jitgrad import Tensor, no_grad
from jitgrad.autograd.grad_mode import is_grad_enabled


def leaf():
    return Tensor(np.array([1.0, -2.0]), autograd=True)


def test_ops_inside_no_grad_record_no_graph():
    a = leaf()
    with no_grad():
        out = (a * 2.0).relu().sum()
    assert not out.autograd and out.creators is None and out.creation_op is None
    assert a.children == {}
    np.testing.assert_allclose(out.data, 2.0)


def test_no_grad_nests_and_restores_on_error():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            with no_grad():
                assert not is_grad_enabled()
            assert not is_grad_enabled()
            1 / 0
    assert is_grad_enabled()
    assert (leaf() * 2.0).autograd


def test_no_grad_as_a_decorator():
    @no_grad()
    def evaluate(t):
        return t * 3.0
    assert not evaluate(leaf()).autograd
    assert is_grad_enabled()


def test_no_grad_is_per_thread():
    inside, other_done = threading.Event(), threading.Event()
    seen = {}

    def evaluator():
        with no_grad():
            inside.set()
            other_done.wait(timeout=10)
            seen["evaluator"] = (leaf() * 2.0).autograd

    def trainer():
        inside.wait(timeout=10)  # runs while the evaluator is inside no_grad
        seen["trainer"] = (leaf() * 2.0).autograd
        other_done.set()

    threads = [threading.Thread(target=evaluator), threading.Thread(target=trainer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"evaluator": False, "trainer": True}
