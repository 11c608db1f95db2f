"""Chapter 13 of Grokking Deep Learning, step by step, on jitgrad.

Each function below is one stage of the chapter: a network trained with hand-written
weight updates, then the same with an optimizer, layers, a loss layer, nonlinearities,
an embedding, and cross-entropy. Each prints its loss as it trains.

    python examples/ch13_basics.py
"""
import numpy as np

from jitgrad import (
    SGD,
    CrossEntropyLoss,
    Embedding,
    Linear,
    MSELoss,
    Sequential,
    Sigmoid,
    Tanh,
    Tensor,
)

# Four examples of two inputs; the target copies the second input.
INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
TARGETS = np.array([[0], [1], [0], [1]])


def report(title, losses):
    print(f"{title:<28}" + " ".join(f"{float(np.sum(loss)):.4f}" for loss in losses))


def fit(forward, criterion, optimizer, data, target, steps=10):
    """Run ``steps`` steps of forward, loss, backward, update; the list of losses."""
    losses = []
    for _ in range(steps):
        loss = criterion(forward(data), target)
        loss.backward(Tensor(np.ones_like(loss.data)))
        optimizer.step()
        losses.append(loss.data)
    return losses


def hand_written_updates():
    """Autograd computes the gradients; we apply them to the weights ourselves."""
    data, target = Tensor(INPUTS, autograd=True), Tensor(TARGETS, autograd=True)
    weights = [Tensor(np.random.rand(2, 3), autograd=True),
               Tensor(np.random.rand(3, 1), autograd=True)]
    losses = []
    for _ in range(10):
        prediction = data.mm(weights[0]).mm(weights[1])
        loss = ((prediction - target) * (prediction - target)).sum(0)
        loss.backward(Tensor(np.ones_like(loss.data)))
        for w in weights:
            w.data -= w.grad.data * 0.1
            w.grad.data *= 0
        losses.append(loss.data)
    report("hand-written updates", losses)


def with_an_optimizer():
    """SGD does the update-and-zero loop for every parameter it is given."""
    weights = [Tensor(np.random.rand(2, 3), autograd=True),
               Tensor(np.random.rand(3, 1), autograd=True)]
    squared_error = lambda p, t: ((p - t) * (p - t)).sum(0)
    losses = fit(lambda x: x.mm(weights[0]).mm(weights[1]), squared_error,
                 SGD(parameters=weights, alpha=0.1),
                 Tensor(INPUTS, autograd=True), Tensor(TARGETS, autograd=True))
    report("SGD optimizer", losses)


def with_layers_and_a_loss_layer():
    """Linear layers hold their weights; Sequential chains them; MSELoss is a layer too."""
    model = Sequential([Linear(2, 3), Linear(3, 1)])
    losses = fit(model.forward, MSELoss().forward, SGD(model.get_parameters(), alpha=0.02),
                 Tensor(INPUTS, autograd=True), Tensor(TARGETS, autograd=True))
    report("Sequential + MSELoss", losses)


def with_nonlinearities():
    """Tanh and Sigmoid layers between the Linear ones."""
    model = Sequential([Linear(2, 3), Tanh(), Linear(3, 1), Sigmoid()])
    losses = fit(model.forward, MSELoss().forward, SGD(model.get_parameters(), alpha=1),
                 Tensor(INPUTS, autograd=True), Tensor(TARGETS, autograd=True))
    report("Tanh and Sigmoid layers", losses)


def with_an_embedding():
    """Integer inputs pick rows of an Embedding's weight instead of multiplying one-hots."""
    model = Sequential([Embedding(5, 3), Tanh(), Linear(3, 1), Sigmoid()])
    losses = fit(model.forward, MSELoss().forward, SGD(model.get_parameters(), alpha=0.5),
                 Tensor(np.array([1, 2, 1, 2]), autograd=True), Tensor(TARGETS, autograd=True))
    report("Embedding layer", losses)


def with_cross_entropy():
    """Classify into 4 classes; CrossEntropyLoss applies the softmax itself.

    jitgrad back-propagates the gradient of the batch-mean loss, which is the book's
    gradient divided by the batch size, so the rate is the book's 0.1 times 4.
    """
    data = Tensor(np.array([1, 2, 1, 2]), autograd=True)
    target = Tensor(np.array([0, 1, 0, 1]), autograd=True)
    model = Sequential([Embedding(3, 3), Tanh(), Linear(3, 4)])
    losses = fit(model.forward, CrossEntropyLoss().forward,
                 SGD(model.get_parameters(), alpha=0.1 * len(data.data)), data, target)
    report("cross-entropy", losses)


if __name__ == "__main__":
    for stage in (hand_written_updates, with_an_optimizer, with_layers_and_a_loss_layer,
                  with_nonlinearities, with_an_embedding, with_cross_entropy):
        np.random.seed(0)  # each stage starts from the same random state
        stage()
