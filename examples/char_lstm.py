"""Chapter 14 of Grokking Deep Learning on jitgrad: a character-level LSTM that learns to
write like its training text.

    python examples/char_lstm.py [text file] [epochs]

The default text is the book's Shakespeare, kept beside this repository (../shared/data).
Every epoch prints the perplexity (how many characters the model is, on average, unsure
between) and a sample of generated text. ``jitgrad train-text`` is the same with more options.
"""
import math
import sys
from pathlib import Path

import numpy as np

from jitgrad import SGD, CrossEntropyLoss, Embedding, LSTMCell, Tensor, clip_grad_norm
from jitgrad.charlm import Vocabulary, sample, windows

DEFAULT_TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "shakespeare.txt"


class Model:
    """The book's pair: an Embedding feeding an LSTMCell, which predicts the next character."""

    def __init__(self, vocab_size, hidden):
        self.embed = Embedding(vocab_size=vocab_size, dim=hidden)
        self.lstm = LSTMCell(n_inputs=hidden, n_hidden=hidden, n_output=vocab_size)
        self.lstm.w_ho.weight.data *= 0  # start from uniform predictions, as the book does

    def forward(self, indices, state):
        return self.lstm.forward(self.embed.forward(indices), state)

    def init_hidden(self, batch_size):
        return self.lstm.init_hidden(batch_size)

    def get_parameters(self):
        return self.embed.get_parameters() + self.lstm.get_parameters()


def main(path, epochs):
    text = Path(path).read_text()
    vocab = Vocabulary(text)
    # 32 streams read side by side, 25 characters per window of backpropagation
    inputs, targets = windows(vocab.encode(text), batch_size=32, bptt=25)

    np.random.seed(0)
    model = Model(len(vocab), hidden=128)
    criterion = CrossEntropyLoss()
    optimizer = SGD(model.get_parameters(), alpha=0.5)

    for epoch in range(epochs):
        state = model.init_hidden(batch_size=32)
        total = 0.0
        for window_inputs, window_targets in zip(inputs, targets):
            # Carry the state over from the previous window, but not its graph: gradients
            # flow back through this window's 25 steps only (truncated BPTT).
            state = tuple(Tensor(s.data) for s in state)
            loss = None
            for x, y in zip(window_inputs, window_targets):
                logits, state = model.forward(Tensor(x), state)
                step_loss = criterion.forward(logits, Tensor(y))
                loss = step_loss if loss is None else loss + step_loss
            loss.backward()
            clip_grad_norm(optimizer.parameters, 5.0)  # keeps a rare huge gradient harmless
            optimizer.step()
            total += float(loss.data) / len(window_inputs)
        print(f"epoch {epoch + 1}: perplexity {math.exp(total / len(inputs)):.2f}")
        print(text[0] + sample(model, vocab, 200, start=text[0], temperature=0.8, rng=epoch))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TEXT,
         int(sys.argv[2]) if len(sys.argv) > 2 else 10)
