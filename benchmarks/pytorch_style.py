"""A training step written the PyTorch way, built for jitgrad and for PyTorch eager alike.

784-512-512-10 MLP at batch 128: ``x @ W + b`` with broadcasting, LayerNorm, GELU,
``F.cross_entropy`` (mean), AdamW with a cosine schedule stepped every step. Both frameworks
start from the same parameters and data, so they compute the same losses step after step
(``tests/test_benchmarks_smoke.py`` checks it on a scaled-down copy).

``build_step`` writes the model as bare tensors and ``F``; ``build_module_step`` writes it as
a PyTorch user would: ``nn.Sequential`` of ``nn.Linear`` (weight (out, in)), ``nn.LayerNorm``
and ``nn.GELU``, ``nn.CrossEntropyLoss``, ``model.parameters()``; the same code for both
libraries, from the same start.
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


def module_state(arrays, hidden_layers):
    """The arrays of ``initial_state`` as the state dict of ``module_model``: nn.Linear's
    weight is (out, in), the transpose of ``forward``'s W."""
    state = {}
    for layer in range(hidden_layers):
        weight, bias, gamma, beta = arrays[4 * layer:4 * layer + 4]
        state.update({f"{3 * layer}.weight": weight.T.copy(), f"{3 * layer}.bias": bias,
                      f"{3 * layer + 1}.weight": gamma, f"{3 * layer + 1}.bias": beta})
    state.update({f"{3 * hidden_layers}.weight": arrays[-2].T.copy(),
                  f"{3 * hidden_layers}.bias": arrays[-1]})
    return state


def module_model(nn, sizes):
    """Linear, LayerNorm, GELU per hidden layer, then Linear: ``forward``'s model as modules."""
    layers = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), nn.LayerNorm(n_out), nn.GELU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def build_module_step(framework, sizes=SIZES, batch=BATCH):
    """``build_step`` with the model written in modules ("jitgrad_nn", "torch_nn", or
    "jitgrad_nn_compiled"): float32, PyTorch's default."""
    arrays, x, y = initial_state(sizes, batch)
    state = module_state(arrays, len(sizes) - 2)
    if framework.startswith("jitgrad"):
        import jitgrad as lib
        from jitgrad import nn
        from jitgrad.optim import AdamW
        from jitgrad.optim.lr_scheduler import CosineAnnealingLR
        x, y = lib.Tensor(x), lib.Tensor(y)
    else:
        import torch as lib
        from torch import nn
        from torch.optim import AdamW
        from torch.optim.lr_scheduler import CosineAnnealingLR
        state = {name: lib.from_numpy(array) for name, array in state.items()}
        x, y = lib.from_numpy(x), lib.from_numpy(y)
    model = module_model(nn, sizes)
    model.load_state_dict(state)
    criterion = nn.CrossEntropyLoss()
    optimizer = AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    scheduler = CosineAnnealingLR(optimizer, T_max=T_MAX)

    def train_step():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss
    run = lib.compile(train_step) if framework.endswith("compiled") else train_step

    def step():
        return run().item()
    return step


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


LSTM_SIZES = (64, 128, 25, 16)  # vocabulary, hidden, steps, batch


def build_lstm_step(framework, sizes=LSTM_SIZES, seed=0):
    """A character-level LSTM's training step written with modules, the same code for
    ("jitgrad_nn", "torch_nn"): Embedding, LSTM, Linear over ``steps`` steps, CrossEntropyLoss
    on every step's prediction, SGD; both from jitgrad's initial weights."""
    vocabulary, hidden, steps, batch = sizes
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocabulary, (batch, steps + 1))
    if framework.startswith("jitgrad"):
        import jitgrad as lib
        from jitgrad import nn
        from jitgrad.optim import SGD
        x, y = lib.Tensor(tokens[:, :-1]), lib.Tensor(tokens[:, 1:].reshape(-1))
    else:
        import torch as lib
        from torch import nn
        from torch.optim import SGD
        x, y = lib.from_numpy(tokens[:, :-1]), lib.from_numpy(tokens[:, 1:].reshape(-1))

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocabulary, 32)
            self.lstm = nn.LSTM(32, hidden, batch_first=True)
            self.head = nn.Linear(hidden, vocabulary)

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out.reshape(-1, hidden))

    model = CharLSTM()
    np.random.seed(seed)
    state = initial_lstm_state(vocabulary, hidden)
    if not framework.startswith("jitgrad"):
        state = {name: lib.from_numpy(array) for name, array in state.items()}
    model.load_state_dict(state)
    criterion, optimizer = nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1)

    def step():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def initial_lstm_state(vocabulary, hidden):
    """The initial weights both frameworks start from: jitgrad.nn's draws."""
    from jitgrad import nn
    parts = {"embed": nn.Embedding(vocabulary, 32), "lstm": nn.LSTM(32, hidden),
             "head": nn.Linear(hidden, vocabulary)}
    return {f"{part}.{name}": array for part, layer in parts.items()
            for name, array in layer.state_dict().items()}
