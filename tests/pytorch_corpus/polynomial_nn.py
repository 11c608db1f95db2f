"""Follows pytorch/tutorials, beginner_source/examples_nn/polynomial_nn.py ("PyTorch: nn"):
the polynomial as nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1)) on the features
(x, x^2, x^3), nn.MSELoss(reduction="sum"), updates by hand over model.parameters().

Corpus script of jitgrad's PyTorch door (written for the corpus; seed from
JITGRAD_CORPUS_SEED). Last line: RESULT polynomial_nn=<final loss>.
"""
import math
import os

import torch

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# features x, x^2, x^3 as a (2000, 3) tensor, by broadcasting
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-6
for t in range(2000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 500 == 499:
        print(t, loss.item())

    model.zero_grad()
    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
print(f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
      f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")
print(f"RESULT polynomial_nn={loss.item():.6g}")
