"""Follows pytorch/tutorials, beginner_source/nn_tutorial.py ("What is torch.nn really?") up
to, not including, its convolutions: logistic regression on MNIST from scratch (hand-written
log_softmax and nll, updates in torch.no_grad()), then refactored with F.cross_entropy,
nn.Module, nn.Parameter, nn.Linear, optim, TensorDataset, DataLoader, and the tutorial's
loss_batch / fit / get_data functions.

MNIST is replaced by synthetic data of its shape (784 floats, 10 classes: a fixed random
prototype per class plus noise) with fewer samples, so no download. Seed from
JITGRAD_CORPUS_SEED. Last line: RESULT nn_tutorial=<validation loss after fit>.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch import optim
from torch.utils.data import DataLoader, TensorDataset

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)


def synthetic_mnist(size, data_seed):
    rng = np.random.default_rng(data_seed)
    prototypes = np.random.default_rng(4321).random((10, 784)).astype(np.float32)
    labels = rng.integers(0, 10, size)
    images = 0.1 * (prototypes[labels] + rng.normal(0, 2.0, (size, 784)))  # pixel-sized
    return images.astype(np.float32), labels


x_train, y_train = synthetic_mnist(2000, 1)
x_valid, y_valid = synthetic_mnist(500, 2)
x_train, y_train, x_valid, y_valid = map(torch.tensor, (x_train, y_train, x_valid, y_valid))
n, c = x_train.shape
print(x_train.shape, y_train.min(), y_train.max())

# --- from scratch ---------------------------------------------------------------------------
weights = torch.randn(784, 10) / math.sqrt(784)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


loss_func = nll


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


bs = 64
xb = x_train[0:bs]
yb = y_train[0:bs]
print(loss_func(model(xb), yb), accuracy(model(xb), yb))

lr = 0.5
epochs = 2

for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)

        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()

print(loss_func(model(xb), yb), accuracy(model(xb), yb))

# --- refactored: F.cross_entropy, nn.Module, nn.Linear, optim, DataLoader ---------------------
loss_func = F.cross_entropy


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


def get_model():
    model = Mnist_Logistic()
    return model, optim.SGD(model.parameters(), lr=lr)


def get_data(train_ds, valid_ds, bs):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=True),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)

        model.eval()
        with torch.no_grad():
            losses, nums = zip(
                *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl]
            )
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)

        print(epoch, val_loss)
    return val_loss


train_ds = TensorDataset(x_train, y_train)
valid_ds = TensorDataset(x_valid, y_valid)
train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
model, opt = get_model()
val_loss = fit(epochs, model, loss_func, opt, train_dl, valid_dl)
print(f"RESULT nn_tutorial={val_loss:.5f}")
