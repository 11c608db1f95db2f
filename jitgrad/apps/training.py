"""The MLP classifier behind ``jitgrad train``, ``eval`` and ``predict``: build, train, test.

Inputs are rows of features (n, features); the model returns logits (n, classes).
"""
import numpy as np

from jitgrad.autograd.grad_mode import no_grad
from jitgrad.autograd.tensor import Tensor
from jitgrad.book import Linear, Sequential
from jitgrad.fitting import predict
from jitgrad.nn.activation import ReLU, Sigmoid, Tanh
from jitgrad.nn.dropout import Dropout
from jitgrad.optim import SGD, Adam, AdamW

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
OPTIMIZERS = {
    "sgd": lambda parameters, lr: SGD(parameters, lr=lr),
    "momentum": lambda parameters, lr: SGD(parameters, lr=lr, momentum=0.9),
    "adam": lambda parameters, lr: Adam(parameters, lr=lr),
    "adamw": lambda parameters, lr: AdamW(parameters, lr=lr),
}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "adam": 0.001, "adamw": 0.001}


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


def predict_probabilities(model, x, batch_size=1000):
    """Softmax probabilities (n, classes) for rows ``x``, in eval mode and without a graph."""
    return softmax(predict(model, x, batch_size))


def softmax(logits):
    """Probabilities (n, classes) from logits (n, classes), by jitgrad's softmax."""
    with no_grad():
        return Tensor(logits).softmax().data


def evaluate(model, x, y):
    """(mean cross-entropy loss, accuracy) of ``model`` on rows ``x`` with labels ``y``."""
    probabilities = predict_probabilities(model, x)
    picked = probabilities[np.arange(len(y)), y]
    loss = float(-np.log(np.maximum(picked, np.finfo(probabilities.dtype).tiny)).mean())
    return loss, float((probabilities.argmax(axis=1) == y).mean())
