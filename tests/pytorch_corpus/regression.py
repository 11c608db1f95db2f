"""Follows pytorch/examples, regression/main.py: a degree-4 polynomial with random
coefficients learned by one torch.nn.Linear on the features (x, x^2, x^3, x^4), batches drawn
with torch.randn, F.smooth_l1_loss, updates by hand (param.add_(-0.1 * param.grad)) until the
loss falls below 1e-3.

Corpus script of jitgrad's PyTorch door (written for the corpus; seed from
JITGRAD_CORPUS_SEED; the loop is capped at 10000 batches, which torch's runs stay far below). Last line:
RESULT regression=<log10 of the batches it took>.
"""
import math
import os
from itertools import count

import torch
import torch.nn.functional as F

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)

POLY_DEGREE = 4
W_target = torch.randn(POLY_DEGREE, 1) * 5
b_target = torch.randn(1) * 5


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    """Approximated function."""
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = "y = "
    for i, w in enumerate(W):
        result += "{:+.2f} x^{} ".format(w, i + 1)
    result += "{:+.2f}".format(b[0])
    return result


def get_batch(batch_size=32):
    """Builds a batch i.e. (x, f(x)) pair."""
    random = torch.randn(batch_size)
    x = make_features(random)
    y = f(x)
    return x, y


fc = torch.nn.Linear(W_target.size(0), 1)

for batch_idx in count(1):
    batch_x, batch_y = get_batch()

    fc.zero_grad()

    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()

    output.backward()

    for param in fc.parameters():
        param.data.add_(-0.1 * param.grad)

    if loss < 1e-3 or batch_idx == 10000:
        break

print("Loss: {:.6f} after {} batches".format(loss, batch_idx))
print("==> Learned function:\t" + poly_desc(fc.weight.view(-1), fc.bias))
print("==> Actual function:\t" + poly_desc(W_target.view(-1), b_target))
print(f"RESULT regression={math.log10(batch_idx):.4f}")
