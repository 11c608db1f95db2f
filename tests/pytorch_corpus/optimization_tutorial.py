"""Follows pytorch/tutorials, beginner_source/basics/optimization_tutorial.py ("Optimizing
Model Parameters"): NeuralNetwork (Flatten, then Linear-ReLU-Linear-ReLU-Linear), a
train_loop and test_loop over DataLoaders, nn.CrossEntropyLoss, torch.optim.SGD.

The tutorial's FashionMNIST is replaced by synthetic data of its shape (1x28x28 images, 10
classes: a fixed random prototype per class plus noise), fewer samples and epochs, and a
larger learning rate, so that it runs in seconds without a download. Seed from
JITGRAD_CORPUS_SEED. Last line: RESULT optimization_tutorial=<test accuracy>.
"""
import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)


class SyntheticFashion(Dataset):
    """FashionMNIST's shapes: (image (1, 28, 28) float32 in [0, 1], label int)."""

    prototypes = np.random.default_rng(1234).random((10, 1, 28, 28)).astype(np.float32)

    def __init__(self, size, data_seed):
        rng = np.random.default_rng(data_seed)
        self.labels = rng.integers(0, 10, size)
        noise = rng.normal(0.0, 0.7, (size, 1, 28, 28)).astype(np.float32)
        self.images = np.clip(self.prototypes[self.labels] + noise, 0, 1)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return torch.from_numpy(self.images[idx]), int(self.labels[idx])


training_data = SyntheticFashion(1200, data_seed=1)
test_data = SyntheticFashion(400, data_seed=2)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork()

learning_rate = 5e-2
batch_size = 64
epochs = 4

train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)


def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)

        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 10 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0

    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()

    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct


for t in range(epochs):
    print(f"Epoch {t + 1}\n-------------------------------")
    train_loop(train_dataloader, model, loss_fn, optimizer)
    accuracy = test_loop(test_dataloader, model, loss_fn)
print("Done!")
print(f"RESULT optimization_tutorial={accuracy:.4f}")
