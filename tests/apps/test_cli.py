"""The jitgrad command end to end: subprocesses for real runs, main() in-process for errors."""
import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jitgrad import Linear, save
from jitgrad import fitting as jitgrad_fitting
from jitgrad.backend.atomic import TEMPORARY_SUFFIX
from jitgrad.apps import cli, training
from tests.helpers.command import run_main
from tests.helpers.compiled import keep_compiled_steps, replayed, without_timings
from tests.helpers.idx import write_fake_mnist

ROOT = Path(__file__).resolve().parents[2]
SHAKESPEARE = ROOT.parent / "shared" / "data" / "shakespeare.txt"
TINY = ["--epochs", "2", "--hidden", "32", "--lr", "0.01"]  # about 90% on digits
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def jitgrad(*args, check=True):
    """Run ``python -m jitgrad ARGS`` from the repository root; the CompletedProcess."""
    result = subprocess.run([sys.executable, "-m", "jitgrad", *map(str, args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny digits model trained, saved and plotted by a real `jitgrad train` process."""
    folder = tmp_path_factory.mktemp("trained")
    result = jitgrad("train", *TINY, "--save", folder / "model.npz", "--plot", folder / "loss.png")
    return folder, result.stdout


def test_train_prints_progress_and_a_summary_and_writes_its_files(trained):
    folder, out = trained
    assert "digits: 1,437 training and 360 test images of 64 pixels, 10 classes" in out
    assert "model: 64-32-10 MLP (relu, float32)" in out
    epoch_line = next(line for line in out.splitlines() if line.startswith("epoch 1/2"))
    assert "loss" in epoch_line and "test acc" in epoch_line and "samples/s" in epoch_line
    assert "done: test accuracy" in out and "saved the model to" in out
    assert (folder / "model.npz").stat().st_size > 0
    assert (folder / "loss.png").read_bytes()[:8] == PNG_MAGIC
    assert not [name for name in os.listdir(folder) if name.endswith(TEMPORARY_SUFFIX)]


def test_eval_reports_the_accuracy_train_reached(trained):
    folder, train_out = trained
    summary = next(line for line in train_out.splitlines() if line.startswith("done:"))
    reached = summary.split("test accuracy ")[1].split(" ")[0]  # e.g. '91.11%'
    out = jitgrad("eval", "--load", folder / "model.npz").stdout
    assert "64-32-10 MLP (relu, float32), trained on digits" in out
    assert f"digits test set: accuracy {reached}" in out


def test_predict_classifies_rows_from_a_file(trained, tmp_path):
    from sklearn.datasets import load_digits
    images, labels = load_digits(return_X_y=True)
    np.save(tmp_path / "rows.npy", images[:20])
    lines = jitgrad("predict", "--load", trained[0] / "model.npz", tmp_path / "rows.npy"
                    ).stdout.splitlines()
    assert lines[0].split() == ["row", "class", "probability"] and len(lines) == 21
    predicted = np.array([int(line.split()[1]) for line in lines[1:]])
    assert (predicted == labels[:20]).mean() >= 0.5  # chance is 0.1


def test_predict_reads_text_rows_from_a_file_or_stdin(trained, tmp_path, capsys, monkeypatch):
    from sklearn.datasets import load_digits
    images = load_digits().data[:4]
    np.save(tmp_path / "rows.npy", images)
    np.savetxt(tmp_path / "rows.csv", images, delimiter=",")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(" ".join(map(str, row)) for row in images)))
    outputs = [run_main(capsys, "predict", "--load", trained[0] / "model.npz", source)[1]
               for source in (tmp_path / "rows.npy", tmp_path / "rows.csv", "-")]
    assert len(outputs[0].splitlines()) == 5 and outputs[0] == outputs[1] == outputs[2]


def test_predict_without_input_shows_test_images_and_labels(trained, capsys):
    status, out, _ = run_main(capsys, "predict", "--load", trained[0] / "model.npz", "--count", 3)
    assert status == 0
    assert out.splitlines()[0].split() == ["row", "class", "probability", "label"]
    assert len(out.splitlines()) == 4


def test_train_on_mnist_idx_files(tmp_path, capsys):
    write_fake_mnist(tmp_path, train=40, test=10)
    status, out, err = run_main(capsys, "train", "--dataset", "mnist", "--data-dir", tmp_path,
                                "--no-download", *TINY, "--batch-size", 8)
    assert status == 0, err
    assert "mnist: 40 training and 10 test images of 784 pixels" in out
    assert "model: 784-32-10 MLP" in out


def test_the_same_seed_trains_the_same_model(capsys):
    def losses(seed):
        status, out, _ = run_main(capsys, "train", *TINY, "--hidden", "8", "--seed", seed)
        return [line.split("samples/s")[0].rsplit(None, 1)[0]  # the speed varies, nothing else
                for line in out.splitlines() if line.startswith("epoch")]
    first = losses(3)
    assert first == losses(3) and first != losses(4)


def test_train_text_prints_perplexity_and_samples(tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text("the cat sat on the mat. the dog sat on the log.\n" * 20)
    out = jitgrad("train-text", "--text", text, "--epochs", 2, "--hidden", 8, "--bptt", 5,
                  "--batch-size", 4, "--sample-length", 30).stdout
    perplexities = [float(line.split("perplexity ")[1].split()[0])
                    for line in out.splitlines() if line.startswith("epoch")]
    assert len(perplexities) == 2 and perplexities[1] < perplexities[0]
    assert out.count("  | ") >= 2 and "done: perplexity" in out


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason="../shared/data/shakespeare.txt is absent")
def test_train_text_on_the_books_shakespeare(capsys):
    status, out, err = run_main(capsys, "train-text", "--text", SHAKESPEARE, "--epochs", 1,
                                "--hidden", 8, "--batch-size", 256, "--bptt", 10,
                                "--sample-length", 20)
    assert status == 0, err
    assert "99,993 characters" in out and "perplexity" in out


def test_compiled_by_default_trains_the_same_model_on_the_digits(capsys, monkeypatch):
    made = keep_compiled_steps(monkeypatch, jitgrad_fitting)
    outputs = [run_main(capsys, "train", *TINY, *flag) for flag in (["--eager"], [])]
    (eager_status, eager, _), (status, compiled, err) = outputs
    assert eager_status == status == 0, err
    assert "done: test accuracy" in compiled and "RuntimeWarning" not in err
    assert without_timings(compiled) == without_timings(eager)
    assert len(made) == 1 and replayed(made[0])  # the 2 epochs' steps, and the last batch's


def test_compiled_by_default_trains_the_same_language_model(tmp_path, capsys, monkeypatch):
    made = keep_compiled_steps(monkeypatch, cli)
    text = tmp_path / "tiny.txt"
    text.write_text("the cat sat on the mat. the dog sat on the log.\n" * 20)
    options = ["--text", text, "--epochs", 2, "--hidden", 8, "--bptt", 5, "--batch-size", 4,
               "--sample-length", 30]
    outputs = [run_main(capsys, "train-text", *options, *flag) for flag in (["--eager"], [])]
    (eager_status, eager, _), (status, compiled, err) = outputs
    assert eager_status == status == 0, err
    assert "done: perplexity" in compiled
    assert without_timings(compiled) == without_timings(eager)  # perplexities and samples
    assert len(made) == 1 and replayed(made[0])


@pytest.mark.parametrize("command,flags,expected", [
    ("train", [], True), ("train", ["--eager"], False), ("train", ["--distributed"], False),
    ("train-text", ["--text", "t.txt"], True), ("train-text", ["--text", "t.txt", "--eager"], False),
])
def test_steps_are_compiled_unless_eager_or_distributed(command, flags, expected):
    assert cli.compiled(cli.build_parser().parse_args([command, *flags])) is expected


def test_warmup_and_info():
    assert "jitgrad warmup: compiled or loaded every kernel for float32" in jitgrad(
        "warmup", "--dtype", "float32").stdout
    info = jitgrad("info").stdout
    for expected in ("jitgrad 0.1.0", "numpy", "numba", "scikit-learn", "float32, float64",
                     "kernel cache", "thread pool   blas"):
        assert expected in info


def test_a_failing_command_prints_one_line_and_no_traceback(tmp_path):
    result = jitgrad("eval", "--load", tmp_path / "missing.npz", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"jitgrad eval: error: {tmp_path / 'missing.npz'}: No such file or directory\n"


@pytest.mark.parametrize("args, status, message", [
    (["train", "--hidden", "16,x"], 2, "argument --hidden: must be comma-separated positive"),
    (["train", "--epochs", "0"], 2, "argument --epochs: must be a positive integer"),
    (["train", "--lr", "-1"], 2, "argument --lr: must be a positive number"),
    (["train", "--optimizer", "rmsprop"], 2, "argument --optimizer: invalid choice"),
    (["train", "--save", "no/such/dir/m.npz"], 1, "--save no/such/dir/m.npz: the directory does not exist"),
    (["train", "--dataset", "mnist", "--data-dir", "{tmp}", "--no-download"], 1,
     "mnist: train-images-idx3-ubyte[.gz] is not in"),
    (["eval", "--load", "{tmp}/text.npz"], 1, "is not a jitgrad model file"),
    (["train-text", "--text", "{tmp}/short.txt"], 1, "the text has 11 characters; with batch size 32"),
    (["train-text", "--text", "{tmp}/latin1.txt"], 1, "is not UTF-8 text"),
    (["predict", "--load", "{tmp}/model.npz", "{tmp}/short.txt"], 1, "every line must hold numbers"),
    (["predict", "--load", "{tmp}/model.npz", "{tmp}/row.txt"], 1, "takes 64 pixels per image but"),
])
def test_bad_input_gets_a_one_line_error(capsys, tmp_path, args, status, message):
    (tmp_path / "text.npz").write_text("not a model")
    (tmp_path / "short.txt").write_text("hello world")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "row.txt").write_text("1 2 3\n")
    save(training.build_mlp(64, [4], 10), tmp_path / "model.npz", metadata=dict(
        kind=cli.MODEL_KIND, dataset="digits", scale=16.0, features=64, hidden=[4], classes=10,
        activation="relu", dropout=0.0, dtype="float64"))
    code, out, err = run_main(capsys, *[a.format(tmp=tmp_path) for a in args])
    assert code == status and message in err
    assert err.count("\n") == 1 and err.startswith("jitgrad ")


def test_plot_without_matplotlib_fails_before_training(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    code, out, err = run_main(capsys, "train", *TINY, "--plot", tmp_path / "loss.png")
    assert code == 1 and out == ""
    assert 'matplotlib is not installed; install it with: pip install "jitgrad[plot]"' in err


def test_saved_file_from_other_code_is_refused(tmp_path, capsys):
    save(Linear(2, 3), tmp_path / "linear.npz")
    code, _, err = run_main(capsys, "eval", "--load", tmp_path / "linear.npz")
    assert code == 1 and "not a model saved by `jitgrad train --save`" in err


def test_console_script_points_at_main():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["jitgrad"] == "jitgrad.apps.cli:main"


@pytest.mark.skipif(shutil.which("jitgrad") is None, reason="jitgrad is not installed here")
def test_installed_console_script_runs():
    result = subprocess.run(["jitgrad", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("jitgrad ")


def test_ctrl_c_during_training_leaves_no_model_file(tmp_path):
    """SIGINT (what Ctrl-C sends) mid-training: status 130, and neither the model file nor a
    temporary is left. (An interrupt while the file is written: test_serialization.py.)"""
    target = tmp_path / "model.npz"
    process = subprocess.Popen([sys.executable, "-u", "-m", "jitgrad", "train", "--epochs", "200",
                                "--hidden", "32", "--save", str(target)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # wait until it is training
        if line.startswith("epoch"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err
    assert os.listdir(tmp_path) == []
