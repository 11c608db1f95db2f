"""Follows pytorch/tutorials, beginner_source/basics/quickstart_tutorial.py ("Quickstart"):
a NeuralNetwork (nn.Flatten, then nn.Sequential of Linear-ReLU-Linear-ReLU-Linear), its
train(dataloader, model, loss_fn, optimizer) and test(dataloader, model, loss_fn) functions,
nn.CrossEntropyLoss and torch.optim.SGD, over DataLoaders.

FashionMNIST is replaced by scikit-learn's bundled digits (a tabular 1797 x 64 dataset, as
1x8x8 images) split 1400/397 with a fixed permutation, with a hidden width of 128 and a
larger learning rate, so no download and seconds of run time. Seed from
JITGRAD_CORPUS_SEED. Last line: RESULT quickstart_digits=<test accuracy>.
"""
import os

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)

digits = load_digits()
images = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
order = np.random.default_rng(0).permutation(len(images))
train_idx, test_idx = order[:1400], order[1400:]
training_data = TensorDataset(torch.tensor(images[train_idx]),
                              torch.tensor(digits.target[train_idx]))
test_data = TensorDataset(torch.tensor(images[test_idx]), torch.tensor(digits.target[test_idx]))

batch_size = 64

train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

device = "cpu"
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 10 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct


epochs = 5
for t in range(epochs):
    print(f"Epoch {t + 1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    accuracy = test(test_dataloader, model, loss_fn)
print("Done!")
print(f"RESULT quickstart_digits={accuracy:.4f}")
