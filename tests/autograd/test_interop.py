"""Python scalars, NumPy interop and repr."""
import numpy as np

from jitgrad import Tensor


def test_python_scalars_on_either_side():
    t = Tensor(np.array([1.0, 2.0]), autograd=True)
    np.testing.assert_array_equal((t * 0.5).data, [0.5, 1.0])
    np.testing.assert_array_equal((2 - t).data, [1.0, 0.0])
    np.testing.assert_array_equal((1 + t / 4).data, [1.25, 1.5])
    out = (2 - t) * 0.5
    out.backward()
    np.testing.assert_array_equal(t.grad.data, [-0.5, -0.5])


def test_numpy_sees_the_data():
    t = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    array = np.asarray(t)
    assert array.dtype == np.float32 and array.shape == (2, 2)
    np.testing.assert_array_equal(array, t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.exp(t), np.exp(t.data))


def test_repr_shows_values_autograd_and_the_op():
    leaf = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), autograd=True)
    assert repr(leaf) == "Tensor([[1., 2.],\n        [3., 4.]], autograd=True)"
    assert repr(leaf * 0.5).endswith("autograd=True, creation_op='mul')")
    assert str(leaf) == str(leaf.data)


def test_repr_shows_a_dtype_that_is_not_the_default():
    assert "dtype=float32" in repr(Tensor(np.ones(2, dtype=np.float32)))
    assert "dtype" not in repr(Tensor(np.ones(2)))
