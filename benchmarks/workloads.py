"""The training-step workloads of issue 3, built for each implementation, and their GEMM floors.

A workload is one training step: forward, backward and an SGD update. ``build_step`` makes it
for jitgrad, for the NumPy reference (``benchmarks.book_numpy``), for PyTorch (eager or
``torch.compile``) or for ``jax.jit``, all from the same initial parameters and data, so all
compute the same losses step after step;
``build_floor`` makes the step's matrix products alone. A workload's ``scaled`` shrinks it for
the test suite. Shared by the benchmarks, the smoke test and ``benchmarks.memory``.
"""
import importlib
import os
import time
from dataclasses import dataclass, replace

import numpy as np

from .gemm import GemmRun, Product

#: The implementations a step can be built for. "numpy" is the book's design on NumPy, written
#: with care: parameters in the workload's dtype, no gradient for the data. "numpy_printed" is
#: the same code used as the book's scripts use it: the layers' default float64 parameters
#: (the book's initialisers take no dtype, so float32 data is computed in float64) and data
#: tensors made with ``autograd=True`` (the book needs that for the first layer's weights to
#: get a gradient, so every step also computes the data's gradient).
#: "jitgrad_compiled" is jitgrad's step (forward, backward, update) through ``jitgrad.compile``:
#: its first two calls record, later ones replay.
#: The compiled peers: "torch_compile" is PyTorch's step with the loss (forward and backward)
#: through ``torch.compile`` (inductor); "jax" is ``benchmarks.jax_steps``. Both compile when
#: built and keep the time in ``compile_seconds``.
IMPLEMENTATIONS = ("jitgrad", "numpy", "numpy_printed", "torch", "torch_compile", "jax",
                   "jitgrad_compiled")
COMPILED = ("torch_compile", "jax")
#: The module each implementation needs beyond jitgrad's own dependencies.
REQUIRES = {"torch": "torch", "torch_compile": "torch", "jax": "jax"}
DTYPES = ("float32", "float64")
#: PyTorch's threads: as many as the OpenBLAS of jitgrad and NumPy use (OPENBLAS_NUM_THREADS),
#: else 2, the cores of the machine issue 3's targets were set on.
TORCH_THREADS = int(os.environ.get("OPENBLAS_NUM_THREADS", "2"))


@dataclass(frozen=True)
class MLP:
    """Linear layers of ``sizes`` (input first) with Tanh between, on a batch of Gaussian
    inputs. ``loss`` is "mse" (the book's MSELoss: squared error summed over the batch, on
    one-hot targets) or "cross_entropy" (mean over the batch, on integer labels)."""

    name: str
    sizes: tuple
    batch: int
    loss: str
    alpha: float

    def scaled(self, divisor):
        """The same network with input, hidden widths and batch divided by ``divisor``."""
        *widths, classes = self.sizes
        return replace(self, sizes=(*(_shrink(w, divisor) for w in widths), classes),
                       batch=_shrink(self.batch, divisor))

    def parameter_shapes(self):
        """(kind, shape) of each parameter in the book's order: weight, bias per Linear."""
        return [entry for n_in, n_out in self.layer_sizes()
                for entry in (("weight", (n_in, n_out)), ("bias", (n_out,)))]

    def layer_sizes(self):
        """(n_inputs, n_outputs) of each Linear."""
        return list(zip(self.sizes, self.sizes[1:]))

    def products(self):
        """The step's necessary matrix products: per layer x @ W, x.T @ grad (for W) and,
        except in the first layer, whose input is data, grad @ W.T (for x)."""
        products = []
        for layer, (n_in, n_out) in enumerate(self.layer_sizes()):
            products += [Product(self.batch, n_in, n_out), Product(n_in, self.batch, n_out, "a")]
            if layer:
                products.append(Product(self.batch, n_out, n_in, "b"))
        return products

    def data(self, dtype, rng):
        """{"x": (batch, sizes[0]) inputs, "target": one-hot (batch, classes) for MSE, else
        int labels (batch,)}."""
        classes = self.sizes[-1]
        labels = rng.integers(0, classes, self.batch)
        target = np.eye(classes, dtype=dtype)[labels] if self.loss == "mse" else labels
        return {"x": rng.standard_normal((self.batch, self.sizes[0])).astype(dtype),
                "target": target}


@dataclass(frozen=True)
class CharLSTM:
    """The book's character LSTM: Embedding(vocab, embed), LSTMCell(embed, hidden, vocab),
    ``steps`` unrolled steps on a batch of ``batch`` sequences, cross-entropy summed over the
    steps, the hidden state starting from ``init_hidden`` every window."""

    name: str
    embed: int
    vocab: int = 62
    hidden: int = 512
    batch: int = 16
    steps: int = 25
    alpha: float = 0.02

    def scaled(self, divisor):
        """Embedding and hidden widths, batch and steps divided by ``divisor`` (at least 2)."""
        return replace(self, embed=_shrink(self.embed, divisor),
                       hidden=_shrink(self.hidden, divisor), batch=_shrink(self.batch, divisor),
                       steps=_shrink(self.steps, divisor))

    def parameter_shapes(self):
        """(kind, shape) of each parameter in the book's order: the embedding, then the
        cell's input-to-gate Linears (weight, bias) for gates f, i, o, c, its hidden-to-gate
        weights in the same order, and the output weight."""
        embed, hidden = self.embed, self.hidden
        return ([("embedding", (self.vocab, embed))]
                + [s for _ in "fioc" for s in (("weight", (embed, hidden)), ("bias", (hidden,)))]
                + [("weight", (hidden, hidden))] * 4 + [("weight", (hidden, self.vocab))])

    def products(self):
        """The window's products, each as large as an eager framework can make it, with the
        four gates fused into one product of width 4 * hidden. Per step (the book's loop runs
        the cell one step at a time): the forward x @ Wx, h @ Wh, h @ Wo; the backward
        g @ Wx.T (for the embedding rows), g @ Wh.T (except at the first step: the initial
        state is a constant) and g_out @ Wo.T. Once per window, with all the steps' rows (the
        weights' gradients are sums over the steps): x.T @ g, h.T @ g and h.T @ g_out."""
        batch, embed, hidden, gates = self.batch, self.embed, self.hidden, 4 * self.hidden
        rows = self.steps * batch
        products = []
        for step in range(self.steps):
            products += [Product(batch, embed, gates), Product(batch, hidden, gates),
                         Product(batch, hidden, self.vocab), Product(batch, gates, embed, "b"),
                         Product(batch, self.vocab, hidden, "b")]
            if step:
                products.append(Product(batch, gates, hidden, "b"))
        return products + [Product(embed, rows, gates, "a"), Product(hidden, rows, gates, "a"),
                           Product(hidden, rows, self.vocab, "a")]

    def data(self, dtype, rng):
        """{"chars": int (steps + 1, batch)}: step t reads chars[t] and predicts chars[t + 1]."""
        return {"chars": rng.integers(0, self.vocab, (self.steps + 1, self.batch))}


def _shrink(size, divisor):
    return max(2, size // divisor)


WORKLOADS = {w.name: w for w in (
    MLP("mlp_small", (784, 128, 10), batch=100, loss="mse", alpha=0.001),
    MLP("mlp_large", (784, 512, 512, 10), batch=128, loss="cross_entropy", alpha=0.05),
    MLP("mlp_wide", (1024, 2048, 2048, 10), batch=256, loss="cross_entropy", alpha=0.05),
    CharLSTM("lstm_char_e512", embed=512),
    CharLSTM("lstm_char_e128", embed=128),
)}


def initial_parameters(workload, dtype, rng):
    """One array per parameter, in the book's order, drawn as the book's initialisers do.

    Biases are small random numbers rather than the book's zeros, so that a bias wired to
    the wrong place changes the loss from the first step.
    """
    draw = {"weight": lambda shape: rng.standard_normal(shape) * np.sqrt(2.0 / shape[0]),
            "bias": lambda shape: 0.1 * rng.standard_normal(shape),
            "embedding": lambda shape: (rng.random(shape) - 0.5) / shape[1]}
    return [draw[kind](shape).astype(dtype) for kind, shape in workload.parameter_shapes()]


# --- jitgrad and the NumPy reference: the book's API -----------------------------------------
class BookStep:
    """A training step of a model written against the book's API (``fw`` is jitgrad or
    ``benchmarks.book_numpy``): ``loss_fn()`` builds the graph, backward, ``SGD.step``."""

    def __init__(self, fw, parameters, loss_fn, alpha):
        self.parameters, self.loss_fn = parameters, loss_fn
        self.optim = fw.SGD(parameters=parameters, alpha=alpha)

    def forward_backward(self):
        """Build the graph and back-propagate; returns the loss (summed to a float)."""
        loss = self.loss_fn()
        loss.backward()
        return float(loss.data.sum())

    def __call__(self):
        loss = self.forward_backward()
        self.optim.step()
        return loss

    def gradients(self):
        """Each parameter's gradient array, in the book's order."""
        return [p.grad.data for p in self.parameters]


class CompiledBookStep(BookStep):
    """A BookStep whose whole step runs through ``jitgrad.compile`` (``forward_backward``
    stays eager)."""

    def __init__(self, fw, parameters, loss_fn, alpha):
        super().__init__(fw, parameters, loss_fn, alpha)

        def train_step():
            loss = loss_fn()
            loss.backward()
            self.optim.step()
            return loss
        self.compiled = fw.compile(train_step)

    def __call__(self):
        return float(self.compiled().data.sum())


def _book_mlp(fw, workload, dtype, data, as_printed=False):
    layers = []
    for n_in, n_out in workload.layer_sizes():
        layers += [_book_layer(fw.Linear, as_printed, n_in, n_out, dtype=dtype), fw.Tanh()]
    model = fw.Sequential(layers[:-1])
    criterion = fw.MSELoss() if workload.loss == "mse" else fw.CrossEntropyLoss()
    x, target = fw.Tensor(data["x"], autograd=as_printed), fw.Tensor(data["target"])
    return model.get_parameters(), lambda: criterion.forward(model.forward(x), target)


def _book_lstm(fw, workload, dtype, data, as_printed=False):
    embed = _book_layer(fw.Embedding, as_printed, workload.vocab, workload.embed, dtype=dtype)
    cell = _book_layer(fw.LSTMCell, as_printed, workload.embed, workload.hidden, workload.vocab,
                       dtype=dtype)
    criterion = fw.CrossEntropyLoss()
    inputs = [fw.Tensor(chars, autograd=as_printed) for chars in data["chars"][:-1]]
    targets = [fw.Tensor(chars) for chars in data["chars"][1:]]

    def loss_fn():
        hidden, loss = cell.init_hidden(batch_size=workload.batch), None
        for input_chars, target_chars in zip(inputs, targets):
            output, hidden = cell.forward(embed.forward(input_chars), hidden)
            step_loss = criterion.forward(output, target_chars)
            loss = step_loss if loss is None else loss + step_loss
        return loss
    return embed.get_parameters() + cell.get_parameters(), loss_fn


def _book_layer(layer, as_printed, *sizes, dtype):
    """``layer(*sizes)`` in ``dtype``, or with the book's default (float64) ``as_printed``."""
    return layer(*sizes) if as_printed else layer(*sizes, dtype=dtype)


def _load_book_parameters(parameters, arrays):
    """Copy ``arrays`` into the parameters in place, checking that their shapes line up."""
    shapes, expected = [p.data.shape for p in parameters], [a.shape for a in arrays]
    if shapes != expected:
        raise ValueError(f"the model's parameter shapes {shapes} are not the workload's "
                         f"{expected}; has the layers' parameter order changed?")
    for parameter, array in zip(parameters, arrays):
        parameter.data[...] = array


# --- PyTorch eager ---------------------------------------------------------------------------
class TorchStep:
    """A PyTorch training step: zero_grad, forward, backward, ``optim.step()``."""

    def __init__(self, parameters, loss_fn, alpha):
        import torch
        self.loss_fn = loss_fn
        self.optim = torch.optim.SGD(parameters, lr=alpha)

    def forward_backward(self):
        self.optim.zero_grad()
        loss = self.loss_fn()
        loss.backward()
        return loss.item()

    def __call__(self):
        loss = self.forward_backward()
        self.optim.step()
        return loss


def _compiled_torch_step(parameters, loss_fn, alpha):
    """A TorchStep whose loss goes through ``torch.compile``, compiled (forward and backward)
    by one ``forward_backward``, which leaves the parameters as they were."""
    import torch
    step = TorchStep(parameters, torch.compile(loss_fn), alpha)
    start = time.perf_counter()
    step.forward_backward()
    step.compile_seconds = time.perf_counter() - start
    return step


def _torch_mlp(workload, dtype, arrays, data):
    import torch
    import torch.nn.functional as F
    layers = []
    for weight, bias in zip(arrays[::2], arrays[1::2]):
        linear = torch.nn.Linear(*weight.shape, dtype=_torch_dtype(dtype))
        _copy_into(linear.weight, weight.T)
        _copy_into(linear.bias, bias)
        layers += [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1])
    x, target = torch.from_numpy(data["x"]), torch.from_numpy(data["target"])
    if workload.loss == "mse":
        return model.parameters(), lambda: F.mse_loss(model(x), target, reduction="sum")
    return model.parameters(), lambda: F.cross_entropy(model(x), target)


def _torch_lstm(workload, dtype, arrays, data):
    import torch
    import torch.nn.functional as F
    torch_dtype = _torch_dtype(dtype)
    embed = torch.nn.Embedding(workload.vocab, workload.embed, dtype=torch_dtype)
    cell = torch.nn.LSTMCell(workload.embed, workload.hidden, dtype=torch_dtype)
    head = torch.nn.Linear(workload.hidden, workload.vocab, bias=False, dtype=torch_dtype)
    _load_torch_lstm(embed, cell, head, arrays)
    h0 = torch.zeros(workload.batch, workload.hidden, dtype=torch_dtype)
    h0[:, 0] = 1  # the book's init_hidden
    chars = torch.from_numpy(data["chars"])

    def loss_fn():
        state, loss = (h0, h0), 0
        for t in range(workload.steps):
            state = cell(embed(chars[t]), state)
            loss = loss + F.cross_entropy(head(state[0]), chars[t + 1])
        return loss
    parameters = [p for m in (embed, cell, head) for p in m.parameters() if p.requires_grad]
    return parameters, loss_fn


def _load_torch_lstm(embed, cell, head, arrays):
    """Copy the book-ordered arrays into torch's fused layout (gates stacked as i, f, g, o;
    the book's candidate "c" is torch's "g")."""
    embedding, *x_gates, hf, hi, ho, hc, w_ho = arrays
    x_weight = dict(zip("fioc", x_gates[::2]))
    x_bias = dict(zip("fioc", x_gates[1::2]))
    h_weight = dict(zip("fioc", (hf, hi, ho, hc)))
    _copy_into(embed.weight, embedding)
    _copy_into(cell.weight_ih, np.concatenate([x_weight[g].T for g in "ifco"]))
    _copy_into(cell.weight_hh, np.concatenate([h_weight[g].T for g in "ifco"]))
    _copy_into(cell.bias_ih, np.concatenate([x_bias[g] for g in "ifco"]))
    _copy_into(cell.bias_hh, np.zeros(cell.bias_hh.shape))
    # The book's cell has one bias per gate; training torch's second one too would move
    # each gate's total bias twice as fast and the model would no longer be the book's.
    cell.bias_hh.requires_grad_(False)
    _copy_into(head.weight, w_ho.T)


def _copy_into(parameter, array):
    import torch
    with torch.no_grad():
        parameter.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _torch_dtype(dtype):
    import torch
    return getattr(torch, np.dtype(dtype).name)


# --- building ----------------------------------------------------------------------------------
_BOOK_BUILDERS = {MLP: _book_mlp, CharLSTM: _book_lstm}
_TORCH_BUILDERS = {MLP: _torch_mlp, CharLSTM: _torch_lstm}
_BOOK_FRAMEWORKS = {"jitgrad": "jitgrad", "jitgrad_compiled": "jitgrad",
                    "numpy": "benchmarks.book_numpy", "numpy_printed": "benchmarks.book_numpy"}


def build_step(workload, implementation, dtype, seed=0):
    """A callable running one training step of ``workload`` on ``implementation`` (one of
    IMPLEMENTATIONS) in ``dtype``; it returns the step's loss as a float.

    The step also has ``forward_backward()`` (the step without the update). Every
    implementation starts from the same parameters and data for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    arrays = initial_parameters(workload, dtype, rng)
    data = workload.data(np.dtype(dtype), rng)
    if implementation == "jax":
        from . import jax_steps
        return jax_steps.build(workload, np.dtype(dtype), arrays, data)
    if implementation in ("torch", "torch_compile"):
        import torch
        torch.set_num_threads(TORCH_THREADS)
        parameters, loss_fn = _TORCH_BUILDERS[type(workload)](workload, dtype, arrays, data)
        if implementation == "torch":
            return TorchStep(parameters, loss_fn, workload.alpha)
        return _compiled_torch_step(parameters, loss_fn, workload.alpha)
    fw = importlib.import_module(_BOOK_FRAMEWORKS[implementation])
    parameters, loss_fn = _BOOK_BUILDERS[type(workload)](
        fw, workload, dtype, data, as_printed=implementation == "numpy_printed")
    _load_book_parameters(parameters, arrays)
    step_class = CompiledBookStep if implementation == "jitgrad_compiled" else BookStep
    return step_class(fw, parameters, loss_fn, workload.alpha)


def gemm_flops(workload):
    """Floating-point operations in the step's necessary matrix products."""
    return sum(product.flops for product in workload.products())


def build_floor(workload, dtype):
    """The step's matrix products alone, through jitgrad's BLAS; ``.flops`` counts them."""
    return GemmRun(workload.products(), dtype)
