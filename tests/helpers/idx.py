"""Writing small IDX files (MNIST's format) for tests."""
import gzip
import struct

import numpy as np

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}


def idx_bytes(array):
    """``array`` in IDX format: magic, big-endian dims, big-endian data."""
    header = bytes([0, 0, TYPE_CODES[array.dtype], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, compress=False):
    content = idx_bytes(array)
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


def fake_mnist(rng, train=12, test=5):
    """{file name: array} for a tiny MNIST with 28x28 uint8 images and labels 0-9."""
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(test, dtype=np.uint8)[::-1] % 10,
    }


def write_fake_mnist(directory, seed=0, compress=True, **sizes):
    """Write a tiny MNIST into ``directory`` (``.gz`` files when ``compress``); its arrays."""
    arrays = fake_mnist(np.random.default_rng(seed), **sizes)
    for name, array in arrays.items():
        write_idx(directory / (name + (".gz" if compress else "")), array, compress)
    return arrays
