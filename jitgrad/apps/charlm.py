"""The book's character-level language model (chapter 14): an Embedding feeding an LSTMCell
that predicts the next character, trained by truncated backpropagation through time."""
import math
import time

import numpy as np
from tqdm import tqdm

from jitgrad.autograd.grad_mode import no_grad
from jitgrad.autograd.tensor import Tensor
from jitgrad.book import Embedding, LSTMCell
from jitgrad.nn.loss import CrossEntropyLoss
from jitgrad.nn.module import Layer
from jitgrad.optim import clip_grad_norm
from jitgrad.utils import interrupts


class Vocabulary:
    """The characters of a text, each with an index (in sorted order)."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.index = {char: i for i, char in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """Characters -> int array (len(text),)."""
        return np.array([self.index[char] for char in text], dtype=np.int64)

    def decode(self, indices):
        return "".join(self.chars[i] for i in indices)


class CharLSTM(Layer):
    """(character indices (batch,), state) -> (logits (batch, vocab), new state).

    The embedding is as wide as the LSTM's hidden state; the output layer starts at zero,
    as in the book, so the first predictions are uniform.
    """

    def __init__(self, vocab_size, hidden=128, dtype=np.float64):
        super().__init__()
        self.embed = Embedding(vocab_size, hidden, dtype=dtype)
        self.lstm = LSTMCell(hidden, hidden, vocab_size, dtype=dtype)
        self.lstm.w_ho.weight.data *= 0
        self.parameters += self.embed.get_parameters() + self.lstm.get_parameters()

    def forward(self, indices, state):
        return self.lstm.forward(self.embed.forward(indices), state)

    def init_hidden(self, batch_size=1):
        return self.lstm.init_hidden(batch_size)


def windows(indices, batch_size, bptt):
    """Cut a text's indices into ``batch_size`` parallel streams, read ``bptt`` at a time.

    Returns (inputs, targets), each (windows, bptt, batch_size): targets are the next
    characters. Stream b is the b-th contiguous slice of the text, so a window continues
    where the previous one stopped and the LSTM state can be carried across.
    """
    stream_length = len(indices) // batch_size
    streams = indices[:stream_length * batch_size].reshape(batch_size, stream_length).T
    count = (stream_length - 1) // bptt
    if count < 1:
        raise ValueError(f"the text has {len(indices)} characters; with batch size {batch_size} "
                         f"and bptt {bptt} it needs at least {batch_size * (bptt + 1)}")
    cut = count * bptt
    return (streams[:cut].reshape(count, bptt, batch_size),
            streams[1:cut + 1].reshape(count, bptt, batch_size))


def window_step(model, optimizer, clip=None):
    """One truncated-BPTT update, as a function ``step(inputs, targets, h, c)``.

    ``inputs``, ``targets``: a window's character indices (bptt, batch); ``h``, ``c``: the
    state it starts from (batch, hidden), Tensors the graph starts at. The gradient of the
    summed per-step losses flows back to the window's start only; ``clip`` caps its global
    norm. Returns (the summed loss (0-d), h, c at the window's end), all Tensors, so that
    ``jitgrad.compile`` can record and replay the step.
    """
    criterion = CrossEntropyLoss()

    def train_window_step(inputs, targets, h, c):
        state, loss = (h, c), None
        for x, y in zip(inputs, targets):
            logits, state = model.forward(Tensor(x), state)
            step = criterion.forward(logits, Tensor(y))
            loss = step if loss is None else loss + step
        loss.backward()
        if clip:
            clip_grad_norm(optimizer.parameters, clip)
        optimizer.step()
        return loss, state[0], state[1]
    return train_window_step


def train_window(model, optimizer, state, inputs, targets, clip=None):
    """One truncated-BPTT update over a window (bptt, batch) of inputs and targets, with a
    new ``window_step``: (mean loss per step, the state at the end)."""
    return run_window(window_step(model, optimizer, clip), state, inputs, targets)


def run_window(step, state, inputs, targets):
    """``step`` (``window_step``'s function, or that compiled) on a window, from ``state``:
    (mean loss per step, the state at the end)."""
    fresh = (Tensor(s.data) for s in state)  # the graph starts at this window
    loss, *state = step(inputs, targets, *fresh)
    return float(loss.data) / len(inputs), tuple(state)


def train_epoch(model, step, inputs, targets, progress=None):
    """One pass of ``step`` (see ``run_window``) over all windows: (perplexity, seconds).
    ``progress``: a tqdm description."""
    state = model.init_hidden(inputs.shape[2])
    total = 0.0
    start = time.perf_counter()
    bar = tqdm(range(len(inputs)), desc=progress, leave=False, unit="window",
               disable=progress is None or None)
    with interrupts.catching_interrupts():  # a Ctrl-C dropped in a finalizer is raised again
        for number in bar:
            interrupts.check()
            loss, state = run_window(step, state, inputs[number], targets[number])
            total += loss
            bar.set_postfix(perplexity=f"{math.exp(total / (number + 1)):.2f}", refresh=False)
    return math.exp(total / len(inputs)), time.perf_counter() - start


@no_grad()
def sample(model, vocab, length, start, temperature=1.0, rng=None):
    """``length`` characters generated after the text ``start`` (at least one character),
    each drawn from softmax(logits / temperature); lower temperatures play safer."""
    rng = np.random.default_rng(rng)
    state = model.init_hidden(1)
    for index in vocab.encode(start):
        logits, state = model.forward(Tensor(np.array([index])), state)
    generated = []
    for _ in range(length):
        probabilities = (logits * (1.0 / temperature)).softmax().data[0].astype(np.float64)
        index = rng.choice(len(vocab), p=probabilities / probabilities.sum())
        generated.append(index)
        logits, state = model.forward(Tensor(np.array([index])), state)
    return vocab.decode(generated)
