"""The IDX reader and MNIST loader on self-made files; the bundled digits; mini-batches."""
import gzip
import hashlib

import numpy as np
import pytest

from jitgrad.apps import datasets
from jitgrad.utils import data
from jitgrad.utils.data import Batches
from tests.helpers.idx import idx_bytes, write_fake_mnist, write_idx


@pytest.mark.parametrize("array", [np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                                   np.array([[-300, 2], [7, 1000]], dtype=np.int16),
                                   np.array([1.5, -2.25, 1e30], dtype=np.float32)],
                         ids=["uint8", "int16", "float32"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, array, compress):
    out = datasets.read_idx(write_idx(tmp_path / "a.idx", array, compress))
    np.testing.assert_array_equal(out, array)
    assert out.dtype == array.dtype and out.dtype.isnative


@pytest.mark.parametrize("content, match", [
    (b"\x89PNG\r\n", "not an IDX file"),
    (idx_bytes(np.zeros((4, 5), np.uint8))[:-3], r"header says uint8\[4, 5\] \(20 bytes\) but it holds 17"),
    (bytes([0, 0, 8, 3, 0, 0]), "truncated IDX header"),
    (gzip.compress(idx_bytes(np.zeros(10, np.uint8)))[:-6], "damaged or truncated gzip"),
])
def test_read_idx_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        datasets.read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_idx_files(tmp_path, compress):
    arrays = write_fake_mnist(tmp_path, compress=compress, train=12, test=5)
    data = datasets.load_mnist(tmp_path, download=False)
    assert data.train_x.shape == (12, 784) and data.test_x.shape == (5, 784)
    np.testing.assert_array_equal(data.train_x * 255, arrays["train-images-idx3-ubyte"].reshape(12, 784))
    np.testing.assert_array_equal(data.test_y, arrays["t10k-labels-idx1-ubyte"])
    assert data.features == 784 and data.classes == 10 and data.scale == 255.0


def test_mnist_with_mismatched_images_and_labels(tmp_path):
    write_fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8), compress=True)
    with pytest.raises(ValueError, match=r"mnist: images \(5, 28, 28\) and labels \(4,\)"):
        datasets.load_mnist(tmp_path, download=False)


def test_missing_mnist_without_download_names_the_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.*is not in"):
        datasets.load_mnist(tmp_path, download=False)


def serve_fake_mnist(tmp_path, monkeypatch):
    """A 'mirror' of a tiny MNIST as file:// URLs, with its checksums; the mirror's folder."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write_fake_mnist(mirror)
    checksums = {name: hashlib.md5((mirror / (name + ".gz")).read_bytes()).hexdigest()
                 for name in datasets.MNIST_FILES}
    monkeypatch.setattr(datasets, "MNIST_FILES", checksums)
    return mirror


def test_missing_mnist_files_are_downloaded(tmp_path, monkeypatch):
    mirror = serve_fake_mnist(tmp_path, monkeypatch)
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", ("file:///nowhere/", mirror.as_uri() + "/"))
    data_dir = tmp_path / "data"
    data = datasets.load_mnist(data_dir)
    assert data.train_x.shape == (12, 784)
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(n + ".gz" for n in datasets.MNIST_FILES)


def test_failed_download_says_what_to_do(tmp_path, monkeypatch):
    mirror = serve_fake_mnist(tmp_path, monkeypatch)
    monkeypatch.setitem(datasets.MNIST_FILES, "train-images-idx3-ubyte", "0" * 32)
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", ("file:///nowhere/", mirror.as_uri() + "/"))
    with pytest.raises(OSError) as error:
        datasets.load_mnist(tmp_path / "data")
    message = str(error.value)
    assert "could not be downloaded" in message and "checksum is wrong" in message
    assert "file:///nowhere/train-images-idx3-ubyte.gz" in message
    assert "without network access, copy train-images-idx3-ubyte.gz" in message
    assert not list((tmp_path / "data").iterdir())


def test_digits_split_is_fixed_and_stratified():
    first, second = datasets.load("digits"), datasets.load("digits")
    np.testing.assert_array_equal(first.test_x, second.test_x)
    assert first.train_x.shape == (1437, 64) and first.test_x.shape == (360, 64)
    assert 0 <= first.train_x.min() and first.train_x.max() <= 1
    assert np.bincount(first.test_y).min() >= 35


def epoch_of(batches):
    """The rows one pass over ``batches`` visits, in order, checking x and y stay aligned."""
    pairs = list(batches)
    rows = np.concatenate([y for _, y in pairs])
    np.testing.assert_array_equal(np.concatenate([x[:, 0] for x, _ in pairs]), rows)
    return [len(y) for _, y in pairs], rows


def test_batches_cover_every_row_once_per_epoch_in_a_seeded_order():
    x, y = np.arange(10).reshape(10, 1), np.arange(10)
    batches = Batches(x, y, batch_size=4, seed=3)
    assert len(batches) == 3
    (sizes, first), (_, second) = epoch_of(batches), epoch_of(batches)
    assert sizes == [4, 4, 2] and sorted(first) == sorted(second) == list(range(10))
    assert not np.array_equal(first, second)  # each epoch is reshuffled
    np.testing.assert_array_equal(epoch_of(Batches(x, y, batch_size=4, seed=3))[1], first)


@pytest.mark.parametrize("shuffle", [True, False])
def test_batches_are_copies_across_gathers(shuffle, monkeypatch):
    """Batches come from several gathers (3 batches each here), cover the rows in the same
    order as one gather would, and changing one leaves the arrays given alone."""
    monkeypatch.setattr(data, "BATCHES_PER_GATHER", 3)
    x = np.arange(20.0).reshape(10, 2)
    batches = list(Batches(x, np.arange(10), batch_size=2, shuffle=shuffle, seed=4))
    order = np.random.default_rng(4).permutation(10) if shuffle else np.arange(10)
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), order)
    np.testing.assert_array_equal(np.concatenate([b for b, _ in batches]), x[order])
    for batch, _ in batches:
        batch[...] = -1
    np.testing.assert_array_equal(x, np.arange(20.0).reshape(10, 2))


def test_batches_without_shuffle_keep_order():
    batches = list(Batches(np.arange(5), batch_size=2, shuffle=False))
    assert [b[0].tolist() for b in batches] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("arrays, kwargs, match", [
    ((np.ones(3), np.ones(4)), {}, r"same length, got lengths \[3, 4\]"),
    ((np.ones(3),), {"batch_size": 0}, "batch_size must be a positive int"),
    ((), {}, "at least one array"),
])
def test_batches_bad_arguments(arrays, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Batches(*arrays, **kwargs)
