"""Follows pytorch/tutorials, beginner_source/examples_tensor/polynomial_tensor.py ("PyTorch:
Tensors"): y = sin(x) fit by a third-order polynomial, gradients written by hand.

Corpus script of jitgrad's PyTorch door (written for the corpus; seed from
JITGRAD_CORPUS_SEED). Last line: RESULT polynomial_tensor=<final loss>.
"""
import math
import os

import torch

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)

dtype = torch.float
device = torch.device("cpu")

# input and output data
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# random weights
a = torch.randn((), device=device, dtype=dtype)
b = torch.randn((), device=device, dtype=dtype)
c = torch.randn((), device=device, dtype=dtype)
d = torch.randn((), device=device, dtype=dtype)

learning_rate = 1e-6
for t in range(2000):
    # forward pass: predicted y
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    # loss
    loss = (y_pred - y).pow(2).sum().item()
    if t % 500 == 499:
        print(t, loss)

    # backprop by hand: gradients of a, b, c, d with respect to the loss
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()

    # gradient descent
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
print(f"RESULT polynomial_tensor={loss:.6g}")
