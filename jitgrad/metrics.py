"""Metrics for ``jitgrad.fit``: functions ``metric(y, outputs) -> float`` of the targets and
the model's raw outputs, computed by scikit-learn.

Classifiers output logits (n, classes) against integer labels (n,); regressors output
predictions (n, 1) or (n,) against targets (n,). ``LABELS`` says how an epoch line shows each.
"""
import numpy as np
from sklearn import metrics as sk


def accuracy(y, logits):
    """Fraction of rows whose largest logit is the label's."""
    return float(sk.accuracy_score(y, np.argmax(logits, axis=1)))


def macro_f1(y, logits):
    """F1 of each class (one against the rest), averaged with equal weights over the classes."""
    return float(sk.f1_score(y, np.argmax(logits, axis=1), average="macro", zero_division=0))


def rmse(y, predicted):
    return float(np.sqrt(sk.mean_squared_error(y, np.ravel(predicted))))


def mae(y, predicted):
    return float(sk.mean_absolute_error(y, np.ravel(predicted)))


def r2(y, predicted):
    """Coefficient of determination: 1 - residual sum of squares / total sum of squares."""
    return float(sk.r2_score(y, np.ravel(predicted)))


CLASSIFICATION = {"accuracy": accuracy, "macro_f1": macro_f1}
REGRESSION = {"rmse": rmse, "mae": mae, "r2": r2}

#: metric name -> (label in an epoch line, format of its value); others show as ``name {:.4g}``
LABELS = {"loss": ("loss", "{:.4f}"), "accuracy": ("acc", "{:7.2%}"),
          "macro_f1": ("F1", "{:.4f}"), "rmse": ("RMSE", "{:.4g}"), "mae": ("MAE", "{:.4g}"),
          "r2": ("R²", "{:.4f}")}
