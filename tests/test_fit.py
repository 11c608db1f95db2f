"""jitgrad.fit: the history it returns, early stopping with best-weights restore, callbacks."""
import numpy as np
import pytest

import jitgrad
from jitgrad import CrossEntropyLoss, Dropout, Linear, ReLU, Sequential
from jitgrad.fitting import EarlyStopping, History, evaluate
from jitgrad.utils import metrics
from jitgrad.utils.data import Batches
from tests.helpers.compiled import keep_compiled_steps, replayed


def blobs(rows=200, seed=0):
    """Two Gaussian blobs in 2-D, (rows, 2) float64 and labels (rows,) 0/1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    return rng.normal(size=(rows, 2)) + 3.0 * (y[:, None] - 0.5), y


def small_model(seed=0):
    np.random.seed(seed)
    return Sequential([Linear(2, 8), ReLU(), Linear(8, 2)])


def fit_blobs(model, val, epochs, callbacks=(), progress=False, **options):
    return jitgrad.fit(model, CrossEntropyLoss(), jitgrad.Adam(model.parameters(), alpha=0.01),
                       blobs(), val=val, epochs=epochs, batch_size=16, seed=0,
                       metrics=metrics.CLASSIFICATION, callbacks=callbacks, progress=progress,
                       **options)


def test_fit_returns_the_history_as_a_dict_of_per_epoch_lists():
    history = fit_blobs(small_model(), val=blobs(seed=1), epochs=5)
    assert isinstance(history, History) and isinstance(history, dict)
    assert set(history) == {"epoch", "loss", "accuracy", "macro_f1", "val_loss", "val_accuracy",
                            "val_macro_f1", "samples_per_second"}
    assert history.epochs == 5 and all(len(values) == 5 for values in history.values())
    assert history["epoch"] == [1, 2, 3, 4, 5]
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9  # the blobs overlap a little; chance is 0.5


def test_fit_takes_batches_and_the_same_seed_gives_the_same_history():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = small_model()
        runs.append(jitgrad.fit(model, CrossEntropyLoss(), jitgrad.Adam(model.parameters()),
                                Batches(x, y, batch_size=16, seed=3), epochs=3, progress=False))
    assert runs[0]["loss"] == runs[1]["loss"] and "val_loss" not in runs[0]


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = blobs(seed=1)
    val = (x, 1 - y)  # labels flipped: the better the model learns, the worse val_loss gets
    model = small_model()
    stopper = EarlyStopping(patience=2)
    history = fit_blobs(model, val, epochs=50, callbacks=[stopper])
    assert stopper.stopped_epoch == stopper.best_epoch + 2 == history.epochs < 50
    assert history["val_loss"][stopper.best_epoch - 1] == min(history["val_loss"])
    restored = evaluate(model, CrossEntropyLoss(), *val, {})["loss"]
    assert restored == pytest.approx(min(history["val_loss"]), rel=1e-12)
    assert restored < history["val_loss"][-1]


def test_early_stopping_on_a_metric_that_grows():
    stopper = EarlyStopping(monitor="val_accuracy", mode="max", patience=3)
    history = fit_blobs(small_model(), blobs(seed=1), epochs=30, callbacks=[stopper])
    assert history["val_accuracy"][stopper.best_epoch - 1] == max(history["val_accuracy"])


def test_early_stopping_without_its_value_names_what_there_is():
    with pytest.raises(ValueError, match="no 'val_loss' to monitor; this fit records epoch, loss"):
        fit_blobs(small_model(), val=None, epochs=2, callbacks=[EarlyStopping()])


@pytest.mark.parametrize("options, message", [
    (dict(mode="up"), "mode must be 'min' or 'max'"),
    (dict(patience=0), "patience must be a positive int"),
])
def test_early_stopping_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**options)


def test_callbacks_and_the_scheduler_are_called_once_per_epoch_in_order():
    calls = []

    class Recorder:
        def on_train_begin(self, model):
            calls.append("begin")

        def on_epoch_end(self, epoch, logs, model):
            calls.append(("epoch", epoch, round(logs["loss"], 12)))
            return epoch == 3  # stop after the third

        def on_train_end(self, model):
            calls.append("end")

    class Scheduler:
        def step(self):
            calls.append("step")

    history = fit_blobs(small_model(), None, epochs=10, callbacks=[Recorder()],
                        scheduler=Scheduler())
    assert calls == ["begin", *[item for epoch in (1, 2, 3) for item in (
        "step", ("epoch", epoch, round(history["loss"][epoch - 1], 12)))], "end"]


def test_progress_prints_a_line_per_epoch(capsys):
    fit_blobs(small_model(), blobs(seed=1), epochs=2, progress=True, val_name="test")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert "acc" in lines[0] and "F1" in lines[0] and "test loss" in lines[0]


def test_compile_gives_the_same_history_and_replays_its_steps(monkeypatch):
    """Dropout's stream, the train()/eval() switch for validation and the last, smaller
    batch (a second signature) all go through the compiled step; float64: equal bit for bit."""
    made = keep_compiled_steps(monkeypatch, jitgrad.fitting)
    histories = []
    for compile in (False, True):
        np.random.seed(0)
        model = Sequential([Linear(2, 8), ReLU(), Dropout(0.2), Linear(8, 2)])
        history = fit_blobs(model, val=blobs(seed=1), epochs=3, compile=compile)
        histories.append((history, [p.data.copy() for p in model.parameters()]))
    (eager, eager_weights), (compiled, compiled_weights) = histories
    assert len(made) == 1 and replayed(made[0]) and len(made[0]._tapes) == 2  # 200 = 12*16 + 8
    del eager["samples_per_second"], compiled["samples_per_second"]
    assert compiled == eager
    assert all(np.array_equal(a, b) for a, b in zip(eager_weights, compiled_weights))


def test_compile_with_data_parallel_is_refused_before_training():
    model = small_model()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="compile=True cannot be used with parallel"):
        fit_blobs(model, val=None, epochs=1, compile=True, parallel=object())
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))
