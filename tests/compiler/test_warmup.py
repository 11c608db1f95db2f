"""Importing compiles nothing; warmup() caches every kernel a training step uses."""
import importlib
import io
import os
import pkgutil
import subprocess
import sys

import numpy as np
from numba.core.registry import CPUDispatcher

import jitgrad
import kernels
from jitgrad.backend import kernel_cache

warmup_module = importlib.import_module("jitgrad.compiler.warmup")  # jitgrad.compiler.warmup is the function
from jitgrad import (
    SGD,
    CrossEntropyLoss,
    Embedding,
    Linear,
    LSTMCell,
    MSELoss,
    ReLU,
    RNNCell,
    Sequential,
    Sigmoid,
    Tanh,
    Tensor,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

KERNELS_SNAPSHOT = """
import importlib, pkgutil, jitgrad, kernels
from numba.core.registry import CPUDispatcher
compiled = [name for info in pkgutil.iter_modules(kernels.__path__)
            for name, obj in vars(importlib.import_module('kernels.' + info.name)).items()
            if isinstance(obj, CPUDispatcher) and obj.signatures
            and obj.targetoptions.get('inline') != 'always']
print(len(compiled))
"""


def kernel_signatures():
    """{kernel name: number of compiled signatures} over the whole kernels package.

    Helpers compiled inline into kernels (``inline="always"``) are never called on their own.
    """
    counts = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"kernels.{info.name}")
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("inline") != "always":
                counts[f"{info.name}.{name}"] = len(obj.signatures)
    return counts


def test_import_compiles_nothing():
    result = subprocess.run([sys.executable, "-c", KERNELS_SNAPSHOT], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "0"


def train_a_bit_of_everything(dtype):
    np.random.seed(0)
    embed = Embedding(7, 4, dtype=dtype)
    lstm, rnn = LSTMCell(4, 5, 7, dtype=dtype), RNNCell(4, 5, 7, dtype=dtype)
    mlp = Sequential([Linear(7, 6, dtype=dtype), Tanh(), ReLU(), Linear(6, 7, dtype=dtype), Sigmoid()])
    params = embed.get_parameters() + lstm.get_parameters() + rnn.get_parameters() + mlp.get_parameters()
    optim = SGD(params, alpha=0.1)
    for _ in range(2):
        hidden, rnn_hidden = lstm.init_hidden(3), rnn.init_hidden(3)
        loss = None
        for t in range(3):
            x = embed.forward(Tensor(np.array([t, 1, 2])))
            out, hidden = lstm.forward(x, hidden)
            out2, rnn_hidden = rnn.forward(x, rnn_hidden)
            step = CrossEntropyLoss().forward(mlp.forward(out + out2), Tensor(np.array([0, 1, 6])))
            loss = step if loss is None else loss + step
        loss = loss + MSELoss().forward(out.softmax(), Tensor(np.zeros((3, 7), dtype=dtype))).sum() / 2.0
        loss.backward()
        optim.step()
    train_a_compiled_mlp(dtype)


def train_a_compiled_mlp(dtype):
    """Replayed steps of a compiled MLP and LSTM window with plain SGD: fused updates in
    float32."""
    mlp = Sequential([Linear(7, 6, dtype=dtype), Tanh(), Linear(6, 3, dtype=dtype)])
    optim = SGD(mlp.get_parameters(), lr=0.1)

    def train_step(x, y):
        loss = MSELoss().forward(mlp.forward(x), y)
        loss.backward()
        optim.step()
        return loss
    step = jitgrad.compile(train_step)
    for _ in range(3):
        step(Tensor(np.ones((5, 7), dtype)), Tensor(np.zeros((5, 3), dtype)))

    embed, cell = Embedding(7, 4, dtype=dtype), LSTMCell(4, 5, 7, dtype=dtype)
    optim = SGD(embed.get_parameters() + cell.get_parameters(), lr=0.1)

    def train_window(chars):
        hidden, loss = cell.init_hidden(3), None
        for t in range(3):
            out, hidden = cell.forward(embed.forward(chars[t]), hidden)
            step_loss = CrossEntropyLoss().forward(out, chars[t + 1])
            loss = step_loss if loss is None else loss + step_loss
        loss.backward()
        optim.step()
        return loss
    window = jitgrad.compile(train_window)
    for _ in range(3):
        window(Tensor(np.arange(12).reshape(4, 3) % 7))


def test_warmup_compiles_every_kernel_a_training_step_uses():
    """In fresh processes, so that kernels other tests compiled do not hide a gap: a full
    warm-up loads every kernel, and after the quick one (the cache already full) training
    loads kernels from the cache but compiles none."""
    for mode in ("full", "quick"):
        subprocess.run([sys.executable, "-c", f"import test_warmup; test_warmup.check_warmup_coverage({mode!r})"],
                       cwd=os.path.dirname(__file__), check=True, env={**os.environ, "PYTHONPATH": ROOT})


def check_warmup_coverage(mode):
    stream = io.StringIO()
    seconds = jitgrad.warmup(progress=True, stream=stream, load_now=mode == "full")
    assert seconds > 0 and "jitgrad warmup" in stream.getvalue()
    after_warmup = kernel_signatures()
    if mode == "full":
        assert all(after_warmup.values()), f"kernels warmup missed: {after_warmup}"
    else:
        assert "is in the cache" in stream.getvalue() and not any(after_warmup.values())
    missed_by_warmup = compilations()  # a cold cache (a fresh machine) makes warmup compile
    for dtype in (np.float32, np.float64):
        train_a_bit_of_everything(dtype)
    compiled = {name: count - missed_by_warmup[name] for name, count in compilations().items()}
    assert not any(compiled.values()), f"compiled after warmup: {compiled}"
    if mode == "full":
        assert kernel_signatures() == after_warmup


def compilations():
    """{kernel name: how many signatures it has compiled in this process so far}."""
    return {name: sum(misses.values()) for name, misses in kernel_cache_misses().items()}


def kernel_cache_misses():
    """{kernel name: Counter of the signatures it compiled (not found in the cache)}."""
    return {f"{info.name}.{name}": obj.stats.cache_misses
            for info in pkgutil.iter_modules(kernels.__path__)
            for name, obj in vars(importlib.import_module(f"kernels.{info.name}")).items()
            if isinstance(obj, CPUDispatcher)}


def test_a_changed_kernel_source_means_a_full_warmup(tmp_path, monkeypatch):
    """The quick path trusts the record only for the code, CPU and dtypes it was made for."""
    monkeypatch.setattr(kernel_cache, "folder", lambda: str(tmp_path))
    stamp = kernel_cache.stamp()
    assert not warmup_module._all_cached(stamp, ["float32"])  # no record yet
    warmup_module._record_cached(stamp, ["float32"])
    assert warmup_module._all_cached(stamp, ["float32"])
    assert not warmup_module._all_cached(stamp, ["float32", "float64"])
    edited = {**stamp, "sources": {**stamp["sources"], "matmul.py": [1, 2]}}
    assert not warmup_module._all_cached(edited, ["float32"])
