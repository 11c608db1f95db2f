"""The ``jitgrad`` command (also ``python -m jitgrad``): train, eval, predict, train-text,
warmup, info. ``jitgrad COMMAND --help`` lists each command's options.

Results go to stdout, progress bars (on a terminal) to stderr. An error prints one line,
``jitgrad COMMAND: error: ...``, and exits with status 1 (2 for bad arguments).
"""
import argparse
import contextlib
import math
import os
import sys
import textwrap
import time

import numpy as np
from tqdm import tqdm

from . import __version__, charlm, datasets, serialization, training
from .data import Batches
from .optim import SGD
from .profiler import profile

MODEL_KIND = "jitgrad-mlp-classifier"


# --- argument types ---------------------------------------------------------------------------
def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def probability(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def layer_sizes(text):
    """'256,128' -> [256, 128]; '' or 'none' -> [] (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        return [positive_int(size) for size in text.split(",")]
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive layer sizes like 256,256, got {text!r}") from None


# --- train / eval / predict -------------------------------------------------------------------
def run_train(args):
    """``jitgrad train``; with ``--distributed``, one rank of an ``mpiexec`` job."""
    if not args.distributed:
        train_and_report(args, parallel=None)
        return
    from .distributed import DataParallel
    with DataParallel(threads=args.threads) as parallel:
        # rank 0 alone prints, saves and plots; the others train silently beside it
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(
                sys.stdout if parallel.is_root else sink):
            train_and_report(args, parallel)


def train_and_report(args, parallel):
    """Train the MLP as the options say, print progress and a summary, save and plot.

    ``parallel``: a ``DataParallel`` when this process is one rank of a data-parallel job
    (each rank then trains on its share of every batch), else None.
    """
    is_root = parallel is None or parallel.is_root
    if is_root:
        check_output_paths(args)
    data = datasets.load(args.dataset, args.data_dir, download=not args.no_download)
    np.random.seed(args.seed)  # the book's initialisers and Dropout draw from the global RNG
    architecture = dict(features=data.features, hidden=args.hidden, classes=data.classes,
                        activation=args.activation, dropout=args.dropout, dtype=args.dtype)
    model = training.build_mlp(**architecture)
    if parallel is not None:
        parallel.broadcast(model.parameters())
    lr = args.lr or training.DEFAULT_LR[args.optimizer]
    optimizer = training.OPTIMIZERS[args.optimizer](model.parameters(), lr)
    train_x, test_x = data.train_x.astype(args.dtype), data.test_x.astype(args.dtype)
    batches = Batches(train_x, data.train_y, batch_size=args.batch_size, seed=args.seed)
    ranks = "" if parallel is None else f", on {parallel.world_size} ranks"
    print(f"{data.name}: {len(train_x):,} training and {len(test_x):,} test images of "
          f"{data.features} pixels, {data.classes} classes")
    print(f"model: {describe_model(architecture)}, {count_parameters(model):,} parameters; "
          f"{args.optimizer} lr {lr:g}, batch size {args.batch_size}, seed {args.seed}{ranks}")
    with profile() if args.profile else contextlib.nullcontext() as timings:
        history = train_epochs(model, optimizer, batches, test_x, data.test_y, args.epochs, parallel)
    final = history[-1]
    print(f"done: test accuracy {final.test_accuracy:.2%} "
          f"({round(final.test_accuracy * len(test_x))}/{len(test_x)}), test loss "
          f"{final.test_loss:.4f}, after {args.epochs} epochs in {args.elapsed():.1f} s")
    if timings is not None:
        print(f"time per op over the training (`jitgrad train --profile`):\n{timings.table()}")
    if args.save and is_root:
        metadata = dict(kind=MODEL_KIND, dataset=data.name, scale=data.scale,
                        test_accuracy=final.test_accuracy, **architecture)
        serialization.save(model, args.save, metadata)
        print(f"saved the model to {args.save}")
    if args.plot and is_root:
        from .plotting import plot_history
        plot_history(history, args.plot, f"jitgrad train: {data.name}, "
                                         f"{describe_model(architecture)}, {args.optimizer}")
        print(f"wrote loss and accuracy curves to {args.plot}")


def train_epochs(model, optimizer, batches, test_x, test_y, epochs, parallel=None):
    """Train for ``epochs``, printing a line per epoch; the list of ``EpochStats``."""
    history = []
    bars = None if parallel is None or parallel.is_root else True  # None: only on a terminal
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", unit="epoch", disable=bars):
        loss, accuracy, seconds = training.train_epoch(
            model, optimizer, batches, progress=f"epoch {epoch}/{epochs}" if bars is None else None,
            parallel=parallel)
        test_loss, test_accuracy = training.evaluate(model, test_x, test_y)
        stats = training.EpochStats(epoch, loss, accuracy, test_loss, test_accuracy,
                                    batches.rows / seconds)
        history.append(stats)
        tqdm.write(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  {stats}", file=sys.stdout)
    return history


def check_output_paths(args):
    """Fail before training, not after it, when --save or --plot cannot be written."""
    for option, path in (("--save", args.save), ("--plot", args.plot)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ValueError(f"{option} {path}: the directory does not exist")
    if args.plot:
        from .plotting import require_matplotlib
        require_matplotlib()


def load_classifier(path):
    """(model with the saved weights, metadata) for a file written by ``jitgrad train --save``."""
    _, metadata = serialization.read(path)
    if metadata.get("kind") != MODEL_KIND:
        raise ValueError(f"{path} holds parameters but not a model saved by `jitgrad train "
                         "--save`, so its architecture is unknown")
    model = training.build_mlp(**{key: metadata[key] for key in (
        "features", "hidden", "classes", "activation", "dropout", "dtype")})
    serialization.load(model, path)
    return model, metadata


def run_eval(args):
    model, metadata = load_classifier(args.load)
    data = datasets.load(args.dataset or metadata["dataset"], args.data_dir,
                         download=not args.no_download)
    check_features(args.load, metadata, data.features, f"the {data.name} dataset")
    loss, accuracy = training.evaluate(model, data.test_x.astype(metadata["dtype"]), data.test_y)
    print(f"{args.load}: {describe_model(metadata)}, trained on {metadata['dataset']}")
    print(f"{data.name} test set: accuracy {accuracy:.2%} "
          f"({round(accuracy * len(data.test_y))}/{len(data.test_y)}), loss {loss:.4f}")


def run_predict(args):
    model, metadata = load_classifier(args.load)
    if args.input:
        raw, labels = read_rows(args.input), None
        check_features(args.load, metadata, raw.shape[1], "stdin" if args.input == "-"
                       else args.input)
    else:  # no input: show the first test images of the dataset the model learned
        data = datasets.load(metadata["dataset"], args.data_dir, download=not args.no_download)
        raw, labels = data.test_x[:args.count] * data.scale, data.test_y[:args.count]
    probabilities = training.predict_probabilities(model, (raw / metadata["scale"]).astype(
        metadata["dtype"]))
    print("row  class  probability" + ("  label" if labels is not None else ""))
    for row, p in enumerate(probabilities):
        label = f"  {labels[row]:>5}" if labels is not None else ""
        print(f"{row:>3}  {p.argmax():>5}  {p.max():>11.2%}{label}")


def read_rows(path):
    """Raw pixel rows (n, pixels) from a .npy file (any n-d, first axis = rows) or a text file
    with one row per line ('-' reads stdin), values separated by commas or spaces."""
    if path.endswith(".npy"):
        array = np.load(path, allow_pickle=False)
    else:
        array = parse_rows(path, sys.stdin.read() if path == "-" else read_text(path))
    if array.size == 0:
        raise ValueError(f"{path}: no rows to predict")
    array = np.atleast_2d(array)  # a single row
    return array.reshape(len(array), -1).astype(np.float64)


def parse_rows(path, text):
    """Text with one row of numbers per line (comma- or space-separated) as a 2-D array."""
    rows = [line.replace(",", " ").split() for line in text.splitlines() if line.strip()]
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{path}: every line must hold numbers, as many as the others "
                         f"({error})") from None


def read_text(path):
    """The content of a UTF-8 text file, or ValueError saying that it is not one."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error.reason})") from None


def check_features(model_path, metadata, features, source):
    if features != metadata["features"]:
        raise ValueError(f"{model_path} takes {metadata['features']} pixels per image but "
                         f"{source} has {features}")


def describe_model(architecture):
    """'64-256-256-10 MLP (relu, float32)', with the dropout rate when there is one."""
    sizes = [architecture["features"], *architecture["hidden"], architecture["classes"]]
    dropout = f", dropout {architecture['dropout']:g}" if architecture["dropout"] else ""
    return (f"{'-'.join(map(str, sizes))} MLP ({architecture['activation']}{dropout}, "
            f"{architecture['dtype']})")


def count_parameters(model):
    return sum(p.data.size for p in model.parameters())


# --- train-text -------------------------------------------------------------------------------
def run_train_text(args):
    text = read_text(args.text)
    vocab = charlm.Vocabulary(text)
    inputs, targets = charlm.windows(vocab.encode(text), args.batch_size, args.bptt)
    np.random.seed(args.seed)
    model = charlm.CharLSTM(len(vocab), args.hidden, dtype=args.dtype)
    optimizer = SGD(model.parameters(), alpha=args.lr)
    rng = np.random.default_rng(args.seed)
    print(f"{args.text}: {len(text):,} characters, {len(vocab)} distinct; {len(inputs)} windows "
          f"of {args.bptt} x {args.batch_size} per epoch")
    print(f"model: Embedding + LSTMCell, hidden {args.hidden}, {args.dtype}, "
          f"{count_parameters(model):,} parameters; SGD lr {args.lr:g}, clip {args.clip:g}")
    for epoch in range(1, args.epochs + 1):
        perplexity, seconds = charlm.train_epoch(model, optimizer, inputs, targets, args.clip,
                                                 progress=f"epoch {epoch}/{args.epochs}")
        print(f"epoch {epoch}/{args.epochs}  perplexity {perplexity:.3f}  "
              f"{inputs.size / seconds:,.0f} characters/s")
        generated = charlm.sample(model, vocab, args.sample_length, start=text[0],
                                  temperature=args.temperature, rng=rng)
        print(textwrap.indent(text[0] + generated, "  | ", lambda line: True))
    print(f"done: perplexity {perplexity:.3f} after {args.epochs} epochs in "
          f"{args.elapsed():.1f} s")


# --- warmup and info --------------------------------------------------------------------------
def run_warmup(args):
    from .warmup import warmup

    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    on_terminal = sys.stderr.isatty()  # progress and summary on stderr; else summary here
    seconds = warmup(dtypes, progress=on_terminal)
    if not on_terminal:
        print(f"jitgrad warmup: compiled or loaded every kernel for {', '.join(dtypes)} "
              f"in {seconds:.2f} s")


def run_info(args):
    from .sysinfo import report

    print("\n".join(report()))


# --- the parser -------------------------------------------------------------------------------
class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument gets one line (and a pointer to --help), not the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = ArgumentParser(
        prog="jitgrad", description="Train and use small neural networks with jitgrad.")
    parser.add_argument("--version", action="version", version=f"jitgrad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=ArgumentParser)

    train = commands.add_parser("train", help="train an MLP classifier on handwritten digits",
                                description="Train an MLP classifier and report its accuracy "
                                            "on the held-out test split.")
    add_data_options(train, default_dataset="digits")
    train.add_argument("--hidden", type=layer_sizes, default=[256, 256], metavar="SIZES",
                       help="hidden layer sizes, comma-separated (default: 256,256)")
    train.add_argument("--activation", choices=sorted(training.ACTIVATIONS), default="relu",
                       help="hidden-layer activation (default: relu)")
    train.add_argument("--dropout", type=probability, default=0.0, metavar="P",
                       help="dropout rate after each hidden layer (default: 0)")
    train.add_argument("--epochs", type=positive_int, default=20, help="(default: 20)")
    train.add_argument("--batch-size", type=positive_int, default=32, help="(default: 32)")
    train.add_argument("--optimizer", choices=list(training.OPTIMIZERS), default="adam",
                       help="sgd, sgd with momentum 0.9, or adam (default: adam)")
    train.add_argument("--lr", type=positive_float, metavar="RATE",
                       help="learning rate (default: " + ", ".join(
                           f"{k} {v:g}" for k, v in training.DEFAULT_LR.items()) + ")")
    add_dtype_option(train)
    add_threads_option(train)
    train.add_argument("--seed", type=int, default=0, help="for weights and batches (default: 0)")
    train.add_argument("--save", metavar="FILE.npz", help="save the trained model here")
    train.add_argument("--distributed", action="store_true",
                       help="one rank of a data-parallel job started with `mpiexec -n N`: each "
                            "rank trains on its share of every batch (needs jitgrad[distributed])")
    train.add_argument("--plot", metavar="FILE.png",
                       help="plot loss and accuracy curves here (needs jitgrad[plot])")
    train.add_argument("--profile", action="store_true",
                       help="print the time each op took over the training, forward and "
                            "backward apart (jitgrad.profile)")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("eval", help="test a saved model",
                                   description="Report a saved model's test accuracy.")
    add_model_option(evaluate)
    add_data_options(evaluate, default_dataset=None)
    evaluate.set_defaults(run=run_eval)

    predict = commands.add_parser(
        "predict", help="classify images with a saved model",
        description="Print the class a saved model predicts for each row of INPUT: raw pixel "
                    "values (0-16 for digits, 0-255 for mnist) from a .npy file or a text "
                    "file with one image per line ('-' for stdin). Without INPUT, classify "
                    "the first --count test images of the model's dataset.")
    add_model_option(predict)
    predict.add_argument("input", nargs="?", metavar="INPUT")
    predict.add_argument("--count", type=positive_int, default=10,
                         help="test images to classify when there is no INPUT (default: 10)")
    add_data_options(predict, default_dataset=None, choose=False)
    predict.set_defaults(run=run_predict)

    text = commands.add_parser(
        "train-text", help="train the book's character-level LSTM on a text file",
        description="Train Embedding + LSTMCell on a text file with truncated backpropagation "
                    "through time, printing perplexity and a generated sample every epoch.")
    text.add_argument("--text", required=True, metavar="FILE", help="a UTF-8 text file")
    text.add_argument("--hidden", type=positive_int, default=128, help="(default: 128)")
    text.add_argument("--epochs", type=positive_int, default=10, help="(default: 10)")
    text.add_argument("--batch-size", type=positive_int, default=32, help="(default: 32)")
    text.add_argument("--bptt", type=positive_int, default=25,
                      help="characters per truncated-backprop window (default: 25)")
    text.add_argument("--lr", type=positive_float, default=0.5, help="SGD rate (default: 0.5)")
    text.add_argument("--clip", type=positive_float, default=5.0,
                      help="gradient norm clipping threshold (default: 5)")
    text.add_argument("--sample-length", type=positive_int, default=200, help="(default: 200)")
    text.add_argument("--temperature", type=positive_float, default=0.8, help="(default: 0.8)")
    add_dtype_option(text)
    add_threads_option(text)
    text.add_argument("--seed", type=int, default=0, help="(default: 0)")
    text.set_defaults(run=run_train_text)

    warmup = commands.add_parser("warmup", help="compile every kernel ahead of time",
                                 description="Compile (or load from Numba's cache) every kernel.")
    warmup.add_argument("--dtype", choices=["float32", "float64", "both"], default="both",
                        help="(default: both)")
    warmup.set_defaults(run=run_warmup)

    info = commands.add_parser("info", help="versions, dtypes, kernel cache, BLAS and threads")
    info.set_defaults(run=run_info)
    return parser


def add_data_options(parser, default_dataset, choose=True):
    if choose:
        parser.add_argument("--dataset", choices=["digits", "mnist"], default=default_dataset,
                            help="(default: " + (default_dataset or "the model's own") + ")")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"where the MNIST files are or go (default: "
                             f"{datasets.default_mnist_dir()})")
    parser.add_argument("--no-download", action="store_true",
                        help="fail instead of downloading missing MNIST files")


def add_model_option(parser):
    parser.add_argument("--load", required=True, metavar="FILE.npz",
                        help="a model saved by `jitgrad train --save`")


def add_dtype_option(parser):
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="(default: float32)")


def add_threads_option(parser):
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS threads (default: 1; the default models' products gain "
                             "little from more, and on a busy machine extra threads slow them; "
                             "larger models gain: train-text --hidden 512 runs 1.6x faster "
                             "with 2)")


def main(argv=None):
    """Run the command line ``argv`` (default: sys.argv[1:]); returns the exit status."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    args.elapsed = lambda: time.perf_counter() - start
    try:
        with blas_threads(getattr(args, "threads", None)):
            args.run(args)
    except KeyboardInterrupt:
        print(f"jitgrad {args.command}: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, ImportError) as error:
        print(f"jitgrad {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 1
    return 0


def blas_threads(limit):
    """A context limiting BLAS to ``limit`` threads (no limit when None)."""
    if limit is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    import scipy.linalg  # noqa: F401  -- load the BLAS that Numba's np.dot calls, to limit it
    return threadpool_limits(limits=limit, user_api="blas")


def one_line(error):
    """The error's message on one line; 'FILE: No such file or directory' for OS errors."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split())
