"""The scripts in examples/ run and learn (on small data the tests write themselves)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # the scripts import jitgrad
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), *map(str, args)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_chapter_13_stages_each_reduce_their_loss():
    lines = run_example("ch13_basics.py").splitlines()
    assert len(lines) == 6
    for line in lines:
        losses = [float(value) for value in line[28:].split()]
        assert len(losses) == 10 and losses[-1] < losses[0], line


def test_babi_rnn_learns_beyond_chance(tmp_path):
    story = ["1 Mary moved to the bathroom.", "2 John went to the hallway.",
             "3 Daniel went back to the garden.", "4 Sandra moved to the office."]
    data = tmp_path / "babi.txt"
    data.write_text("\n".join(story * 30) + "\n")
    lines = run_example("ch13_babi_rnn.py", data).splitlines()
    first, last = (float(line.split("loss ")[1].split()[0]) for line in (lines[0], lines[-1]))
    assert last < first / 2


def test_char_lstm_prints_perplexity_and_a_sample(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("to be or not to be, that is the question. " * 25)
    out = run_example("char_lstm.py", text, 1)
    assert out.startswith("epoch 1: perplexity ") and len(out.splitlines()) >= 2


def test_pytorch_style_script_learns_and_restores_its_state_dict():
    lines = run_example("pytorch_style.py", 3).splitlines()
    assert lines[0] == "Sequential("
    accuracies = [float(line.rsplit(" ", 1)[1].rstrip("%")) for line in lines if "accuracy" in line]
    assert accuracies[2] > 90 and accuracies[-1] == accuracies[-2]  # restored = trained
