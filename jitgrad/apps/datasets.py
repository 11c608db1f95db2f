"""The data ``jitgrad train`` learns from.

- ``digits``: scikit-learn's 1,797 handwritten digits (8x8 pixels, values 0-16), installed
  with scikit-learn, split once and for all into 80% train and 20% test (stratified).
- ``mnist``: the 70,000 MNIST digits (28x28, values 0-255), read from the four standard IDX
  files in a directory (gzip-compressed or not) and downloaded there when missing.

Both give features scaled to [0, 1] as float64 rows (n, pixels) and integer labels (n,).
"""
import gzip
import hashlib
import math
import os
import struct
import sys
import urllib.request
import zlib
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from jitgrad.backend.atomic import atomic_write

#: file name -> MD5 of its .gz, as published with the dataset
MNIST_FILES = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
DOWNLOAD_TIMEOUT = 5  # seconds without an answer before a mirror counts as unreachable

# IDX type code -> big-endian dtype (the format's spec)
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Dataset:
    """Train and test splits: ``*_x`` float64 (n, features) in [0, 1], ``*_y`` int (n,).

    ``scale`` is the raw pixel value that maps to 1 (``raw / scale`` gives the features).
    """

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    scale: float
    classes: int = 10

    @property
    def features(self):
        return self.train_x.shape[1]


def default_mnist_dir():
    """Where MNIST goes unless told otherwise: $XDG_CACHE_HOME/jitgrad/mnist (~/.cache/...)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "jitgrad", "mnist")


def load(name, data_dir=None, download=True):
    """The dataset called ``name`` (``"digits"`` or ``"mnist"``)."""
    if name == "digits":
        return load_digits()
    if name == "mnist":
        return load_mnist(data_dir or default_mnist_dir(), download=download)
    raise ValueError(f"unknown dataset {name!r}; choose 'digits' or 'mnist'")


def load_digits(test_fraction=0.2):
    """scikit-learn's 8x8 digits, with a fixed stratified test split (the same every run)."""
    from sklearn.datasets import (
        load_digits as sklearn_digits,  # slow import, only when used
    )
    from sklearn.model_selection import train_test_split

    x, y = sklearn_digits(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        x / 16.0, y, test_size=test_fraction, stratify=y, random_state=0)
    return Dataset("digits", train_x, train_y, test_x, test_y, scale=16.0)


def load_mnist(data_dir, download=True):
    """MNIST from the IDX files in ``data_dir``: 60,000 training and 10,000 test images.

    Each file may be plain or gzip-compressed (``name`` or ``name.gz``). Missing files are
    downloaded into ``data_dir`` when ``download`` (and the network) allows; otherwise this
    raises OSError saying which files to put there.
    """
    arrays = {}
    for name in MNIST_FILES:
        path = _find(data_dir, name)
        if path is None:
            if not download:
                raise FileNotFoundError(f"mnist: {name}[.gz] is not in {data_dir} (downloads are "
                                        f"off); {_where_to_get_it(data_dir)}")
            path = _download(name, data_dir)
        arrays[name] = read_idx(path)
    train_x, test_x = (arrays[f"{part}-images-idx3-ubyte"] for part in ("train", "t10k"))
    train_y, test_y = (arrays[f"{part}-labels-idx1-ubyte"] for part in ("train", "t10k"))
    for images, labels in ((train_x, train_y), (test_x, test_y)):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"mnist: images {images.shape} and labels {labels.shape} in "
                             f"{data_dir} do not match")
    return Dataset("mnist", _scaled_rows(train_x, 255.0), train_y.astype(np.int64),
                   _scaled_rows(test_x, 255.0), test_y.astype(np.int64), scale=255.0)


def read_idx(path):
    """The array stored in the IDX file at ``path`` (plain or gzip-compressed).

    IDX: two zero bytes, a type code, the number of dims, each dim as a big-endian uint32,
    then the data, big-endian. Raises ValueError for a file that is not IDX or is truncated.
    """
    with open(path, "rb") as file:
        raw = file.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise ValueError(f"{path}: damaged or truncated gzip file ({error})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (it starts with {raw[:4].hex()})")
    dims = raw[3]
    offset = 4 + 4 * dims
    if len(raw) < offset:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{dims}I", raw[4:offset])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    size = math.prod(shape) * dtype.itemsize
    if len(raw) - offset != size:
        raise ValueError(f"{path}: its header says {dtype.name}{list(shape)} ({size} bytes) but "
                         f"it holds {len(raw) - offset} bytes of data; truncated or damaged")
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _scaled_rows(images, scale):
    """(n, height, width) images as (n, height * width) float64 rows divided by ``scale``."""
    rows = images.reshape(len(images), -1).astype(np.float64)
    rows /= scale  # in place: MNIST's rows take 376 MB
    return rows


def _find(data_dir, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(data_dir, candidate)
        if os.path.isfile(path):
            return path
    return None


def _download(name, data_dir):
    """Fetch ``name``.gz from the first mirror that answers with the right file; its path."""
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, name + ".gz")
    failures = []
    for mirror in MNIST_MIRRORS:
        url = mirror + name + ".gz"
        try:
            content = _fetch(url)
        except (OSError, ValueError) as error:  # URLError, timeouts, refused connections
            failures.append(f"{url}: {getattr(error, 'reason', error)}")
            continue
        if hashlib.md5(content).hexdigest() != MNIST_FILES[name]:
            failures.append(f"{url}: the file's checksum is wrong")
            continue
        with atomic_write(path) as file:
            file.write(content)
        return path
    raise OSError(f"mnist: {name}.gz is not in {data_dir} and could not be downloaded "
                  f"({'; '.join(failures)}); {_where_to_get_it(data_dir)}")


def _fetch(url):
    """The bytes at ``url``, with a progress bar on stderr."""
    print(f"mnist: downloading {url}", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        with tqdm(total=total, unit="B", unit_scale=True, leave=False, disable=None) as bar:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def _where_to_get_it(data_dir):
    return (f"without network access, copy {', '.join(n + '.gz' for n in MNIST_FILES)} "
            f"into {data_dir}")
