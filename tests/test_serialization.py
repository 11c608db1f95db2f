"""save/load: exact round trips, atomic writes, clear errors on files that do not fit."""
import os

import numpy as np
import pytest

import jitgrad
from jitgrad import Embedding, Linear, ReLU, Sequential
from jitgrad.serialization import ModelFileError, read


def model(dtype=np.float64, sizes=(4, 3, 2)):
    return Sequential([Linear(sizes[0], sizes[1], dtype=dtype), ReLU(),
                       Linear(sizes[1], sizes[2], dtype=dtype), Embedding(5, 2, dtype=dtype)])


def snapshot(m):
    return [p.data.copy() for p in m.parameters()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_exact_and_keeps_dtype(tmp_path, dtype):
    path = tmp_path / "model.npz"
    source, target = model(dtype), model(dtype)
    jitgrad.save(source, path, metadata={"hidden": [3], "activation": "relu"})
    buffers = [p.data for p in target.parameters()]
    assert jitgrad.load(target, path) == {"hidden": [3], "activation": "relu"}
    for saved, loaded, buffer in zip(source.parameters(), target.parameters(), buffers):
        np.testing.assert_array_equal(loaded.data, saved.data)
        assert loaded.data.dtype == dtype and loaded.data is buffer  # copied in place


def test_a_list_of_tensors_saves_too(tmp_path):
    m = model()
    jitgrad.save(m.parameters(), tmp_path / "list.npz")
    arrays, metadata = read(tmp_path / "list.npz")
    assert metadata == {} and len(arrays) == len(m.parameters())


@pytest.mark.parametrize("other, match", [
    (lambda: Sequential([Linear(4, 3)]), "holds 5 parameters but the model has 2"),
    (lambda: model(sizes=(4, 6, 2)), r"parameter 0 is float64\[4, 3\] in .* but float64\[4, 6\]"),
    (lambda: model(np.float32), r"parameter 0 is float64\[4, 3\] in .* but float32\[4, 3\]"),
])
def test_a_file_that_does_not_fit_the_model_changes_nothing(tmp_path, other, match):
    path = tmp_path / "model.npz"
    jitgrad.save(model(), path)
    target = other()
    before = snapshot(target)
    with pytest.raises(ModelFileError, match=match):
        jitgrad.load(target, path)
    for p, data in zip(target.parameters(), before):
        np.testing.assert_array_equal(p.data, data)


def test_truncated_file(tmp_path):
    path = tmp_path / "model.npz"
    jitgrad.save(model(), path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ModelFileError, match="is truncated or damaged"):
        jitgrad.load(model(), path)


@pytest.mark.parametrize("write, match", [
    (lambda file: file.write(b"hello, not a model\n"), "is not a jitgrad model file"),
    (lambda file: np.savez(file, weights=np.ones(3)), "an .npz file but not a jitgrad model file"),
    (lambda file: np.save(file, np.ones(3)), r"single array \(.npy\)"),
])
def test_files_that_are_not_model_files(tmp_path, write, match):
    path = tmp_path / "thing.npz"
    with open(path, "wb") as file:
        write(file)
    with pytest.raises(ModelFileError, match=match):
        jitgrad.load(model(), path)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        jitgrad.load(model(), "no/such/model.npz")


def test_interrupted_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    jitgrad.save(model(), path, metadata={"version": "old"})

    def savez_then_interrupt(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", savez_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        jitgrad.save(model(), path, metadata={"version": "new"})
    assert read(path)[1] == {"version": "old"}
    assert os.listdir(tmp_path) == ["model.npz"]
