"""NaN and inf: training carries on through them, and detect_anomaly() finds where they start."""
import concurrent.futures
import threading

import numpy as np
import pytest

import jitgrad
from jitgrad import (
    SGD,
    AnomalyError,
    CrossEntropyLoss,
    Linear,
    Sequential,
    Tanh,
    Tensor,
    detect_anomaly,
)


def small_model():
    np.random.seed(0)
    return Sequential([Linear(3, 4), Tanh(), Linear(4, 2)])


def train_step(model, inputs, targets=(0, 1, 1)):
    loss = CrossEntropyLoss().forward(model.forward(Tensor(inputs)), Tensor(np.array(targets)))
    loss.backward()
    SGD(model.get_parameters(), alpha=0.1).step()
    return loss


def inputs_with(bad):
    inputs = np.ones((3, 3))
    inputs[1, 2] = bad
    return inputs


@pytest.mark.parametrize("bad, finite", [(np.nan, False), (np.inf, False), (-np.inf, False),
                                        (1e308, True)])
def test_training_carries_on_through_nan_and_inf(bad, finite):
    """No exception outside detect_anomaly: three steps run and each returns its loss; NaN and
    inf make the loss or the weights non-finite (IEEE arithmetic carries on, as in NumPy),
    while a huge finite input saturates tanh and leaves everything finite."""
    model = small_model()
    losses = [train_step(model, inputs_with(bad)) for _ in range(3)]
    values = [loss.data for loss in losses] + [p.data for p in model.parameters()]
    assert len(losses) == 3 and all(np.isfinite(v).all() for v in values) == finite


def test_nan_reaches_the_loss_and_the_parameters_instead_of_vanishing():
    model = small_model()
    loss = train_step(model, inputs_with(np.nan))
    assert np.isnan(loss.data)
    assert all(np.isnan(p.data).any() for p in model.get_parameters())


def test_detect_anomaly_is_a_floating_point_error_exported_from_jitgrad():
    assert issubclass(jitgrad.AnomalyError, FloatingPointError)
    assert jitgrad.detect_anomaly is detect_anomaly


@pytest.mark.parametrize("make, match", [
    (lambda a: (a - a) / Tensor(np.zeros((2, 3))),
     r"div made a NaN output float64\[2, 3\] from inputs float64\[2, 3\], float64\[2, 3\]"),
    (lambda a: (a * 1e200).mm(Tensor(np.full((3, 2), 1e200))),
     r"mm made an infinite output float64\[2, 2\] from inputs float64\[2, 3\], float64\[3, 2\]"),
    (lambda a: (a * 1e300).expand(0, 2).sum(0) * 1e10, r"mul made an infinite output"),
])
def test_first_non_finite_output_raises_naming_the_op_and_shapes(make, match):
    a = Tensor(np.ones((2, 3)), autograd=True)
    make(a)  # off: no error, whatever comes out
    with detect_anomaly(), pytest.raises(AnomalyError, match=match):
        make(a)


def test_the_op_is_named_even_when_it_only_passes_on_a_bad_input():
    a = Tensor(np.array([1.0, np.nan]), autograd=True)
    with detect_anomaly(), pytest.raises(AnomalyError,
                                         match="tanh made a NaN output .* already not finite"):
        a.tanh()


def test_a_refused_op_joins_no_graph():
    a = Tensor(np.zeros(2), autograd=True)
    with detect_anomaly(), pytest.raises(AnomalyError):
        a / a
    assert a.children == {}


def test_backward_names_the_op_whose_backward_made_a_non_finite_gradient():
    x = Tensor(np.ones(2), autograd=True)
    y = Tensor(np.full(2, 1e-200), autograd=True)
    out = (x / y).sum()           # 1e200 each: finite
    with detect_anomaly(), pytest.raises(
            AnomalyError, match=r"the backward of div \(inputs float64\[2\], float64\[2\]\) made "
                                r"an infinite gradient float64\[2\] for input 1$"):
        out.backward()            # d/dy = -x / y**2 = -1e400


def test_finite_training_is_unchanged_by_detect_anomaly():
    inputs = np.random.default_rng(0).standard_normal((3, 3))
    plain, checked = small_model(), small_model()
    for _ in range(5):
        train_step(plain, inputs)
        with detect_anomaly():
            train_step(checked, inputs)
    for p, q in zip(plain.get_parameters(), checked.get_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_detect_anomaly_nests_and_switches_off_on_exit():
    nan = Tensor(np.array([np.nan]))
    with detect_anomaly():
        with detect_anomaly():
            pass
        with pytest.raises(AnomalyError):   # still on after the inner block
            nan * 2.0
    nan * 2.0                               # off again


def test_detect_anomaly_is_per_thread():
    entered, checked_elsewhere = threading.Event(), threading.Event()

    def debugging_thread():
        with detect_anomaly():
            entered.set()
            checked_elsewhere.wait(timeout=10)
            with pytest.raises(AnomalyError):
                Tensor(np.array([np.nan])) * 2.0

    def training_thread():
        entered.wait(timeout=10)
        try:
            return Tensor(np.array([np.nan])) * 2.0   # no error: detection is off here
        finally:
            checked_elsewhere.set()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        debugging, training = pool.submit(debugging_thread), pool.submit(training_thread)
        assert np.isnan(training.result().data).all()
        debugging.result()
