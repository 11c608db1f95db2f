"""Files and faults real users produce by accident, against `jitgrad train`, `train --data`,
`predict`, `eval` and `jitgrad.save`/`load`/`fit`/`load_state_dict`: nothing is lost,
nothing is silently wrong, the work is bounded by the file (not by its claims), and every
failure is one line naming the file.

Most cases run the command in this process (``run_main``); the ones whose point is bounded
memory or time (bombs, a FIFO, /dev/zero) run it in a subprocess under an address-space limit
and measure its peak RSS.
"""
import json
import os
import resource
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save as save_safetensors

import jitgrad
from jitgrad import serialization
from jitgrad.apps import cli, tabular, training
from jitgrad.backend.atomic import TEMPORARY_SUFFIX
from jitgrad.serialization import ModelFileError
from tests.helpers.command import run_main

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1536 << 20  # address space for a CLI subprocess that must stay small (numba fits)
FEW_ROWS = "".join(f"{i % 7 - 3},{(i * 5) % 11 - 5},{'xy'[i % 2]}\n" for i in range(40))


# --- helpers ------------------------------------------------------------------------------
def run(capsys, *args, quiet=True):
    """``run_main``, checking what every failure must look like: status 1, one line on
    stderr starting with 'jitgrad COMMAND: error: ' and (``quiet``: found before any work)
    nothing on stdout."""
    status, out, err = run_main(capsys, *args)
    assert status == 1, (out, err)
    assert err.count("\n") == 1 and (out == "" or not quiet), (out, err)
    assert err.startswith(f"jitgrad {args[0]}: error: "), err
    return err


def snapshot(*paths):
    """{path: bytes} of the files given, to show they are unchanged."""
    return {path: Path(path).read_bytes() for path in paths}


def run_limited(*args, limit=LIMIT, timeout=120):
    """``python -m jitgrad ARGS`` in a subprocess under RLIMIT_AS ``limit``: (status,
    stderr, peak RSS in bytes, seconds)."""
    def restrict():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "jitgrad", *map(str, args)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=restrict)
    deadline = start + timeout
    while True:  # wait4 gives this child's own rusage
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"jitgrad {' '.join(map(str, args))} ran over {timeout} s")
        time.sleep(0.02)
    err = process.stderr.read().decode()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, err, usage.ru_maxrss * 1024, time.perf_counter() - start


def digits_model(path, **changes):
    """A tiny digits model file as `jitgrad train --save` writes it; ``changes`` alter its
    metadata."""
    metadata = dict(kind=cli.MODEL_KIND, dataset="digits", scale=16.0, features=64, hidden=[4],
                    classes=10, activation="relu", dropout=0.0, dtype="float64")
    dtype = changes.get("dtype") if changes.get("dtype") in ("float32", "float64") else "float64"
    jitgrad.save(training.build_mlp(64, [4], 10, dtype=dtype), path, {**metadata, **changes})
    return path


def table_model(path, impute=None, **changes):
    """A model file as `jitgrad train --data` writes it for a table of columns a, b and a
    label x or y (its weights untrained); ``changes`` alter its metadata."""
    fill = 0.0 if impute in ("mean", "median") else None
    preparation = tabular.Preparation(["a", "b"], {"a": [fill, 0.0, 1.0], "b": [fill, 0.0, 1.0]},
                                      {}, "label", "classify", impute, ["x", "y"])
    metadata = dict(kind=cli.TABLE_MODEL_KIND, data="t.csv", preparation=preparation.to_json(),
                    test={}, features=2, hidden=[4], classes=2, activation="relu", dropout=0.0,
                    dtype="float64")
    jitgrad.save(training.build_mlp(2, [4], 2), path, {**metadata, **changes})
    return path


def write_safetensors(path, tensors, metadata):
    """A safetensors file written by hand: ``tensors`` [(name, dtype code, shape, bytes)],
    ``metadata`` the header's __metadata__ (any JSON, to write what the library refuses)."""
    header, offset = {"__metadata__": metadata}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text
                           + b"".join(data for *_, data in tensors))
    return path


def npy_claiming(path, shape, dtype="<f8", data=b"\0" * 16):
    """An .npy file whose header says ``dtype`` ``shape`` but that holds ``data``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    Path(path).write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data)
    return path


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + FEW_ROWS)
    return path


# --- data loss: an output never overwrites an input or another output -------------------------
@pytest.mark.parametrize("alias", ["same", "dotdot", "symlink", "hardlink"])
def test_predict_output_naming_the_data_is_refused_and_the_data_kept(capsys, tmp_path, table,
                                                                     alias):
    model = table_model(tmp_path / "m.safetensors")
    (tmp_path / "sub").mkdir()
    output = {"same": table, "dotdot": tmp_path / "sub" / ".." / "t.csv",
              "symlink": tmp_path / "link.csv", "hardlink": tmp_path / "hard.csv"}[alias]
    if alias == "symlink":
        os.symlink(table, output)
    if alias == "hardlink":
        os.link(table, output)
    before = snapshot(table, model)
    err = run(capsys, "predict", "--load", model, "--data", table, "--output", output)
    assert f"--output {output} is the same file as --data {table}" in err
    assert snapshot(table, model) == before


def test_predict_output_naming_the_model_is_refused(capsys, tmp_path, table):
    model = table_model(tmp_path / "m.safetensors")
    before = snapshot(table, model)
    err = run(capsys, "predict", "--load", model, "--data", table, "--output", model)
    assert f"--output {model} is the same file as --load {model}" in err
    assert snapshot(table, model) == before


@pytest.mark.parametrize("outputs, clash", [
    (["--save", "{data}"], "--save {data} is the same file as --data {data}"),
    (["--plot", "{data}"], "--plot {data} is the same file as --data {data}"),
    (["--save", "{tmp}/m.png", "--plot", "{tmp}/m.png"],
     "--plot {tmp}/m.png is the same file as --save {tmp}/m.png (another output)"),
])
def test_train_outputs_clashing_with_the_data_or_each_other_are_refused_before_training(
        capsys, tmp_path, table, outputs, clash):
    before = snapshot(table)
    fill = dict(data=table, tmp=tmp_path)
    err = run(capsys, "train", "--data", table, *[o.format(**fill) for o in outputs])
    assert clash.format(**fill) in err
    assert snapshot(table) == before and sorted(os.listdir(tmp_path)) == ["t.csv"]


@pytest.mark.parametrize("save, message", [
    ("{tmp}", "--save {tmp} is a directory; give a file name"),
    ("{tmp}/no/m.safetensors", "--save {tmp}/no/m.safetensors: the directory does not exist"),
    ("/proc/m.safetensors", "--save /proc/m.safetensors: cannot write in /proc"),
    ("/dev/null", "--save /dev/null exists and is not a regular file"),
])
def test_a_destination_that_cannot_be_written_is_refused_before_training(capsys, tmp_path,
                                                                       save, message):
    """Found before any data is read (stdout stays empty), naming the path as given."""
    err = run(capsys, "train", "--save", save.format(tmp=tmp_path), "--epochs", "1")
    assert message.format(tmp=tmp_path) in err


# --- silently wrong results --------------------------------------------------------------------
@pytest.mark.parametrize("rows, message", [
    ("1,2,x\n3,1e308,y\n", "line 3, column 'b': 1e+308 is too large to train on in float32"),
    ("1,2,x\n-3e19,1,y\n", "line 3, column 'a': -3e+19 is too large to train on in float32"),
])
def test_a_value_whose_square_overflows_is_refused_naming_line_and_column(capsys, tmp_path,
                                                                         rows, message):
    data = tmp_path / "t.csv"
    data.write_text("a,b,label\n" + rows + FEW_ROWS)
    err = run(capsys, "train", "--data", data, "--save", tmp_path / "m.safetensors")
    assert f"{data}: {message}" in err and not (tmp_path / "m.safetensors").exists()


def test_a_regression_target_that_overflows_is_refused(capsys, tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("a,price\n" + "".join(f"{i},{i * 1.5}\n" for i in range(40)) + "1,1e200\n")
    err = run(capsys, "train", "--data", data, "--dtype", "float64")
    assert f"{data}: line 42, column 'price': 1e+200 is too large to train on in float64" in err


def test_an_infinite_cell_in_an_npy_is_refused_naming_row_and_column(capsys, tmp_path):
    array = np.tile(np.arange(3.0), (30, 1))
    array[7, 1] = np.inf
    np.save(tmp_path / "t.npy", array)
    err = run(capsys, "train", "--data", tmp_path / "t.npy")
    assert f"{tmp_path / 't.npy'}: row 7, column '1': inf is not a finite number" in err


def test_training_that_diverges_saves_nothing(capsys, tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("a,price\n" + "".join(f"{i},{i * 1.5 + i % 3}\n" for i in range(60)))
    err = run(capsys, "train", "--data", data, "--optimizer", "sgd", "--lr", "1e30",
              "--epochs", "5", "--patience", "0", "--save", tmp_path / "m.safetensors",
              quiet=False)
    assert "training diverged: the loss was" in err and "nothing was saved" in err
    assert sorted(os.listdir(tmp_path)) == ["t.csv"]


def test_predict_refuses_a_row_it_cannot_compute_instead_of_printing_nan(capsys, tmp_path):
    model = table_model(tmp_path / "m.safetensors")
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n3,1e300\n")
    err = run(capsys, "predict", "--load", model, "--data", data)
    assert f"{data}: line 3, column 'b': 1e+300 is too large" in err


def test_predict_digits_refuses_an_overflowing_row(capsys, tmp_path):
    rows = np.ones((3, 64))
    rows[2, 5] = 1e300  # finite in float64, inf once in the model's float32
    np.save(tmp_path / "rows.npy", rows)
    err = run(capsys, "predict", "--load", digits_model(tmp_path / "m.safetensors",
                                                        dtype="float32"), tmp_path / "rows.npy")
    assert f"row 2 of {tmp_path / 'rows.npy'}: its pixel values are not finite in float32" in err


def test_an_all_empty_row_is_a_row_not_a_blank_line(capsys, tmp_path):
    """Refused (naming its line) without imputation; imputed with it, so the predictions keep
    one row per input row."""
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n\n,\n3,4\n")
    err = run(capsys, "predict", "--load", table_model(tmp_path / "m.safetensors"), "--data", data)
    assert "2 missing cells (line 4 column 'a', line 4 column 'b')" in err
    status, out, err = run_main(capsys, "predict", "--load",
                                table_model(tmp_path / "i.safetensors", impute="mean"),
                                "--data", data)
    assert status == 0, err
    assert len(out.splitlines()) == 1 + 3  # the header and rows 1,2 / (empty) / 3,4


@pytest.mark.parametrize("state, first, second", [
    ({"a.b": np.ones(1), "a": {"b": np.zeros(1)}}, "['a.b']", "['a']['b']"),
    ({1: np.ones(1), "1": np.zeros(1)}, "[1]", "['1']"),
    ({"x": [np.ones(1)], "x.0": np.zeros(1)}, "['x'][0]", "['x.0']"),
])
def test_save_refuses_keys_that_collide_once_flattened(tmp_path, state, first, second):
    with pytest.raises(ValueError, match=rf"save: {first} and {second} would both be stored"
                                         .replace("[", r"\[").replace("]", r"\]")):
        jitgrad.save(state, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("key", [(1, 2), 1.5, None, True])
def test_save_refuses_keys_that_are_not_str_or_int(tmp_path, key):
    with pytest.raises(TypeError, match="save: dict keys must be strings or ints"):
        jitgrad.save({"model": {key: np.ones(1)}}, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_fit_refuses_epochs_below_one_and_empty_data():
    model = jitgrad.Linear(2, 2)
    optimizer = jitgrad.SGD(model.parameters(), lr=0.1)
    loss = jitgrad.CrossEntropyLoss()
    data = (np.ones((4, 2)), np.zeros(4, dtype=int))
    for epochs in (-3, 0, 1.5, True):
        with pytest.raises(ValueError, match=f"fit: epochs must be a positive int, got {epochs}"):
            jitgrad.fit(model, loss, optimizer, data, epochs=epochs, progress=False)
    with pytest.raises(ValueError, match="fit: the training data has no rows"):
        jitgrad.fit(model, loss, optimizer, (np.ones((0, 2)), np.zeros(0, int)), progress=False)
    with pytest.raises(ValueError, match="fit: the val data has no rows"):
        jitgrad.fit(model, loss, optimizer, data, val=(np.ones((0, 2)), np.zeros(0, int)),
                    progress=False)


# --- bounded work ---------------------------------------------------------------------------
#: what a command may use beyond one that fails at once on a missing file
MEMORY_MARGIN = 100 << 20


@pytest.fixture(scope="module")
def baseline_rss(tmp_path_factory):
    """The peak RSS of a command that fails at once (its imports, kernels loaded): what
    every refusal below should cost, give or take MEMORY_MARGIN."""
    missing = tmp_path_factory.mktemp("baseline") / "missing.safetensors"
    status, err, rss, _ = run_limited("eval", "--load", missing)
    assert status == 1 and "No such file or directory" in err
    return rss


@pytest.mark.parametrize("hidden, claimed", [
    ([20000, 20000], "401,520,010"),  # 1.6 GB, past this test's address-space limit
    ([100000, 100000], "10,007,600,010"),  # 40 GB
])
def test_a_model_file_claiming_a_huge_architecture_is_refused_before_building(
        tmp_path, baseline_rss, hidden, claimed):
    """3 KB whose metadata claims a huge MLP: refused in the memory of reading 3 KB (it
    used to build the model first: 6.2 GB of RSS and a minute for 64-20000-20000-10)."""
    model = digits_model(tmp_path / "m.safetensors", hidden=hidden, dtype="float32")
    status, err, rss, _ = run_limited("eval", "--load", model)
    assert status == 1 and err.count("\n") == 1
    assert (f"{model}: its metadata describes a 64-{hidden[0]}-{hidden[1]}-10 MLP (relu, "
            f"float32) of {claimed} parameters but the file holds 310" in err)
    assert rss < baseline_rss + MEMORY_MARGIN


@pytest.mark.parametrize("command", ["predict", "train"])
def test_an_npy_header_claiming_a_trillion_values_is_refused_before_reading(tmp_path, command,
                                                                           baseline_rss):
    rows = npy_claiming(tmp_path / "rows.npy", (10 ** 6, 10 ** 6))
    args = (["predict", "--load", digits_model(tmp_path / "m.safetensors"), rows]
            if command == "predict" else ["train", "--data", rows])
    status, err, rss, _ = run_limited(*args)
    assert status == 1 and err.count("\n") == 1
    assert (f"{rows}: its header says float64[1000000, 1000000] (8,000,000,000,000 bytes) but "
            "it holds 16 bytes of data" in err)
    assert rss < baseline_rss + MEMORY_MARGIN


def test_an_npz_member_claiming_more_than_deflate_can_give_is_refused(tmp_path):
    np.savez_compressed(tmp_path / "t.npz", X=np.zeros((3, 2)), y=np.zeros(3))
    content = bytearray((tmp_path / "t.npz").read_bytes())
    # the central directory's uncompressed size of the first member, made 2**31
    directory = content.rindex(b"PK\x01\x02", 0, len(content) - 22)
    while directory > 0 and not content[directory + 46:].startswith(b"X.npy"):
        directory = content.rindex(b"PK\x01\x02", 0, directory)
    content[directory + 24:directory + 28] = struct.pack("<I", 2 ** 31)
    (tmp_path / "t.npz").write_bytes(bytes(content))
    with pytest.raises(tabular.TableError, match=r"\(array 'X'\): the archive says it holds "
                                                 r"2,147,483,648 bytes"):
        tabular.read_table(str(tmp_path / "t.npz"))


@pytest.mark.parametrize("make, kind", [
    (lambda path: os.mkfifo(path), "a FIFO (named pipe)"),
    (lambda path: os.symlink("/dev/zero", path), "a character device"),
    (lambda path: os.mkdir(path), "a directory"),
])
@pytest.mark.parametrize("option", ["--data", "--load"])
def test_only_regular_files_are_read(capsys, tmp_path, make, kind, option):
    """A FIFO would block in open(), /dev/zero be read until memory runs out."""
    path = tmp_path / "odd.csv"
    make(path)
    args = (["train", "--data", path] if option == "--data"
            else ["predict", "--load", path, tmp_path / "rows.txt"])
    err = run(capsys, *args)
    assert f"{path} is {kind}, not a regular file" in err


def test_a_fifo_and_dev_zero_fail_at_once_in_a_real_process(tmp_path, baseline_rss):
    """A FIFO without a writer blocked open() forever; /dev/zero was read until the address
    space ran out. Both now fail at once (the timeout would fail the test)."""
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", "/dev/zero"):
        status, err, rss, _ = run_limited("train", "--data", path, timeout=60)
        assert status == 1 and "not a regular file" in err
        assert rss < baseline_rss + MEMORY_MARGIN


def test_hidden_sizes_beyond_memory_are_refused_before_allocating(capsys):
    err = run(capsys, "train", "--hidden", "1000000,1000000")
    assert "training a 64-1000000-1000000-10 MLP (relu, float32) needs about" in err
    assert "choose smaller sizes" in err


def test_an_lstm_beyond_memory_is_refused_before_allocating(capsys, tmp_path):
    (tmp_path / "t.txt").write_text("hello world " * 100)
    err = run(capsys, "train-text", "--text", tmp_path / "t.txt", "--hidden", "10000000")
    assert "training an LSTM of hidden size 10000000 needs about" in err


# --- one clear line -------------------------------------------------------------------------
def jitgrad_header(structure, metadata="{}"):
    return {"format": serialization.FORMAT, "structure": structure, "metadata": metadata}


BF16_ONE_HALF = np.array([1.0, 0.5, -2.0], np.float32).view(np.uint32) >> 16


def test_bf16_tensors_load_as_float32_exactly(tmp_path):
    path = write_safetensors(tmp_path / "w.safetensors",
                             [("w", "BF16", [3], BF16_ONE_HALF.astype("<u2").tobytes())],
                             jitgrad_header(json.dumps({"array": "w"})))
    loaded = jitgrad.load(path)
    assert loaded.dtype == np.float32 and loaded.tolist() == [1.0, 0.5, -2.0]


BAD_MODEL_FILES = {  # name: (tensors, __metadata__, the message's key part)
    "f8": ([("w", "F8_E4M3", [2], b"\0\0")], jitgrad_header(json.dumps({"array": "w"})),
           "tensor 'w' has dtype F8_E4M3, which is unsupported"),
    "header_list": (None, None, "invalid JSON in header"),
    "structure_list": ([], jitgrad_header("[]"), "its structure is damaged at the top"),
    "metadata_list": ([], jitgrad_header(json.dumps({"value": 1}), "[1, 2]"),
                      "its metadata is a JSON list, not an object"),
    "metadata_not_json": ([], jitgrad_header(json.dumps({"value": 1}), "{oops"),
                          "its metadata is not valid JSON"),
    "absent_tensor": ([], jitgrad_header(json.dumps({"dict": [["w", {"array": "w"}]]})),
                      "its structure names the tensor 'w' at the top['w'], which is not in"),
    "deep": ([], jitgrad_header("[" * 100000 + "]" * 100000),
             "its structure is nested too deeply"),
    "deep_valid_json": ([], jitgrad_header('{"list": [' * 150 + '{"value": 1}' + "]}" * 150),
                        "its structure nests deeper than 100 levels"),
    "bad_key": ([], jitgrad_header(json.dumps({"dict": [[[1], {"value": 1}]]})),
                "its structure has a bad dict entry at the top"),
    "no_format": ([], {"structure": "{}"}, "not one jitgrad wrote"),
}


@pytest.mark.parametrize("name", BAD_MODEL_FILES)
def test_malformed_model_files_get_one_clear_error(capsys, tmp_path, name):
    tensors, metadata, message = BAD_MODEL_FILES[name]
    path = tmp_path / "m.safetensors"
    if tensors is None:  # a header that is a JSON list
        path.write_bytes(struct.pack("<Q", 8) + b"[]      ")
    else:
        write_safetensors(path, tensors, metadata)
    with pytest.raises(ModelFileError, match="load: " + str(path)) as raised:
        jitgrad.load(path)
    assert message in str(raised.value)
    assert message in run(capsys, "eval", "--load", path)


@pytest.mark.parametrize("changes, message", [
    (dict(hidden="4"), "malformed hidden"),
    (dict(features=-64), "malformed features"),
    (dict(dtype="float16", activation="gelu"), "malformed activation, dtype"),
    (dict(scale=None), "malformed scale"),
    (dict(dataset="cifar"), "malformed dataset"),
    (dict(dropout=2), "malformed dropout"),
])
def test_model_metadata_with_wrong_types_gets_one_line(capsys, tmp_path, changes, message):
    err = run(capsys, "eval", "--load", digits_model(tmp_path / "m.safetensors", **changes))
    assert f"{tmp_path / 'm.safetensors'}: its metadata has a missing or {message}" in err


@pytest.mark.parametrize("preparation, message", [
    ([1, 2], "the preparation in its metadata is a list"),
    ({"features": ["a"]}, "the preparation in its metadata has the keys ['features']"),
    (dict(features=["a", "b"], numeric={"a": [None, 0, 1], "b": "x"}, categorical={},
          target="label", task="classify", classes=["x", "y"]),
     "the preparation in its metadata has a malformed numeric"),
    (dict(features=["a", "b"], numeric={"a": [None, 0, 1], "b": [None, 0, 1]}, categorical={},
          target="label", task="classify", classes=None),
     "the preparation in its metadata has a malformed classes"),
])
def test_table_model_preparation_damage_gets_one_line(capsys, tmp_path, table, preparation,
                                                      message):
    model = table_model(tmp_path / "m.safetensors", preparation=preparation)
    err = run(capsys, "predict", "--load", model, "--data", table)
    assert f"{model}: {message}" in err


def test_a_model_file_without_metadata_keys_gets_one_line(capsys, tmp_path):
    path = tmp_path / "m.safetensors"
    jitgrad.save(training.build_mlp(64, [4], 10), path, dict(kind=cli.MODEL_KIND))
    err = run(capsys, "eval", "--load", path)
    assert "its metadata has a missing or malformed features, hidden, classes" in err


@pytest.mark.parametrize("content, message", [
    ("a,b,label\n1," + "9" * (10 << 20) + ",x\n", "line 2: field larger than field limit"),
])
def test_a_csv_with_a_huge_field_gets_one_line(capsys, tmp_path, content, message):
    (tmp_path / "t.csv").write_text(content)
    err = run(capsys, "train", "--data", tmp_path / "t.csv")
    assert f"{tmp_path / 't.csv'}: {message}" in err


def test_a_csv_with_cr_only_line_endings_reads_like_any_other(tmp_path):
    (tmp_path / "t.csv").write_bytes(("a,b,label\n" + FEW_ROWS).replace("\n", "\r").encode())
    table = tabular.read_table(str(tmp_path / "t.csv"))
    assert table.rows == 40 and table.names == ["a", "b", "label"] and table.lines[-1] == 41


def test_load_state_dict_of_a_list_is_a_type_error():
    with pytest.raises(TypeError, match=r"Linear.load_state_dict: expected a dict of \{name: "
                                        r"array\}, got list"):
        jitgrad.Linear(2, 2).load_state_dict([np.ones((2, 2))])


def test_a_saved_list_loaded_into_a_model_is_a_model_file_error(tmp_path):
    jitgrad.save({"state": [1, 2]}, tmp_path / "x.safetensors")
    with pytest.raises(ModelFileError, match="does not fit the model"):
        jitgrad.load(jitgrad.Linear(2, 2), tmp_path / "x.safetensors")


# --- errors that name the file ----------------------------------------------------------------
@pytest.mark.parametrize("write, message", [
    (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
     "holds Python objects (object)"),
    (lambda p: p.write_bytes(np.lib.format.magic(1, 0) + b"\x10\x00{'descr'"),
     "is not a readable .npy array"),
    (lambda p: npy_claiming(p, (3, 64), data=b"\0" * 100),
     "its header says float64[3, 64] (1,536 bytes) but it holds 100 bytes"),
])
def test_a_bad_npy_input_is_named(capsys, tmp_path, write, message):
    path = tmp_path / "rows.npy"
    write(path)
    err = run(capsys, "predict", "--load", digits_model(tmp_path / "m.safetensors"), path)
    assert f"{path}" in err and message in err


# --- permissions and leftovers --------------------------------------------------------------
def test_a_saved_file_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    path.chmod(0o600)
    jitgrad.save({"w": np.ones(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_umasks_default(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        jitgrad.save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.safetensors").stat().st_mode) == mode


def dead_pid():
    """A PID no process has now."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_stale_temporaries_of_killed_saves_are_removed_and_live_ones_kept(tmp_path):
    stale = tmp_path / f".m.safetensors.{dead_pid()}.abc123{TEMPORARY_SUFFIX}"
    live = tmp_path / f".m.safetensors.{os.getppid()}.def456{TEMPORARY_SUFFIX}"
    # a temporary of m.safetensors.1, whose writer is gone: not ours to remove
    other = tmp_path / f".m.safetensors.1.{dead_pid()}.ghi789{TEMPORARY_SUFFIX}"
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    jitgrad.save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name, "m.safetensors"])


def test_a_save_killed_midway_leaves_a_temporary_the_next_save_removes(tmp_path):
    target = tmp_path / "m.safetensors"
    script = ("import sys, time; from jitgrad.backend.atomic import atomic_write\n"
              "with atomic_write(sys.argv[1]) as f:\n"
              "    f.write(b'half'); f.flush(); print('writing', flush=True); time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-c", script, str(target)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "writing\n"
    process.kill()  # SIGKILL: no cleanup runs
    process.wait()
    process.stdout.close()
    left = os.listdir(tmp_path)
    assert len(left) == 1 and left[0].endswith(TEMPORARY_SUFFIX) and not target.exists()
    jitgrad.save({"w": np.ones(2)}, target)
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_a_write_that_fails_midway_names_the_path_and_leaves_nothing(tmp_path, monkeypatch):
    """A full disk (ENOSPC at fsync): the error names the file asked for, not a temporary."""
    def full(descriptor):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as raised:
        jitgrad.save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    assert raised.value.filename == str(tmp_path / "m.safetensors")
    assert cli.one_line(raised.value) == f"{tmp_path / 'm.safetensors'}: No space left on device"
    assert os.listdir(tmp_path) == []


# --- random bytes and random structures -------------------------------------------------------
LOADER_ERRORS = (ValueError, TypeError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".npy", ".npz",
                                                                 ".safetensors"]),
       prefix=st.sampled_from([b"", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"a,b\n"]))
def test_random_bytes_into_every_loader_raise_only_clear_errors(tmp_path_factory, content,
                                                                suffix, prefix):
    path = tmp_path_factory.mktemp("random") / f"f{suffix}"
    path.write_bytes(prefix + content)
    path = str(path)
    for loader in (jitgrad.load, tabular.read_table, cli.read_rows):
        try:
            loader(path)
        except LOADER_ERRORS as error:
            assert str(path) in str(error), (loader, error)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(
    max_size=5)
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["array", "dict", "list", "tuple", "value", "x"]), inner, max_size=2),
    max_leaves=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structure=JSON, metadata=JSON)
def test_random_structures_and_metadata_load_or_raise_model_file_error(tmp_path_factory,
                                                                       structure, metadata):
    path = tmp_path_factory.mktemp("structure") / "m.safetensors"
    path.write_bytes(save_safetensors({"w": np.ones(2)}, metadata=jitgrad_header(
        json.dumps(structure), json.dumps(metadata))))
    try:
        jitgrad.load(path)
    except ModelFileError as error:
        assert str(path) in str(error)


METADATA_VALUES = JSON_SCALARS | st.lists(st.integers(-3, 70), max_size=3) | JSON
ARCHITECTURE_KEYS = ["kind", "dataset", "scale", "features", "hidden", "classes", "activation",
                     "dropout", "dtype", "preparation"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(ARCHITECTURE_KEYS), METADATA_VALUES, max_size=4),
       dropped=st.lists(st.sampled_from(ARCHITECTURE_KEYS), max_size=2))
def test_random_model_metadata_loads_or_raises_a_value_error(tmp_path_factory, changes, dropped):
    """What `eval` and `predict` read from a model file's metadata, changed at random: a
    model, or a ValueError naming the file; never a KeyError, TypeError or AttributeError."""
    path = tmp_path_factory.mktemp("metadata") / "m.safetensors"
    metadata = dict(kind=cli.MODEL_KIND, dataset="digits", scale=16.0, features=64, hidden=[4],
                    classes=10, activation="relu", dropout=0.0, dtype="float64")
    metadata.update(changes)
    for key in dropped:
        metadata.pop(key, None)
    jitgrad.save(training.build_mlp(64, [4], 10), path, metadata)
    try:
        cli.load_classifier(str(path), kinds=(cli.MODEL_KIND, cli.TABLE_MODEL_KIND))
    except ValueError as error:
        assert str(path) in str(error)


PREPARATION_KEYS = ["features", "numeric", "categorical", "target", "task", "impute", "classes",
                    "target_scale", "other"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(PREPARATION_KEYS), METADATA_VALUES, max_size=3),
       dropped=st.lists(st.sampled_from(PREPARATION_KEYS), max_size=2))
def test_random_table_preparations_load_or_raise_a_value_error(tmp_path_factory, changes,
                                                              dropped):
    path = tmp_path_factory.mktemp("preparation") / "m.safetensors"
    preparation = tabular.Preparation(["a", "b"], {"a": [None, 0.0, 1.0], "b": [None, 0.0, 1.0]},
                                      {}, "label", "classify", None, ["x", "y"]).to_json()
    preparation.update(changes)
    for key in dropped:
        preparation.pop(key, None)
    table_model(path, preparation=preparation)
    try:
        cli.load_classifier(str(path), kinds=(cli.MODEL_KIND, cli.TABLE_MODEL_KIND))
    except ValueError as error:
        assert str(path) in str(error)
