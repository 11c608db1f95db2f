"""Chapter 14 of Grokking Deep Learning on jitgrad: a character-level LSTM that learns to
write like its training text.

    python examples/char_lstm.py [text file] [epochs]

The default text is the book's Shakespeare, kept beside this repository (../shared/data).
The pieces come from ``jitgrad.apps.charlm``: ``CharLSTM`` is the book's Embedding feeding an
LSTMCell; ``windows`` cuts the text into 32 streams read side by side, 25 characters at a
time; ``train_window`` runs one window forward, back-propagates the summed losses through
its 25 steps only (truncated BPTT), clips the gradient and steps the optimizer. Every epoch
prints the perplexity (how many characters the model is, on average, unsure between) and a
generated sample. ``jitgrad train-text`` does the same, with options and progress bars.
"""
import math
import sys
from pathlib import Path

import numpy as np

from jitgrad import SGD
from jitgrad.apps.charlm import CharLSTM, Vocabulary, sample, train_window, windows

DEFAULT_TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "shakespeare.txt"


def main(path, epochs):
    text = Path(path).read_text()
    vocab = Vocabulary(text)
    inputs, targets = windows(vocab.encode(text), batch_size=32, bptt=25)

    np.random.seed(0)
    model = CharLSTM(len(vocab), hidden=128)
    optimizer = SGD(model.parameters(), alpha=0.5)

    for epoch in range(1, epochs + 1):
        state = model.init_hidden(batch_size=32)  # carried from each window to the next
        losses = []
        for window in range(len(inputs)):
            loss, state = train_window(model, optimizer, state, inputs[window],
                                       targets[window], clip=5.0)
            losses.append(loss)
        print(f"epoch {epoch}: perplexity {math.exp(np.mean(losses)):.2f}")
        print(text[0] + sample(model, vocab, 200, start=text[0], temperature=0.8, rng=epoch))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TEXT,
         int(sys.argv[2]) if len(sys.argv) > 2 else 10)
