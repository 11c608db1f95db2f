"""A training step written the PyTorch way, built for jitgrad and for PyTorch eager alike.

784-512-512-10 MLP at batch 128: ``x @ W + b`` with broadcasting, LayerNorm, GELU,
``F.cross_entropy`` (mean), AdamW with a cosine schedule stepped every step. Both frameworks
start from the same parameters and data, so they compute the same losses step after step
(``tests/test_benchmarks_smoke.py`` checks it on a scaled-down copy).
"""
import numpy as np

SIZES = (784, 512, 512, 10)
BATCH = 128
LR, WEIGHT_DECAY, T_MAX = 1e-3, 0.01, 1000


def initial_state(sizes=SIZES, batch=BATCH, seed=0, dtype="float32"):
    """(parameters [(W (in, out), b (out,), gamma, beta) per hidden layer, then W, b], x, y)."""
    rng = np.random.default_rng(seed)
    params = []
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        params += [rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in), np.zeros(n_out)]
        if index < len(sizes) - 2:
            params += [np.ones(n_out), np.zeros(n_out)]  # LayerNorm's weight and bias
    x = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)
    return [p.astype(dtype) for p in params], x.astype(dtype), y


def forward(lib, F, params, x, hidden_layers):
    """The same code for both frameworks: ``lib`` is jitgrad or torch, ``F`` its functional."""
    h = x
    for layer in range(hidden_layers):
        weight, bias, gamma, beta = params[4 * layer:4 * layer + 4]
        h = F.gelu(F.layer_norm(h @ weight + bias, (weight.shape[1],), gamma, beta))
    weight, bias = params[-2:]
    return h @ weight + bias


def build_step(framework, sizes=SIZES, batch=BATCH, dtype="float32"):
    """One training step of ``framework`` ("jitgrad", "torch", or "jitgrad_compiled": jitgrad's
    step through ``jitgrad.compile``): returns the loss as a float."""
    arrays, x, y = initial_state(sizes, batch, dtype=dtype)
    hidden_layers = len(sizes) - 2
    if framework.startswith("jitgrad"):
        import jitgrad
        import jitgrad.nn.functional as F
        from jitgrad.optim import AdamW
        from jitgrad.optim.lr_scheduler import CosineAnnealingLR
        params = [jitgrad.Tensor(a, requires_grad=True) for a in arrays]
        x, y = jitgrad.Tensor(x), jitgrad.Tensor(y)
        lib = jitgrad
    else:
        import torch
        import torch.nn.functional as F
        from torch.optim import AdamW
        from torch.optim.lr_scheduler import CosineAnnealingLR
        params = [torch.tensor(a, requires_grad=True) for a in arrays]
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        lib = torch
    optimizer = AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
    scheduler = CosineAnnealingLR(optimizer, T_max=T_MAX)

    def train_step():
        optimizer.zero_grad()
        loss = F.cross_entropy(forward(lib, F, params, x, hidden_layers), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss
    run = lib.compile(train_step) if framework == "jitgrad_compiled" else train_step

    def step():
        return run().item()
    return step
