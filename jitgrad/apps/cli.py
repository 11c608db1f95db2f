"""The ``jitgrad`` command (also ``python -m jitgrad``): train, eval, predict, train-text,
warmup, info. ``jitgrad COMMAND --help`` lists each command's options.

Results go to stdout, progress bars (on a terminal) to stderr. An error prints one line,
``jitgrad COMMAND: error: ...``, and exits with status 1 (2 for bad arguments).
"""
import argparse
import contextlib
import csv
import io
import math
import os
import sys
import textwrap
import time

import numpy as np

from jitgrad import __version__, serialization
from jitgrad.backend import file_checks
from jitgrad.apps import charlm, datasets, safety, tabular, training
from jitgrad.backend.atomic import atomic_write
from jitgrad.backend.profiler import profile
from jitgrad.compiler.step import compile as compile_step
from jitgrad.fitting import EarlyStopping, evaluate, fit, predict
from jitgrad.nn.functional import mse_loss
from jitgrad.nn.loss import CrossEntropyLoss
from jitgrad.optim import SGD
from jitgrad.utils import metrics
from jitgrad.utils.data import Batches

MODEL_KIND = "jitgrad-mlp-classifier"
TABLE_MODEL_KIND = "jitgrad-mlp-table"
DIGITS_DEFAULTS = dict(hidden=[256, 256], epochs=20, optimizer="adam")
TABLE_DEFAULTS = dict(epochs=200)  # a maximum: early stopping usually ends training sooner


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


def fraction(text):
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive integer, got {text}")
    return value


def column_names(text):
    """'city, colour' -> ['city', 'colour']."""
    return [name.strip() for name in text.split(",") if name.strip()]


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
    if args.precision == "bf16" and (args.data or args.dtype != "float32"):
        raise ValueError("--precision bf16 trains on --dataset digits or mnist with --dtype "
                         "float32 (its float32 parameters are the master weights)")
    if args.data:
        if args.distributed:
            raise ValueError("--distributed trains on --dataset digits or mnist, not on --data")
        train_on_table(args)
        return
    for option, default in DIGITS_DEFAULTS.items():
        if getattr(args, option) is None:
            setattr(args, option, default)
    if not args.distributed:
        train_and_report(args, parallel=None)
        return
    from jitgrad.distributed import DataParallel
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
    check_memory(architecture)
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
          f"{args.optimizer} lr {lr:g}, batch size {args.batch_size}, seed {args.seed}{ranks}"
          + (", bf16 products (autocast)" if args.precision == "bf16" else ""))
    with profile() if args.profile else contextlib.nullcontext() as timings:
        history = fit(model, CrossEntropyLoss(), optimizer, batches, val=(test_x, data.test_y),
                      epochs=args.epochs, metrics={"accuracy": metrics.accuracy},
                       callbacks=[safety.StopWhenNotFinite()], val_name="test",
                       parallel=parallel, precision=args.precision,
                       compile=compiled(args) and args.precision == "float32")
    test_accuracy = history["test_accuracy"][-1]
    print(f"done: test accuracy {test_accuracy:.2%} "
          f"({round(test_accuracy * len(test_x))}/{len(test_x)}), test loss "
          f"{history['test_loss'][-1]:.4f}, after {args.epochs} epochs in {args.elapsed():.1f} s")
    if timings is not None:
        print(f"time per op over the training (`jitgrad train --profile`):\n{timings.table()}")
    if args.save and is_root:
        safety.check_finite_model(model)
        metadata = dict(kind=MODEL_KIND, dataset=data.name, scale=data.scale,
                        test_accuracy=test_accuracy, **architecture)
        serialization.save(model, args.save, metadata)
        print(f"saved the model to {args.save}")
    if args.plot and is_root:
        from jitgrad.apps.plotting import plot_history
        plot_history(history, args.plot, f"jitgrad train: {data.name}, "
                                         f"{describe_model(architecture)}, {args.optimizer}",
                     val_name="test")
        print(f"wrote loss and accuracy curves to {args.plot}")


def train_on_table(args):
    """``jitgrad train --data FILE``: an MLP classifier or regressor for a table, with early
    stopping on a validation slice, tested on a held-out split; the preparation is saved with
    the model."""
    check_output_paths(args, inputs=[("--data", args.data)])
    preparation, parts = prepare_table(args)
    np.random.seed(args.seed)  # the book's initialisers and Dropout draw from the global RNG
    hidden = args.hidden if args.hidden is not None else tabular.default_hidden(
        preparation.inputs, preparation.outputs)
    architecture = dict(features=preparation.inputs, hidden=hidden, classes=preparation.outputs,
                        activation=args.activation, dropout=args.dropout, dtype=args.dtype)
    check_memory(architecture)
    model = training.build_mlp(**architecture)
    lr = args.lr or training.DEFAULT_LR.get(args.optimizer, tabular.DEFAULT_LR)
    optimizer = (training.OPTIMIZERS[args.optimizer](model.parameters(), lr) if args.optimizer
                 else tabular.make_optimizer(model.parameters(), lr))
    epochs = args.epochs or TABLE_DEFAULTS["epochs"]
    stopping = [EarlyStopping(patience=args.patience)] if args.patience else []
    print(f"model: {describe_model(architecture)}, {count_parameters(model):,} parameters; "
          f"{args.optimizer or tabular.OPTIMIZER_NAME} lr {lr:g}, batch size {args.batch_size}, "
          f"seed {args.seed}, " + (f"up to {epochs} epochs, patience {args.patience}" if stopping
                                   else f"{epochs} epochs"))
    loss_fn = CrossEntropyLoss() if preparation.task == "classify" else mse_loss
    history = fit(model, loss_fn, optimizer, parts["train"], val=parts.get("validation"),
                  epochs=epochs, batch_size=args.batch_size, metrics=preparation.metrics(),
                  callbacks=[safety.StopWhenNotFinite(), *stopping], seed=args.seed,
                  compile=compiled(args))
    test = evaluate(model, loss_fn, *parts["test"], preparation.metrics())
    safety.check_finite_losses({"test_loss": test["loss"]}, "on the test rows")
    print(f"done: {describe_test(test, len(parts['test'][1]), preparation.task)}, after "
          f"{history.epochs} epochs{describe_stop(stopping, history.epochs)} in "
          f"{args.elapsed():.1f} s")
    if args.save:
        safety.check_finite_model(model)
        serialization.save(model, args.save, dict(
            kind=TABLE_MODEL_KIND, data=args.data, preparation=preparation.to_json(), test=test,
            **architecture))
        print(f"saved the model and its preparation to {args.save}")
    if args.plot:
        from jitgrad.apps.plotting import plot_history
        plot_history(history, args.plot, f"jitgrad train: {os.path.basename(args.data)}, "
                                          f"{describe_model(architecture)}",
                     metric="accuracy" if preparation.task == "classify" else "r2")
        print(f"wrote the learning curves to {args.plot}")


def prepare_table(args):
    """Read ``--data``, choose the target, features and task, split the rows and prepare
    them, printing what was chosen: (``tabular.Preparation``, {part: (x, y)})."""
    table = tabular.read_table(args.data)
    target = tabular.find_target(table, args.target)
    features = [name for name in table.names if name != target]
    if not features:
        raise tabular.TableError(f"{args.data} has no columns besides the target {target!r}")
    categorical = tabular.find_categorical(table, features, args.categorical)
    numeric = [name for name in features if name not in categorical]
    table.convert(numeric)
    table.check_magnitudes(numeric, args.dtype)
    table = complete_rows(table, features + [target], target, args.impute)
    task, why = tabular.choose_task(table, target, args.task)
    labels = None
    if task == "classify":
        labels = table.texts(target).astype(str)
        if len(set(labels)) < 2:
            raise tabular.TableError(f"{args.data}: the target {target!r} holds a single class "
                                     f"({str(labels[0])!r}); there is nothing to tell apart")
    else:
        table.convert([target])
        table.check_magnitudes([target], args.dtype)
    rows = tabular.split_rows(table, labels, args.test_size, args.patience > 0, args.seed)
    preparation = tabular.Preparation.fit(table.subset(rows[0]), target, task, categorical,
                                          args.impute)
    parts = {part: (preparation.inputs_of(table.subset(index), args.dtype),
                    preparation.targets_of(table.subset(index), args.dtype))
             for part, index in zip(("train", "validation", "test"), rows) if index is not None}
    kind = (f"classification, {len(preparation.classes)} classes "
            f"({', '.join(preparation.classes[:5])}{', ...' * (len(preparation.classes) > 5)})"
            if task == "classify" else "regression")
    print(f"{args.data}: {table.rows:,} rows; target {target!r}: {why}, so {kind}")
    print(f"features: {len(features) - len(categorical)} numeric, {len(categorical)} categorical"
          f"{' (' + ', '.join(map(repr, categorical)) + ')' if categorical else ''} -> "
          f"{preparation.inputs} inputs; " + ", ".join(
              f"{len(y):,} {part}" for part, (_, y) in parts.items()) + " rows")
    return preparation, parts


def complete_rows(table, columns, target, impute):
    """The table, once its missing cells in ``columns`` are dealt with as ``--impute`` says:
    none allowed (TableError naming them), rows with any dropped (``drop``), or only rows
    without a target dropped (``mean``/``median`` fill the features later)."""
    if impute is None:
        table.check_complete(columns, "fill them, or pass --impute mean|median|drop")
        return table
    needed = columns if impute == "drop" else [target]
    dropped = sorted({row for row, _ in table.missing(needed)})
    if dropped:
        print(f"--impute {impute}: dropped {len(dropped)} of {table.rows} rows for missing "
              f"{'cells' if impute == 'drop' else 'targets'}")
    if len(dropped) == table.rows:
        raise tabular.TableError(f"{table.source}: no row is left once those are dropped")
    return table.subset(np.setdiff1d(np.arange(table.rows), dropped))


def describe_test(test, rows, task):
    """'test accuracy 97.22% (35/36), macro-F1 0.9712, test loss 0.0812' or the R², RMSE,
    MAE and loss of a regressor."""
    if task == "classify":
        return (f"test accuracy {test['accuracy']:.2%} ({round(test['accuracy'] * rows)}/{rows}),"
                f" macro-F1 {test['macro_f1']:.4f}, test loss {test['loss']:.4f}")
    return (f"test R² {test['r2']:.3f}, RMSE {test['rmse']:.4g}, MAE {test['mae']:.4g}, "
            f"test loss {test['loss']:.4f}")


def describe_stop(stopping, epochs):
    """' (stopped early; kept epoch 14's weights, the best validation loss)', or what applies
    of it; '' without early stopping."""
    if not stopping or stopping[0].best_epoch in (None, epochs):
        return ""
    stopped = "stopped early; " if stopping[0].stopped_epoch else ""
    return f" ({stopped}kept epoch {stopping[0].best_epoch}'s weights, the best validation loss)"


def check_output_paths(args, inputs=(), outputs=None):
    """Fail before training, not after it, when --save or --plot (or ``outputs``, a list of
    (option, path)) cannot be written, or would overwrite one of ``inputs`` ((option, path))
    or each other (``safety.check_paths``)."""
    safety.check_paths(inputs, outputs or [("--save", args.save), ("--plot", args.plot)])
    if outputs is None and args.plot:
        from jitgrad.apps.plotting import require_matplotlib
        require_matplotlib()


def load_classifier(path, kinds=(MODEL_KIND,)):
    """(model with the saved weights, metadata) for a file written by ``jitgrad train --save``
    whose kind is one of ``kinds``."""
    state, metadata = serialization.read(path)
    if metadata.get("kind") == TABLE_MODEL_KIND and TABLE_MODEL_KIND not in kinds:
        raise ValueError(f"{path} was trained on a table ({metadata.get('data')}); use it with "
                         f"`jitgrad predict --load {path} --data FILE`")
    if metadata.get("kind") not in kinds:
        raise ValueError(f"{path} holds parameters but not a model saved by `jitgrad train "
                         "--save`, so its architecture is unknown")
    check_saved_model(path, metadata, state)
    model = training.build_mlp(**{key: metadata[key] for key in (
        "features", "hidden", "classes", "activation", "dropout", "dtype")})
    serialization.load(model, path)
    return model, metadata


def check_saved_model(path, metadata, state):
    """ValueError, before anything is built, unless the metadata of the model file ``path``
    is well-formed and describes exactly as many parameters as its tensors hold (so a small
    file cannot make us build a huge model)."""
    hidden = metadata.get("hidden")
    problems = [key for key, fine in (
        ("features", _is_positive_int(metadata.get("features"))),
        ("hidden", isinstance(hidden, list) and all(map(_is_positive_int, hidden))),
        ("classes", _is_positive_int(metadata.get("classes"))),
        ("activation", metadata.get("activation") in tuple(training.ACTIVATIONS)),
        ("dropout", isinstance(metadata.get("dropout"), (int, float))
         and 0 <= metadata["dropout"] < 1),
        ("dtype", metadata.get("dtype") in ("float32", "float64")),
        ("dataset", metadata["kind"] != MODEL_KIND or metadata.get("dataset") in (
            "digits", "mnist")),
        ("scale", metadata["kind"] != MODEL_KIND or (
            isinstance(metadata.get("scale"), (int, float)) and 0 < metadata["scale"] < math.inf)),
    ) if not fine]
    if problems:
        raise ValueError(f"{path}: its metadata has a missing or malformed "
                         f"{', '.join(problems)}; the file is damaged or was not written by "
                         "`jitgrad train --save`")
    sizes = [metadata["features"], *hidden, metadata["classes"]]
    claimed = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))
    held = sum(array.size for array in state.values() if isinstance(array, np.ndarray)) \
        if isinstance(state, dict) else 0
    if claimed != held:
        raise ValueError(f"{path}: its metadata describes a {describe_model(metadata)} of "
                         f"{claimed:,} parameters but the file holds {held:,}; it is damaged")
    if metadata["kind"] == TABLE_MODEL_KIND:
        preparation = tabular.Preparation.from_json(metadata.get("preparation"), path)
        if (preparation.inputs, preparation.outputs) != (sizes[0], sizes[-1]):
            raise ValueError(f"{path}: its preparation makes {preparation.inputs} inputs and "
                             f"{preparation.outputs} outputs but its model takes {sizes[0]} and "
                             f"gives {sizes[-1]}; it is damaged")


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_memory(architecture):
    """ValueError before an MLP is built that would not fit in memory."""
    sizes = [architecture["features"], *architecture["hidden"], architecture["classes"]]
    safety.check_memory(safety.mlp_bytes(sizes, architecture["dtype"]),
                        f"training a {describe_model(architecture)}")


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
    check_output_paths(args, inputs=[("--load", args.load), ("INPUT", args.input),
                                     ("--data", args.data)],
                       outputs=[("--output", args.output)])
    model, metadata = load_classifier(args.load, kinds=(MODEL_KIND, TABLE_MODEL_KIND))
    if metadata["kind"] == TABLE_MODEL_KIND:
        predict_table(args, model, metadata)
        return
    if args.data or args.output:
        raise ValueError(f"--data and --output are for models trained on a table; {args.load} "
                         f"was trained on {metadata['dataset']}: give its rows as INPUT")
    if args.input:
        raw, labels = read_rows(args.input), None
        check_features(args.load, metadata, raw.shape[1], "stdin" if args.input == "-"
                       else args.input)
    else:  # no input: show the first test images of the dataset the model learned
        data = datasets.load(metadata["dataset"], args.data_dir, download=not args.no_download)
        raw, labels = data.test_x[:args.count] * data.scale, data.test_y[:args.count]
    with np.errstate(over="ignore"):  # an overflow is found and named just below
        x = (raw / metadata["scale"]).astype(metadata["dtype"])
    source = args.input or f"the {metadata['dataset']} test images"
    check_finite_rows(x, lambda row: f"row {row} of {source}", "its pixel values")
    probabilities = training.predict_probabilities(model, x)
    check_finite_rows(probabilities, lambda row: f"row {row} of {source}", "the model's output")
    print("row  class  probability" + ("  label" if labels is not None else ""))
    for row, p in enumerate(probabilities):
        label = f"  {labels[row]:>5}" if labels is not None else ""
        print(f"{row:>3}  {p.argmax():>5}  {p.max():>11.2%}{label}")


def predict_table(args, model, metadata):
    """``jitgrad predict`` for a model trained on a table: a CSV with one prediction per row
    of ``--data`` (the class label and each class's probability, or the predicted value)."""
    preparation = tabular.Preparation.from_json(metadata["preparation"], args.load)
    path = args.data or args.input
    if not path:
        raise ValueError(f"{args.load} was trained on a table: give the rows to predict with "
                         "--data FILE")
    table = tabular.read_table(path)
    preparation.check_columns(table, args.load)
    table.convert(list(preparation.numeric))
    table.check_magnitudes(list(preparation.numeric), metadata["dtype"])
    if preparation.impute not in ("mean", "median"):
        table.check_complete(preparation.features, "fill them (the model was trained without "
                                                   "--impute mean|median)")
    inputs = preparation.inputs_of(table, metadata["dtype"])
    check_finite_rows(inputs, lambda row: f"{path}: {table.where(row)}", "its prepared values")
    outputs = predict(model, inputs)
    check_finite_rows(outputs, lambda row: f"{path}: {table.where(row)}", "the model's output")
    lines = io.StringIO()
    writer = csv.writer(lines, lineterminator="\n")
    if preparation.task == "classify":
        probabilities = training.softmax(outputs)
        writer.writerow([preparation.target, *(f"p_{label}" for label in preparation.classes)])
        writer.writerows([preparation.classes[row.argmax()], *(f"{p:.4f}" for p in row)]
                         for row in probabilities)
    else:
        writer.writerow([preparation.target])
        writer.writerows([f"{value:.6g}"] for value in preparation.unscaled(outputs))
    if not args.output:
        sys.stdout.write(lines.getvalue())
        return
    with atomic_write(args.output) as file:
        file.write(lines.getvalue().encode())
    print(f"wrote {table.rows:,} predictions to {args.output}")


def read_rows(path):
    """Raw pixel rows (n, pixels) from a .npy file (any n-d, first axis = rows) or a text file
    with one row per line ('-' reads stdin), values separated by commas or spaces."""
    if path.endswith(".npy"):
        array = file_checks.load_npy(path)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{path}: need an array of numbers, got {array.dtype}")
    else:
        array = parse_rows(path, sys.stdin.read() if path == "-" else file_checks.read_text(path))
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


def check_finite_rows(values, where, what):
    """ValueError naming the first row of ``values`` (n, ...) holding NaN or inf: no
    prediction is printed for a row that could not be computed."""
    bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
    if len(bad):
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise ValueError(f"{where(bad[0])}: {what} are not finite in {values.dtype} (a value "
                         f"too large or missing){more}; no predictions were written")


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
    text = file_checks.read_text(args.text)
    vocab = charlm.Vocabulary(text)
    h, v = args.hidden, len(vocab)  # Embedding, 8 gate Linears (x and h), the output Linear
    parameters = 8 * (h * h + h) + 2 * h * v + v
    safety.check_memory(parameters * np.dtype(args.dtype).itemsize * safety.COPIES_PER_PARAMETER,
                        f"training an LSTM of hidden size {h}")
    inputs, targets = charlm.windows(vocab.encode(text), args.batch_size, args.bptt)
    np.random.seed(args.seed)
    model = charlm.CharLSTM(len(vocab), args.hidden, dtype=args.dtype)
    optimizer = SGD(model.parameters(), alpha=args.lr)
    step = charlm.window_step(model, optimizer, args.clip)
    if compiled(args):
        step = compile_step(step)  # made once, so its tape serves every epoch
    rng = np.random.default_rng(args.seed)
    print(f"{args.text}: {len(text):,} characters, {len(vocab)} distinct; {len(inputs)} windows "
          f"of {args.bptt} x {args.batch_size} per epoch")
    print(f"model: Embedding + LSTMCell, hidden {args.hidden}, {args.dtype}, "
          f"{count_parameters(model):,} parameters; SGD lr {args.lr:g}, clip {args.clip:g}")
    for epoch in range(1, args.epochs + 1):
        perplexity, seconds = charlm.train_epoch(model, step, inputs, targets,
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
    from jitgrad.compiler.warmup import warmup

    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    on_terminal = sys.stderr.isatty()  # progress and summary on stderr; else summary here
    seconds = warmup(dtypes, progress=on_terminal, remeasure_blas=args.remeasure_blas)
    if not on_terminal:
        print(f"jitgrad warmup: compiled or loaded every kernel for {', '.join(dtypes)} "
              f"in {seconds:.2f} s")


def run_info(args):
    from jitgrad.apps.sysinfo import report

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

    train = commands.add_parser(
        "train", help="train an MLP on handwritten digits or on your own table",
        description="Train an MLP classifier on handwritten digits, or a classifier or "
                    "regressor on a table (--data), and report it on a held-out test split.")
    add_data_options(train, default_dataset="digits")
    add_table_options(train)
    train.add_argument("--hidden", type=layer_sizes, metavar="SIZES",
                       help="hidden layer sizes, comma-separated (default: 256,256 for digits; "
                            "for a table, two layers scaled to its inputs and outputs)")
    train.add_argument("--activation", choices=sorted(training.ACTIVATIONS), default="relu",
                       help="hidden-layer activation (default: relu)")
    train.add_argument("--dropout", type=probability, default=0.0, metavar="P",
                       help="dropout rate after each hidden layer (default: 0)")
    train.add_argument("--epochs", type=positive_int,
                       help="(default: 20; for a table, at most 200 with early stopping)")
    train.add_argument("--batch-size", type=positive_int, default=32, help="(default: 32)")
    train.add_argument("--optimizer", choices=list(training.OPTIMIZERS),
                       help="sgd, sgd with momentum 0.9, adam or adamw (default: adam; for a table, "
                            f"{tabular.OPTIMIZER_NAME})")
    train.add_argument("--lr", type=positive_float, metavar="RATE",
                       help="learning rate (default: " + ", ".join(
                           f"{k} {v:g}" for k, v in training.DEFAULT_LR.items()) + ")")
    add_dtype_option(train)
    train.add_argument("--precision", choices=["float32", "bf16"], default="float32",
                       help="bf16: each step's products in bfloat16 (jitgrad.autocast), the "
                            "parameters float32; needs --dtype float32, jitgrad[bf16] and a CPU "
                            "with AVX512-BF16 or AMX, else it warns and runs float32 "
                            "(default: float32)")
    add_threads_option(train)
    train.add_argument("--seed", type=int, default=0, help="for weights and batches (default: 0)")
    train.add_argument("--save", metavar="FILE", help="save the trained model here (a safetensors file)")
    train.add_argument("--distributed", action="store_true",
                       help="one rank of a data-parallel job started with `mpiexec -n N`: each "
                            "rank trains on its share of every batch (needs jitgrad[distributed])")
    train.add_argument("--plot", metavar="FILE.png",
                       help="plot loss and accuracy curves here (needs jitgrad[plot])")
    add_eager_option(train, "the step on each batch", distributed=True)
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
        "predict", help="classify images, or a table's rows, with a saved model",
        description="Print the class a saved model predicts for each row of INPUT: raw pixel "
                    "values (0-16 for digits, 0-255 for mnist) from a .npy file or a text "
                    "file with one image per line ('-' for stdin). Without INPUT, classify "
                    "the first --count test images of the model's dataset. A model trained "
                    "on a table (train --data) predicts the rows of --data FILE instead, as "
                    "CSV: the class and each class's probability, or the value.")
    add_model_option(predict)
    predict.add_argument("input", nargs="?", metavar="INPUT")
    predict.add_argument("--data", metavar="FILE",
                         help="for a model trained on a table: the rows to predict, in a file "
                              "like the one it learned from (the target column may be absent)")
    predict.add_argument("--output", metavar="FILE.csv",
                         help="write the predictions here instead of to stdout (table models)")
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
    add_eager_option(text, "the update on each window")
    text.set_defaults(run=run_train_text)

    warmup = commands.add_parser("warmup", help="compile every kernel ahead of time",
                                 description="Compile (or load from Numba's cache) every kernel.")
    warmup.add_argument("--dtype", choices=["float32", "float64", "both"], default="both",
                        help="(default: both)")
    warmup.add_argument("--remeasure-blas", action="store_true",
                        help="time the BLAS backends again instead of using the cached choice "
                             "(after the machine was busy during the first measurement)")
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


def add_table_options(parser):
    table = parser.add_argument_group(
        "your own data", "train on a table instead of --dataset (see docs/own-data.md)")
    table.add_argument("--data", metavar="FILE",
                       help="CSV with a header (comma, semicolon or tab), .npy (rows; the last "
                            "column is the target), .npz (X and y) or Parquet (needs pyarrow)")
    table.add_argument("--target", metavar="COLUMN",
                       help="the column to predict: a name, or an index for .npy (default: "
                            "the last column; y for .npz)")
    table.add_argument("--task", choices=["classify", "regress"],
                       help="(default: classify if the target holds text or at most "
                            f"{tabular.MAX_AUTO_CLASSES} distinct integers, else regress)")
    table.add_argument("--categorical", type=column_names, metavar="COLUMNS",
                       help="comma-separated columns to one-hot encode (default: the text "
                            "columns)")
    table.add_argument("--impute", choices=["mean", "median", "drop"],
                       help="fill missing cells with the training rows' mean or median (the "
                            "most frequent category for text), or drop their rows (default: "
                            "missing cells are an error)")
    table.add_argument("--test-size", type=fraction, default=0.2, metavar="FRACTION",
                       help="rows held out for the test, stratified by class (default: 0.2)")
    table.add_argument("--patience", type=non_negative_int, default=10, metavar="N",
                       help="stop after N epochs without a better loss on a validation slice "
                            "(a tenth of the training rows) and keep the best weights; 0: no "
                            "early stopping, no slice (default: 10)")


def add_eager_option(parser, step, distributed=False):
    always = "; always with --distributed, whose gradient exchange a tape does not replay" \
        if distributed else ""
    parser.add_argument("--eager", action="store_true",
                        help=f"run {step} eagerly. By default it is recorded once with "
                             "jitgrad.compile and replayed: the same numbers, a little faster "
                             f"(docs/compile.md){always}")


def compiled(args):
    """Whether the command runs its step through ``jitgrad.compile``: unless ``--eager``, and
    never with ``--distributed`` (its gradient exchange is not a call a tape replays)."""
    return not args.eager and not getattr(args, "distributed", False)


def add_model_option(parser):
    parser.add_argument("--load", required=True, metavar="FILE",
                        help="a model saved by `jitgrad train --save`")


def add_dtype_option(parser):
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="(default: float32)")


def add_threads_option(parser):
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS threads (default: 1: small models' products gain little "
                             "from more, and extra threads slow them on a busy machine; larger "
                             "models gain)")


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
    except (OSError, ValueError, ImportError, MemoryError) as error:
        print(f"jitgrad {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 1
    return 0


def blas_threads(limit):
    """A context limiting BLAS to ``limit`` threads (no limit when None)."""
    if limit is None:
        return contextlib.nullcontext()
    import scipy.linalg  # noqa: F401  -- load the BLAS that Numba's np.dot calls, to limit it
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=limit, user_api="blas")


def one_line(error):
    """The error's message on one line; 'FILE: No such file or directory' for OS errors."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split())
