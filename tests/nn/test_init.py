"""jitgrad.nn.init: in place, dtype kept, the distributions PyTorch's initialisers draw from."""
import math

import numpy as np
import pytest

from jitgrad import Linear, Tensor
from jitgrad import init


def weight(shape=(400, 300), dtype=np.float32):
    return Tensor(np.zeros(shape, dtype=dtype), autograd=True)


@pytest.mark.parametrize("fill, std", [
    (lambda t: init.xavier_uniform_(t), math.sqrt(2 / 700)),
    (lambda t: init.xavier_normal_(t, gain=2.0), 2 * math.sqrt(2 / 700)),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda t: init.normal_(t, 0.0, 0.02), 0.02),
    (lambda t: init.uniform_(t, -1, 1), math.sqrt(1 / 3)),
])
def test_draws_have_the_documented_spread_in_place(fill, std):
    t = weight()
    data = t.data
    assert fill(t) is t and t.data is data and t.data.dtype == np.float32
    assert t.data.std() == pytest.approx(std, rel=0.02)
    assert abs(t.data.mean()) < 0.05 * std


def test_constants_and_the_generator():
    t = weight((3, 2), np.float64)
    np.testing.assert_array_equal(init.ones_(t).data, 1)
    np.testing.assert_array_equal(init.zeros_(t).data, 0)
    a = init.normal_(weight(), generator=np.random.default_rng(5)).data
    b = init.normal_(weight(), generator=np.random.default_rng(5)).data
    np.testing.assert_array_equal(a, b)


def test_a_linear_weight_is_in_out_so_fan_in_is_its_first_dim():
    layer = Linear(1000, 10)
    init.kaiming_normal_(layer.weight, nonlinearity="relu")
    assert layer.weight.data.std() == pytest.approx(math.sqrt(2 / 1000), rel=0.05)


def test_gains_and_errors():
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="xavier_uniform_: needs a tensor of at least 2 dims"):
        init.xavier_uniform_(Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="calculate_gain: unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
