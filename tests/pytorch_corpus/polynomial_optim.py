"""Follows pytorch/tutorials, beginner_source/examples_nn/polynomial_optim.py ("PyTorch:
optim"): the nn polynomial trained by torch.optim.RMSprop.

Corpus script of jitgrad's PyTorch door (written for the corpus; seed from
JITGRAD_CORPUS_SEED). Last line: RESULT polynomial_optim=<final loss>.
"""
import math
import os

import torch

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-3
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
for t in range(2000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 500 == 499:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

linear_layer = model[0]
print(f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
      f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")
print(f"RESULT polynomial_optim={loss.item():.6g}")
