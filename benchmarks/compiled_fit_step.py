"""``jitgrad train``'s step on the digits, eager and through ``jitgrad.compile``, side by side.

    python -m benchmarks.compiled_fit_step [--rounds 9] [--seconds 0.5]

The step of ``jitgrad.fit`` (``jitgrad/fitting.py``) for the command's defaults: a
64-256-256-10 ReLU MLP in float32, batches of 32, Adam, cross-entropy; the data wrapped in
Tensors each step as ``fit`` does. Each round times both for ``--seconds`` one right after
the other; the medians over rounds and the median of the per-round ratios are printed.
"""
import argparse
import statistics
import time

import numpy as np

import jitgrad
from jitgrad import CrossEntropyLoss, Linear, ReLU, Sequential, Tensor

SIZES, BATCH, DTYPE = (64, 256, 256, 10), 32, np.float32


def build(compiled):
    """A function running one training step on the next batch (a fixed cycle of 8)."""
    np.random.seed(0)
    layers = []
    for n_in, n_out in zip(SIZES, SIZES[1:]):
        layers += [Linear(n_in, n_out, dtype=DTYPE), ReLU()]
    model = Sequential(layers[:-1])
    optimizer, criterion = jitgrad.Adam(model.parameters(), lr=1e-3), CrossEntropyLoss()

    def train_step(x, y):
        output = model.forward(x)
        loss = criterion.forward(output, y)
        loss.backward()
        optimizer.step()
        return loss, output
    step = jitgrad.compile(train_step) if compiled else train_step
    rng = np.random.default_rng(0)
    batches = [(rng.random((BATCH, SIZES[0])).astype(DTYPE), rng.integers(0, SIZES[-1], BATCH))
               for _ in range(8)]
    count = iter(range(10**12))

    def run():
        x, y = batches[next(count) % len(batches)]
        loss, _ = step(Tensor(x), Tensor(y))
        return float(loss.data)
    return run


def per_step(run, seconds):
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        run()
        calls += 1
    return (time.perf_counter() - start) / calls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args(argv)
    jitgrad.warmup(progress=False)
    runs = {"eager": build(False), "compiled": build(True)}
    for run in runs.values():
        for _ in range(20):
            run()
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            times[name].append(per_step(run, args.seconds))
    ratios = [c / e for c, e in zip(times["compiled"], times["eager"])]
    for name, values in times.items():
        print(f"{name:>9}: {statistics.median(values) * 1e6:8.1f} µs per step (median of "
              f"{args.rounds} rounds)")
    print(f"compiled / eager: {statistics.median(ratios):.2f} (range {min(ratios):.2f}-"
          f"{max(ratios):.2f})")


if __name__ == "__main__":
    main()
