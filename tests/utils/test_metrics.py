"""jitgrad.utils.metrics against scikit-learn's functions of the same names, on random outputs and
the edge cases scikit-learn defines: classes never predicted (or only predicted), a constant
target, too few rows."""
import numpy as np
import pytest
from sklearn import metrics as sk

from jitgrad.utils import metrics

RNG = np.random.default_rng(0)


def logits_for(predicted, classes):
    """Logits (n, classes) whose largest entry in each row is at ``predicted``."""
    logits = RNG.standard_normal((len(predicted), classes)).astype(np.float32)
    logits[np.arange(len(predicted)), predicted] = 10.0
    return logits


@pytest.mark.parametrize("y, predicted, classes", [
    (RNG.integers(0, 5, 200), RNG.integers(0, 5, 200), 5),
    (np.array([0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 1]), 3),  # class 2 never predicted
    (np.array([0, 0, 1, 1]), np.array([0, 3, 1, 1]), 4),  # class 3 only predicted
    (np.array([2, 2, 2]), np.array([2, 2, 2]), 3),
])
def test_classification_metrics_match_scikit_learn(y, predicted, classes):
    logits = logits_for(predicted, classes)
    assert metrics.accuracy(y, logits) == pytest.approx(sk.accuracy_score(y, predicted), abs=1e-12)
    assert metrics.macro_f1(y, logits) == pytest.approx(
        sk.f1_score(y, predicted, average="macro", zero_division=0), abs=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("y", [RNG.standard_normal(50), np.full(6, 2.5), RNG.standard_normal(2)])
def test_regression_metrics_match_scikit_learn(y, dtype):
    y = y.astype(dtype)
    for predicted in (y + RNG.standard_normal(len(y)).astype(dtype), y.copy()):
        column = predicted[:, None]  # a regressor's outputs (n, 1)
        assert metrics.rmse(y, column) == pytest.approx(
            np.sqrt(sk.mean_squared_error(y, predicted)), rel=1e-6, abs=1e-12)
        assert metrics.mae(y, column) == pytest.approx(
            sk.mean_absolute_error(y, predicted), rel=1e-6, abs=1e-12)
        assert metrics.r2(y, column) == pytest.approx(sk.r2_score(y, predicted), rel=1e-5,
                                                      abs=1e-12)


def test_r2_of_one_row_is_nan():
    assert np.isnan(metrics.r2(np.array([1.0]), np.array([[0.5]])))


@pytest.mark.parametrize("name, outputs", [("accuracy", (4, 2)), ("macro_f1", (4, 2)),
                                           ("rmse", (4, 1)), ("mae", (4,)), ("r2", (4, 1))])
def test_misaligned_targets_name_the_metric(name, outputs):
    with pytest.raises(ValueError, match=rf"{name}: 3 targets for 4 rows of outputs"):
        getattr(metrics, name)(np.zeros(3), np.zeros(outputs))
