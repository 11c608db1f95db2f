"""save/load: exact round trips, atomic writes, clear errors on files that do not fit."""
import json
import os

import numpy as np
import pytest
from safetensors.numpy import load_file

import jitgrad
from jitgrad import Embedding, Layer, Linear, ReLU, Sequential, Tensor, serialization
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
    (lambda: Sequential([Linear(4, 3)]), r"3 problem\(s\): unexpected 2.weight; unexpected 2.bias; "
                                         r"unexpected 3.weight"),
    (lambda: model(sizes=(4, 6, 2)), r"mismatched 0.weight: float64\[4, 3\] given, float64\[4, 6\] "
                                     r"in the model; mismatched 0.bias"),
    (lambda: model(np.float32), r"mismatched 0.weight: float64\[4, 3\] given, float32\[4, 3\]"),
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

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(serialization, "save_safetensors", interrupt)
    with pytest.raises(KeyboardInterrupt):
        jitgrad.save(model(), path, metadata={"version": "new"})
    assert read(path)[1] == {"version": "old"}
    assert os.listdir(tmp_path) == ["model.npz"]


class EncoderDecoder(Layer):
    """Two same-shaped layers, assigned in the order given."""

    def __init__(self, order):
        super().__init__()
        for name in order:
            setattr(self, name, Linear(3, 3))


def test_same_shaped_layers_load_by_name_not_position(tmp_path):
    source, target = EncoderDecoder(["encoder", "decoder"]), EncoderDecoder(["decoder", "encoder"])
    jitgrad.save(source, tmp_path / "m.safetensors")
    jitgrad.load(target, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(target.encoder.weight.data, source.encoder.weight.data)
    np.testing.assert_array_equal(target.decoder.weight.data, source.decoder.weight.data)


def test_the_file_opens_by_name_in_safetensors(tmp_path):
    m = model()
    jitgrad.save(m, tmp_path / "m.safetensors")
    arrays = load_file(tmp_path / "m.safetensors")
    assert set(arrays) == {name for name, _ in m.named_parameters()}
    np.testing.assert_array_equal(arrays["2.weight"], m.layers[2].weight.data)


def test_files_of_the_earlier_npz_format_still_load(tmp_path):
    """The .npz layout earlier releases wrote: p0..pN by position, a format marker, metadata."""
    source, target = model(), model(np.float64, sizes=(4, 3, 2))
    arrays = {f"p{i}": p.data for i, p in enumerate(source.parameters())}
    np.savez(tmp_path / "old.npz", **arrays, __jitgrad_format__=np.array("jitgrad-parameters-1"),
             __jitgrad_metadata__=np.array(json.dumps({"hidden": [3]})))
    assert jitgrad.load(target, tmp_path / "old.npz") == {"hidden": [3]}
    for a, b in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dicts_and_optimizers_round_trip(tmp_path):
    m = model()
    optim = jitgrad.AdamW(m.parameters(), lr=0.01)
    m.layers[0](Tensor(np.ones((2, 4)))).sum().backward()
    optim.step()
    jitgrad.save({"model": m.state_dict(), "optimizer": optim.state_dict(), "epoch": 3},
                 tmp_path / "checkpoint")
    checkpoint = jitgrad.load(tmp_path / "checkpoint")
    assert checkpoint["epoch"] == 3
    assert checkpoint["optimizer"]["param_groups"] == optim.state_dict()["param_groups"]
    first = optim.parameters[0]
    np.testing.assert_array_equal(checkpoint["optimizer"]["state"][0]["exp_avg"],
                                  optim.state[first]["exp_avg"])
    fresh = jitgrad.AdamW(model().parameters(), lr=0.5)
    fresh.load_state_dict(checkpoint["optimizer"])
    assert fresh.param_groups[0]["lr"] == 0.01 and fresh.state[fresh.parameters[0]]["step"] == 1


def test_what_cannot_be_stored_is_named(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot store a set \(at model\)"):
        jitgrad.save({"model": {1, 2}}, tmp_path / "x")
    assert not (tmp_path / "x").exists()
