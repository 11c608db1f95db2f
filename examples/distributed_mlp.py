"""Train an MLP data-parallel over MPI ranks on synthetic data; rank 0 prints the progress.

    mpiexec -n 2 python examples/distributed_mlp.py
    mpiexec -n 8 -f hosts -ppn 2 python examples/distributed_mlp.py --epochs 20

Every rank makes the same data set (from the seed), starts from rank 0's weights, trains on
its shard of every global batch and steps with the gradient of the whole batch, so the run
learns the same weights whatever the number of ranks (up to rounding). Needs
``pip install "jitgrad[distributed]"``; run with plain ``python``, it is a job of one rank.
"""
import argparse
import time

import numpy as np

from jitgrad import SGD, CrossEntropyLoss, Linear, Sequential, Tanh, Tensor
from jitgrad.distributed import DataParallel


def make_data(samples, features, classes, seed):
    """Noisy Gaussian clusters, one per class: float32 inputs (samples, features), int labels."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, features))
    labels = rng.integers(0, classes, samples)
    inputs = centres[labels] + 3.0 * rng.standard_normal((samples, features))
    return inputs.astype(np.float32), labels


def accuracy(model, inputs, labels):
    return float((model.forward(Tensor(inputs)).data.argmax(axis=1) == labels).mean())


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128, help="global batch, over all ranks")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--alpha", type=float, default=0.5, help="SGD learning rate")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    with DataParallel() as dp:  # a failing rank aborts every rank instead of leaving them waiting
        inputs, labels = make_data(5000, 64, 10, args.seed)
        train, test = slice(0, 4000), slice(4000, None)
        np.random.seed(args.seed)
        model = Sequential([Linear(64, args.hidden, dtype=np.float32), Tanh(),
                            Linear(args.hidden, 10, dtype=np.float32)])
        params = model.get_parameters()
        dp.broadcast(params)
        optim = SGD(params, alpha=args.alpha)
        sampler = dp.sampler(4000, args.batch_size, seed=args.seed)
        if dp.is_root:
            print(f"{dp.world_size} rank(s), global batch {args.batch_size}, {len(sampler)} steps per epoch")
        for epoch in range(args.epochs):
            start, losses = time.perf_counter(), []
            sampler.set_epoch(epoch)
            for indices, batch_size in sampler:
                x, y = Tensor(inputs[train][indices]), Tensor(labels[train][indices])
                loss = CrossEntropyLoss().forward(model.forward(x), y)
                loss.backward()
                dp.sync_gradients(params, batch_size)
                optim.step()
                losses.append(loss.data.item())
            if dp.is_root:
                print(f"epoch {epoch + 1}: loss on rank 0's shards {np.mean(losses):.4f}, "
                      f"test accuracy {accuracy(model, inputs[test], labels[test]):.3f}, "
                      f"{time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
