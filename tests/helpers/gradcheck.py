"""Finite-difference gradient checking in float64."""
import numpy as np

from jitgrad import Tensor


def assert_tensor_gradients(fn, tensors, seed=0, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Compare the gradients backward gives ``tensors`` with central finite differences.

    ``fn()`` builds a graph from ``tensors`` (float64 leaves with autograd=True, e.g. a layer's
    parameters) and returns its output; the scalar checked is sum(output * random weights).
    """
    out = fn()
    weights = np.random.default_rng(seed).standard_normal(out.data.shape)
    for t in tensors:
        t.grad = None
    out.backward(Tensor(weights))
    for position, tensor in enumerate(tensors):
        assert tensor.grad is not None, f"tensor {position} got no gradient"
        assert tensor.grad.data.dtype == np.float64
        numeric = np.zeros_like(tensor.data)
        for index in np.ndindex(tensor.data.shape):
            saved = tensor.data[index]
            tensor.data[index] = saved + eps
            plus = np.sum(fn().data * weights)
            tensor.data[index] = saved - eps
            minus = np.sum(fn().data * weights)
            tensor.data[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(tensor.grad.data, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of tensor {position}")


def assert_gradients_match(fn, *arrays, **tolerances):
    """``fn`` maps Tensors made from ``arrays`` (as float64 leaves) to a Tensor; check its
    gradients with respect to every input."""
    leaves = [Tensor(np.array(a, dtype=np.float64), autograd=True) for a in arrays]
    assert_tensor_gradients(lambda: fn(*leaves), leaves, **tolerances)
