"""Metrics for ``jitgrad.fit``: functions ``metric(y, outputs) -> float`` of the targets and
the model's raw outputs.

Classifiers output logits (n, classes) against integer labels (n,); regressors output
predictions (n, 1) or (n,) against targets (n,). ``LABELS`` says how an epoch line shows each.

Each is scikit-learn's formula (the tests hold them to ``sklearn.metrics``) as a few NumPy
passes: ``fit`` computes them every epoch on the training outputs and the validation set, and
scikit-learn's input checks cost 0.2-1.4 ms per call, more than an epoch of a small table.
"""
import numpy as np


def accuracy(y, logits):
    """Fraction of rows whose largest logit is the label's."""
    y, predicted = _aligned("accuracy", y, np.argmax(logits, axis=1))
    return float(np.mean(predicted == y))


def macro_f1(y, logits):
    """F1 of each class (one against the rest), averaged with equal weights over the classes
    that occur in ``y`` or in the predictions; a class never predicted right scores 0."""
    y, predicted = _aligned("macro_f1", y, np.argmax(logits, axis=1))
    labels, index = np.unique(np.concatenate([y, predicted]), return_inverse=True)
    true, guessed = index[:len(y)], index[len(y):]
    hits, actual, claimed = (np.bincount(part, minlength=len(labels))
                             for part in (true[true == guessed], true, guessed))
    # 2 tp / (2 tp + fp + fn); the denominator is never 0 for a class that occurs
    return float(np.mean(2 * hits / (actual + claimed)))


def rmse(y, predicted):
    return float(np.sqrt(np.mean(_residuals("rmse", y, predicted) ** 2)))


def mae(y, predicted):
    return float(np.mean(np.abs(_residuals("mae", y, predicted))))


def r2(y, predicted):
    """Coefficient of determination: 1 - residual sum of squares / total sum of squares
    (as scikit-learn: 1 for a perfect fit of a constant ``y``, else 0 for one; NaN for fewer
    than two rows)."""
    residuals = _residuals("r2", y, predicted)
    if len(residuals) < 2:
        return float("nan")
    y = np.asarray(y, dtype=np.float64)
    residual, total = np.sum(residuals ** 2), np.sum((y - np.mean(y)) ** 2)
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1 - residual / total)


def _aligned(metric, y, predicted):
    """``y`` as a flat array beside ``predicted`` (n,), or a ValueError naming ``metric``."""
    y = np.ravel(y)
    if len(y) != len(predicted):
        raise ValueError(f"{metric}: {len(y)} targets for {len(predicted)} rows of outputs")
    return y, predicted


def _residuals(metric, y, predicted):
    """y - predicted, flat and in float64."""
    y, predicted = _aligned(metric, y, np.ravel(predicted))
    return np.asarray(y, dtype=np.float64) - predicted


CLASSIFICATION = {"accuracy": accuracy, "macro_f1": macro_f1}
REGRESSION = {"rmse": rmse, "mae": mae, "r2": r2}

#: metric name -> (label in an epoch line, format of its value); others show as ``name {:.4g}``
LABELS = {"loss": ("loss", "{:.4f}"), "accuracy": ("acc", "{:7.2%}"),
          "macro_f1": ("F1", "{:.4f}"), "rmse": ("RMSE", "{:.4g}"), "mae": ("MAE", "{:.4g}"),
          "r2": ("R²", "{:.4f}")}
