"""The MLP classifier behind ``jitgrad train``, ``eval`` and ``predict``: build, train, test.

Inputs are rows of features (n, features); the model returns logits (n, classes).
"""
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from .grad_mode import no_grad
from .layers import Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import CrossEntropyLoss
from .optim import SGD, Adam
from .tensor import Tensor

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
OPTIMIZERS = {
    "sgd": lambda parameters, lr: SGD(parameters, lr=lr),
    "momentum": lambda parameters, lr: SGD(parameters, lr=lr, momentum=0.9),
    "adam": lambda parameters, lr: Adam(parameters, lr=lr),
}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "adam": 0.001}


def build_mlp(features, hidden, classes, activation="relu", dropout=0.0, dtype="float64"):
    """features -> [Linear, activation, (Dropout)] per hidden size -> Linear -> classes logits.

    Weights are drawn from NumPy's global RNG (seed it for a reproducible model).
    """
    sizes = [features, *hidden]
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [Linear(n_in, n_out, dtype=dtype), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Linear(sizes[-1], classes, dtype=dtype))
    return Sequential(layers)


@dataclass
class EpochStats:
    """One epoch: mean training loss and accuracy (over its batches), the test set's, and
    the training speed (samples per second, evaluation excluded)."""

    epoch: int
    loss: float
    accuracy: float
    test_loss: float
    test_accuracy: float
    samples_per_second: float

    def __str__(self):
        return (f"loss {self.loss:.4f}  acc {self.accuracy:7.2%}  test loss {self.test_loss:.4f}"
                f"  test acc {self.test_accuracy:7.2%}  {self.samples_per_second:>9,.0f} samples/s")


def train_epoch(model, optimizer, batches, progress=None, parallel=None):
    """One pass over ``batches`` of (x (n, features), y (n,)): (mean loss, accuracy, seconds).

    ``progress`` is a description for a tqdm bar over the batches (None: no bar).
    ``parallel``: a ``jitgrad.distributed.DataParallel``; each rank then computes the gradient
    of its shard of every batch and they are combined into the whole batch's before the step
    (loss and accuracy are then this rank's shard's). Batches too small to give every rank a
    row are skipped on every rank alike.
    """
    model.train()
    criterion = CrossEntropyLoss()
    total_loss = correct = seen = 0
    start = time.perf_counter()
    bar = tqdm(batches, desc=progress, leave=False, disable=progress is None or None,
               unit="batch")
    for x, y in bar:
        if parallel is not None:
            if len(y) < parallel.world_size:
                continue
            batch_size, x, y = len(y), parallel.shard(x), parallel.shard(y)
        logits = model.forward(Tensor(x))
        loss = criterion.forward(logits, Tensor(y))
        loss.backward()
        if parallel is not None:
            parallel.sync_gradients(optimizer.parameters, batch_size)
        optimizer.step()
        total_loss += float(loss.data) * len(y)
        correct += int((logits.data.argmax(axis=1) == y).sum())
        seen += len(y)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    return total_loss / seen, correct / seen, time.perf_counter() - start


def predict_probabilities(model, x, batch_size=1000):
    """Softmax probabilities (n, classes) for rows ``x``, in eval mode and without a graph."""
    model.eval()
    with no_grad():
        return np.concatenate([model.forward(Tensor(x[start:start + batch_size])).softmax().data
                               for start in range(0, len(x), batch_size)])


def evaluate(model, x, y):
    """(mean cross-entropy loss, accuracy) of ``model`` on rows ``x`` with labels ``y``."""
    probabilities = predict_probabilities(model, x)
    picked = probabilities[np.arange(len(y)), y]
    loss = float(-np.log(np.maximum(picked, np.finfo(probabilities.dtype).tiny)).mean())
    return loss, float((probabilities.argmax(axis=1) == y).mean())
