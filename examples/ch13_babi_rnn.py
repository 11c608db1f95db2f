"""Chapter 13's last model: an RNNCell reading five-word bAbI sentences and predicting the
sixth word, on jitgrad.

    python examples/ch13_babi_rnn.py [path/to/qa1_single-supporting-fact_train.txt]

The default path is the copy kept beside this repository (../shared/data).
"""
import sys
from pathlib import Path

import numpy as np

from jitgrad import SGD, CrossEntropyLoss, Embedding, RNNCell, Tensor

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "babi_qa1_train.txt"


def sentences(path, count=1000, length=6):
    """The first ``count`` lines as lists of ``length`` lower-case words (numbers dropped,
    short lines padded at the front with '-')."""
    lines = Path(path).read_text().splitlines()[:count]
    words = [line.lower().split(" ")[1:] for line in lines]
    return [["-"] * (length - len(line)) + line for line in words]


def main(path):
    tokens = sentences(path)
    vocab = sorted({word for line in tokens for word in line})
    word_index = {word: i for i, word in enumerate(vocab)}
    data = np.array([[word_index[word] for word in line] for line in tokens])

    np.random.seed(0)
    embed = Embedding(vocab_size=len(vocab), dim=16)
    model = RNNCell(n_inputs=16, n_hidden=16, n_output=len(vocab))
    criterion = CrossEntropyLoss()
    batch_size = 100
    # The book's rate 0.05 applied its batch-summed gradient; jitgrad's is batch-averaged.
    optimizer = SGD(model.get_parameters() + embed.get_parameters(), alpha=0.05 * batch_size)

    for step in range(1000):
        hidden = model.init_hidden(batch_size=batch_size)
        for t in range(5):  # read the first five words
            output, hidden = model.forward(embed.forward(Tensor(data[:batch_size, t])), hidden)
        target = Tensor(data[:batch_size, 5])  # and predict the sixth
        loss = criterion.forward(output, target)
        loss.backward()
        optimizer.step()
        if step % 200 == 0 or step == 999:
            correct = (output.data.argmax(axis=1) == target.data).mean()
            print(f"step {step:>3}  loss {float(loss.data):.4f}  correct {correct:.0%}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DATA)
