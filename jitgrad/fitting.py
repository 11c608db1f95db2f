"""The training loop: ``fit(model, loss_fn, optimizer, train, val, ...)`` -> ``History``.

``fit`` runs mini-batch epochs, computes the loss and any metrics (``jitgrad.utils.metrics``) on the
training batches and on a validation set after each epoch, prints a line per epoch (progress
bars too, on a terminal), steps a scheduler and asks callbacks such as ``EarlyStopping``
whether to go on. ``jitgrad train`` runs on it.
"""
import contextlib
import sys
import time

import numpy as np
from tqdm import tqdm

from jitgrad.autograd.grad_mode import no_grad
from jitgrad.autograd.tensor import Tensor
from jitgrad.compiler.step import compile as compile_step
from jitgrad.utils import interrupts
from jitgrad.backend import amp
from jitgrad.utils.data import Batches
from jitgrad.utils.metrics import LABELS


class History(dict):
    """What ``fit`` measured, as a dict of lists with one value per epoch.

    Keys: ``epoch``, ``loss`` (mean training loss), each metric's name (on the training
    batches), ``val_loss`` and ``val_<metric>`` when there is a validation set (``val`` is
    ``fit``'s ``val_name``), and ``samples_per_second`` (training only).
    """

    def append(self, logs):
        """Add one epoch's ``{name: value}``."""
        for name, value in logs.items():
            self.setdefault(name, []).append(value)

    @property
    def epochs(self):
        """How many epochs ran."""
        return len(self.get("epoch", ()))


class EarlyStopping:
    """A ``fit`` callback: stop when ``monitor`` has not improved for ``patience`` epochs, and
    put back the parameters of its best epoch when training ends (``restore_best_weights``).

    ``mode`` is ``"min"`` (a loss) or ``"max"`` (e.g. ``"val_accuracy"``). After ``fit``,
    ``best_epoch`` and ``best`` say where the best value was, and ``stopped_epoch`` the epoch
    that stopped training (None if all epochs ran).
    """

    def __init__(self, monitor="val_loss", patience=10, mode="min", restore_best_weights=True):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive int, got {patience!r}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.restore_best_weights = restore_best_weights
        self.on_train_begin(None)

    def on_train_begin(self, model):
        self.best = self.best_epoch = self.stopped_epoch = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs, model):
        """Note ``logs[monitor]``; True (stop) after ``patience`` epochs without a better one."""
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: no {self.monitor!r} to monitor; this fit records "
                             f"{', '.join(logs)} (give fit a val set for val_* values)")
        value = logs[self.monitor]
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = [p.data.copy() for p in model.parameters()]
            return False
        if epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model):
        if self.best_weights is not None:
            for p, best in zip(model.parameters(), self.best_weights):
                p.data[...] = best


def fit(model, loss_fn, optimizer, train, val=None, epochs=10, batch_size=32, metrics=None,
        scheduler=None, callbacks=(), progress=True, seed=None, val_name="val", parallel=None,
        compile=False, precision="float32"):  # noqa: A002 -- as jitgrad.compile
    """Train ``model`` for up to ``epochs`` epochs; the ``History`` of what it measured.

    - ``loss_fn(outputs, targets)``: a 0-d Tensor, the batch's mean loss (a Layer such as
      ``CrossEntropyLoss()`` or any callable).
    - ``train``, ``val``: ``(x (n, features), y (n, ...))`` arrays or ``Batches`` of them;
      ``train`` as arrays is cut into shuffled batches of ``batch_size`` (seeded by ``seed``).
    - ``metrics``: ``{name: metric(y, outputs) -> float}`` (see ``jitgrad.utils.metrics``), computed
      each epoch on the training batches' outputs (as they were during the epoch) and on ``val``.
    - ``scheduler``: anything with ``step()``, called after every epoch.
    - ``callbacks``: objects with any of ``on_train_begin(model)``,
      ``on_epoch_end(epoch, logs, model) -> stop?`` and ``on_train_end(model)``.
    - ``progress``: print a line per epoch (and progress bars on a terminal).
    - ``val_name``: the validation set's name in the history's keys and the epoch lines.
    - ``parallel``: a ``jitgrad.distributed.DataParallel`` when this process is one rank of a
      data-parallel job; each rank then computes the gradient of its shard of every batch.
    - ``compile``: run each batch's step through ``jitgrad.compile`` (recorded once per batch
      shape and train/eval mode, then replayed; the same numbers as eager). Not with
      ``parallel``, whose gradient exchange is not a call a tape can replay (ValueError).
    - ``precision``: "float32" (the model's own dtype), or "bf16": each training step's
      forward and loss under ``jitgrad.autocast("cpu", dtype=jitgrad.bfloat16)`` (the
      parameters stay float32; a compiled step with bf16 products runs eagerly for now).
    """
    if precision not in ("float32", "bf16"):
        raise ValueError(f"fit: precision must be 'float32' or 'bf16', got {precision!r}")
    if compile and parallel is not None:
        raise ValueError("fit: compile=True cannot be used with parallel: the gradient exchange "
                         "between ranks is not a recorded call; train data-parallel eagerly")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    batches = train if isinstance(train, Batches) else Batches(*train, batch_size=batch_size,
                                                                seed=seed)
    if batches.rows == 0:
        raise ValueError("fit: the training data has no rows")
    val = tuple(val.arrays) if isinstance(val, Batches) else val
    if val is not None and len(val[0]) == 0:
        raise ValueError(f"fit: the {val_name} data has no rows")
    metrics = dict(metrics or {})
    loss_of = as_function(loss_fn)
    history = History()
    _call(callbacks, "on_train_begin", model)
    step = training_step(model, loss_of, optimizer, parallel, autocast=precision == "bf16")
    if compile:
        step = compile_step(step)  # made once, so its tapes serve every epoch
    bars = progress and (parallel is None or parallel.is_root)
    with interrupts.catching_interrupts():  # a Ctrl-C dropped in a finalizer is raised again
        for epoch in tqdm(range(1, epochs + 1), desc="epochs", unit="epoch",
                          disable=None if bars else True):  # None: bars only on a terminal
            loss, y, outputs, seconds = train_epoch(
                model, step, batches,
                progress=f"epoch {epoch}/{epochs}" if bars else None, parallel=parallel,
                keep_outputs=bool(metrics))
            logs = {"epoch": epoch, "loss": loss, **measure(metrics, y, outputs)}
            if val is not None:
                logs.update(evaluate(model, loss_of, *val, metrics, prefix=f"{val_name}_"))
            logs["samples_per_second"] = batches.rows / seconds
            history.append(logs)
            if progress:
                tqdm.write(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  "
                           f"{format_logs(logs, val_name)}", file=sys.stdout)
            if scheduler is not None:
                scheduler.step()
            # each callback sees each epoch, so all are called before any() decides
            if any(_call(callbacks, "on_epoch_end", epoch, logs, model)):
                break
    _call(callbacks, "on_train_end", model)
    return history


def training_step(model, loss_of, optimizer, parallel=None, autocast=False):
    """``fit``'s update on one batch, as a function ``step(x, y, batch_size)``.

    ``x`` (n, features) and ``y`` (n, ...) are Tensors, ``batch_size`` the whole batch's rows
    (more than n when ``x`` is this rank's shard of it, with ``parallel``). Returns (the 0-d
    loss, the outputs (n, ...)), Tensors read after the step, as ``jitgrad.compile`` asks.
    ``autocast``: the forward and loss under ``jitgrad.autocast`` (bfloat16 products).
    """
    precision = amp.autocast("cpu") if autocast else contextlib.nullcontext()

    def train_step(x, y, batch_size):
        with precision:
            output = model.forward(x)
            loss = loss_of(output, y)
        loss.backward()
        if parallel is not None:
            parallel.sync_gradients(optimizer.parameters, batch_size)
        optimizer.step()
        return loss, output
    return train_step


def train_epoch(model, step, batches, progress=None, parallel=None, keep_outputs=True):
    """One pass over ``batches`` of (x (n, features), y (n, ...)), each through ``step``
    (``training_step``'s, or that compiled).

    Returns (mean loss, the targets and the model's outputs in the order they were seen --
    None unless ``keep_outputs`` --, seconds). ``progress``: a description for a tqdm bar over
    the batches (None: no bar). With ``parallel``, each rank's gradients are combined into
    the whole batch's before the optimizer's step (loss and outputs are then this rank's shard's), and
    batches too small to give every rank a row are skipped on every rank alike.
    """
    model.train()
    total_loss, seen, targets, outputs = 0.0, 0, [], []
    start = time.perf_counter()
    bar = tqdm(batches, desc=progress, leave=False, disable=progress is None or None,
               unit="batch")
    for x, y in bar:
        interrupts.check()
        batch_size = len(y)
        if parallel is not None:
            if batch_size < parallel.world_size:
                continue
            x, y = parallel.shard(x), parallel.shard(y)
        loss, output = step(Tensor(x), Tensor(y), batch_size)
        total_loss += float(loss.data) * len(y)
        seen += len(y)
        if keep_outputs:
            targets.append(y)
            outputs.append(output.data)
        if not bar.disable:  # off the terminal, spare the formatting too
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    seconds = time.perf_counter() - start
    if not keep_outputs:
        return total_loss / seen, None, None, seconds
    return total_loss / seen, np.concatenate(targets), np.concatenate(outputs), seconds


def predict(model, x, batch_size=1000):
    """The model's outputs for rows ``x`` (n, features), in eval mode and without a graph."""
    model.eval()
    with no_grad():
        return np.concatenate([model.forward(Tensor(x[start:start + batch_size])).data
                               for start in range(0, len(x), batch_size)])


def evaluate(model, loss_fn, x, y, metrics, prefix=""):
    """{prefix + "loss": mean loss, prefix + metric name: value} of ``model`` on (x, y)."""
    outputs = predict(model, x)
    with no_grad():
        loss = float(as_function(loss_fn)(Tensor(outputs), Tensor(y)).data)
    return {prefix + "loss": loss,
            **{prefix + name: value for name, value in measure(metrics, y, outputs).items()}}


def as_function(loss_fn):
    """A loss Layer's ``forward`` (the book's layers are not callable), else ``loss_fn``."""
    return loss_fn.forward if hasattr(loss_fn, "forward") else loss_fn


def measure(metrics, y, outputs):
    return {name: metric(y, outputs) for name, metric in metrics.items()}


def format_logs(logs, val_name="val"):
    """One epoch's values for its line: 'loss 0.2329  acc  93.88%  val loss 0.1984 ...'."""
    parts = []
    for key, value in logs.items():
        if key in ("epoch", "samples_per_second"):
            continue
        prefix = f"{val_name} " if key.startswith(f"{val_name}_") else ""
        name = key[len(prefix):]
        label, form = LABELS.get(name, (name, "{:.4g}"))
        parts.append(f"{prefix}{label} {form.format(value)}")
    if "samples_per_second" in logs:
        parts.append(f"{logs['samples_per_second']:>9,.0f} samples/s")
    return "  ".join(parts)


def _call(callbacks, method, *args):
    """``callback.method(*args)`` for each callback that has the method; their results."""
    return [getattr(callback, method)(*args) for callback in callbacks
            if hasattr(callback, method)]
