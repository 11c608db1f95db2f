"""jitgrad against scikit-learn's MLPClassifier / MLPRegressor on small tables.

    python -m benchmarks.tabular [--seeds 3] [--repeats 3] [--threads 1]
                                 [--datasets digits,breast_cancer,diabetes,mnist]

Both frameworks get the same standardised data (statistics of the training split; regression
targets standardised too), split 80/20 (stratified for classes) with the run's seed, and train
the same MLP (ReLU, the hidden sizes ``jitgrad train --data`` would choose), with Adam (lr 1e-3,
betas 0.9/0.999, eps 1e-8, no weight decay), batches of 32 and a fixed number of epochs
(scikit-learn's early stopping and tolerance off), in float32, on one BLAS thread each (as
``jitgrad train`` runs by default; ``--threads``); jitgrad's step goes through
``jitgrad.compile``, as ``jitgrad train --data`` runs it. Per seed the two train one after the other,
``--repeats`` times, and each keeps its fastest run (on a shared machine other load only adds
time), so the machine's drift hits both alike. Reported: training wall time per epoch (median
over the seeds), the ratio scikit-learn / jitgrad (median and range over the seeds), the final
test metric (mean and range; the repeats of a seed train the same model), and the load other
processes put on the machine meanwhile. MNIST is included when its files are in jitgrad's
default directory.
"""
import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

import jitgrad
from jitgrad.apps import datasets, tabular, training
from jitgrad.apps.cli import blas_threads
from jitgrad.apps.cpu_load import ForeignLoad
from jitgrad.nn.functional import mse_loss
from jitgrad.nn.loss import CrossEntropyLoss
from jitgrad.utils import metrics

BATCH_SIZE, LR = 32, 1e-3
#: name -> (loader of (x, y), task, epochs)
DATASETS = {
    "digits": (lambda: sk_datasets.load_digits(return_X_y=True), "classify", 20),
    "breast_cancer": (lambda: sk_datasets.load_breast_cancer(return_X_y=True), "classify", 50),
    "diabetes": (lambda: sk_datasets.load_diabetes(return_X_y=True), "regress", 50),
    "mnist": (lambda: load_mnist_rows(), "classify", 3),
}


def load_mnist_rows():
    data = datasets.load_mnist(datasets.default_mnist_dir(), download=False)
    return (np.concatenate([data.train_x, data.test_x]),
            np.concatenate([data.train_y, data.test_y]))


def split(x, y, task, seed):
    """Standardised float32 (train_x, test_x, train_y, test_y) for this seed."""
    train_x, test_x, train_y, test_y = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y if task == "classify" else None)
    scaler = StandardScaler().fit(train_x)
    train_x, test_x = (scaler.transform(part).astype(np.float32) for part in (train_x, test_x))
    if task == "regress":
        target = StandardScaler().fit(train_y[:, None])
        train_y, test_y = (target.transform(part[:, None]).astype(np.float32)
                           for part in (train_y, test_y))
    return train_x, test_x, train_y, test_y


def run_jitgrad(data, task, hidden, epochs, seed):
    """(seconds per epoch, test metric) of jitgrad on ``data``."""
    train_x, test_x, train_y, test_y = data
    outputs = len(np.unique(train_y)) if task == "classify" else 1
    np.random.seed(seed)
    model = training.build_mlp(train_x.shape[1], hidden, outputs, dtype="float32")
    loss = CrossEntropyLoss() if task == "classify" else mse_loss
    optimizer = jitgrad.Adam(model.parameters(), lr=LR)
    start = time.perf_counter()
    jitgrad.fit(model, loss, optimizer, (train_x, train_y), epochs=epochs, batch_size=BATCH_SIZE,
                seed=seed, progress=False, compile=True)  # as `jitgrad train --data` runs it
    seconds = time.perf_counter() - start
    return seconds / epochs, score(task, test_y, jitgrad.fitting.predict(model, test_x))


def run_sklearn(data, task, hidden, epochs, seed):
    """(seconds per epoch, test metric) of scikit-learn's MLP on ``data``."""
    train_x, test_x, train_y, test_y = data
    kind = MLPClassifier if task == "classify" else MLPRegressor
    model = kind(hidden_layer_sizes=hidden, activation="relu", solver="adam", alpha=0.0,
                 batch_size=BATCH_SIZE, learning_rate_init=LR, max_iter=epochs, shuffle=True,
                 random_state=seed, tol=0.0, n_iter_no_change=epochs + 1, early_stopping=False)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it is told to stop at max_iter
        model.fit(train_x, np.ravel(train_y))
    seconds = time.perf_counter() - start
    if task == "classify":
        return seconds / epochs, metrics.accuracy(test_y, model.predict_proba(test_x))
    return seconds / epochs, score(task, test_y, model.predict(test_x))


def score(task, y, outputs):
    """Test accuracy (classes) or R² (regression) from the model's outputs."""
    return metrics.accuracy(y, outputs) if task == "classify" else metrics.r2(np.ravel(y), outputs)


def benchmark(name, seeds, repeats=1):
    """One table row's numbers for dataset ``name``."""
    load, task, epochs = DATASETS[name]
    x, y = load()
    outputs = len(np.unique(y)) if task == "classify" else 1
    hidden = tabular.default_hidden(x.shape[1], outputs)
    runs = {"jitgrad": [], "sklearn": []}
    with ForeignLoad() as load_meter:
        for seed in range(seeds):
            data = split(x, y, task, seed)
            for framework, train in (("jitgrad", run_jitgrad), ("sklearn", run_sklearn)):
                runs[framework].append(fastest([train(data, task, hidden, epochs, seed)
                                                for _ in range(repeats)]))
    ratios = [theirs[0] / ours[0] for ours, theirs in zip(runs["jitgrad"], runs["sklearn"])]
    return dict(name=name, task=task, rows=len(x), hidden=hidden, epochs=epochs, ratios=ratios,
                load=load_meter.cores, **{
                    f"{framework}_{what}": [run[index] for run in runs[framework]]
                    for framework in runs for index, what in enumerate(("seconds", "metric"))})


def fastest(runs):
    """Of (seconds per epoch, metric) runs, the fastest."""
    return min(runs, key=lambda run: run[0])


def spread(values, digits, scale=1.0):
    """'mean (min–max)' of ``values`` times ``scale``."""
    values = [v * scale for v in values]
    return (f"{statistics.fmean(values):.{digits}f} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


def table(rows, seeds):
    lines = [f"| dataset (rows, MLP, epochs) | metric | jitgrad | scikit-learn "
             f"| jitgrad ms/epoch | scikit-learn ms/epoch | speed-up (range over {seeds} seeds) "
             f"| other load (cores) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        metric, scale, digits = ("test accuracy %", 100, 2) if row["task"] == "classify" else (
            "test R²", 1, 3)
        sizes = "-".join(map(str, row["hidden"]))
        load = "–" if row["load"] is None else f"{row['load']:.1f}"
        lines.append(
            f"| {row['name']} ({row['rows']:,}, {sizes}, {row['epochs']}) | {metric} "
            f"| {spread(row['jitgrad_metric'], digits, scale)} "
            f"| {spread(row['sklearn_metric'], digits, scale)} "
            f"| {statistics.median(row['jitgrad_seconds']) * 1e3:.1f} "
            f"| {statistics.median(row['sklearn_seconds']) * 1e3:.1f} "
            f"| {statistics.median(row['ratios']):.1f}x ({min(row['ratios']):.1f}–"
            f"{max(row['ratios']):.1f}) "
            f"| {load} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tabular", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default: 1)")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args(argv)
    rows = []
    with blas_threads(args.threads):
        # compile or load the kernels before timing; inside the limit, as ``jitgrad train``
        # does, so the BLAS is chosen for the thread count it runs on
        jitgrad.warmup(("float32",), progress=False)
        for name in args.datasets.split(","):
            try:
                rows.append(benchmark(name, args.seeds, args.repeats))
            except FileNotFoundError as error:  # MNIST's files are absent
                print(f"skipped {name}: {error}")
    print(table(rows, args.seeds))


if __name__ == "__main__":
    main()
