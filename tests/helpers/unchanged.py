"""The check every bad-input test makes: the right error, and no tensor changed by it."""
import numpy as np
import pytest


def assert_unchanged(tensors, call, error, match):
    """``call`` raises ``error`` matching ``match`` and leaves data, grads and children alone."""
    before = [(t.data.copy(), None if t.grad is None else t.grad.data.copy(), dict(t.children))
              for t in tensors]
    with pytest.raises(error, match=match):
        call()
    for t, (data, grad, children) in zip(tensors, before):
        np.testing.assert_array_equal(t.data, data)
        assert (t.grad is None) == (grad is None)
        if grad is not None:
            np.testing.assert_array_equal(t.grad.data, grad)
        assert t.children == children
