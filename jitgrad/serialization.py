"""Save a model's parameters to an ``.npz`` file and load them back, exactly.

The file holds one array per parameter, in ``get_parameters()`` order (``p0``, ``p1``, ...),
with its dtype, plus a format marker and a JSON ``metadata`` dict (what the caller needs to
rebuild the model, e.g. layer sizes). It is plain NumPy: no pickles, ``np.load`` reads it.
"""
import json
import zipfile
import zlib

import numpy as np

from .atomic import atomic_write
from .dtypes import describe

FORMAT = "jitgrad-parameters-1"
_FORMAT_KEY = "__jitgrad_format__"
_METADATA_KEY = "__jitgrad_metadata__"
_ZIP_MAGIC = b"PK\x03\x04"


class ModelFileError(ValueError):
    """The file is not a jitgrad model file, is damaged, or does not fit the model."""


def save(model, path, metadata=None):
    """Write the parameters of ``model`` (a Layer, or a list of Tensors) to ``path``.

    ``metadata`` is an optional JSON-serialisable dict stored beside them. The write is
    atomic (``jitgrad.atomic``): an interrupted save leaves the old file or the new one,
    never half of one.
    """
    arrays = {f"p{index}": p.data for index, p in enumerate(_parameters_of(model))}
    try:
        arrays[_METADATA_KEY] = np.array(json.dumps(metadata or {}))
    except TypeError as error:
        raise TypeError(f"save: metadata must be JSON-serialisable ({error})") from None
    arrays[_FORMAT_KEY] = np.array(FORMAT)
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def read(path):
    """The parameter arrays and the metadata dict stored in ``path``.

    Raises FileNotFoundError if there is no such file, and ModelFileError if it is not a
    jitgrad model file or is truncated or damaged.
    """
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ModelFileError(f"load: {path} holds a single array (.npy), not a jitgrad "
                                 "model file")
        with archive:
            return _read_archive(path, archive)
    except (FileNotFoundError, ModelFileError):
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ModelFileError(f"load: {path} {_what_is_wrong(path)} ({error})") from None


def load(model, path):
    """Copy the parameters saved in ``path`` into ``model``'s (in place); returns the metadata.

    Every saved array must match the model's parameter at the same position in shape and
    dtype, and the counts must agree; otherwise ModelFileError names the first mismatch and
    the model is left unchanged.
    """
    arrays, metadata = read(path)
    parameters = _parameters_of(model)
    if len(arrays) != len(parameters):
        raise ModelFileError(f"load: {path} holds {len(arrays)} parameters but the model has "
                             f"{len(parameters)}")
    for index, (array, p) in enumerate(zip(arrays, parameters)):
        if array.shape != p.data.shape or array.dtype != p.data.dtype:
            raise ModelFileError(f"load: parameter {index} is {describe(array)} in {path} but "
                                 f"{describe(p.data)} in the model")
    for array, p in zip(arrays, parameters):
        p.data[...] = array
    return metadata


def _parameters_of(model):
    return model.get_parameters() if hasattr(model, "get_parameters") else list(model)


def _read_archive(path, archive):
    """(arrays in order, metadata) from an open NpzFile; ModelFileError if not one of ours."""
    if _FORMAT_KEY not in archive.files or str(archive[_FORMAT_KEY]) != FORMAT:
        raise ModelFileError(f"load: {path} is an .npz file but not a jitgrad model file "
                             f"(no {FORMAT!r} marker)")
    names = set(archive.files) - {_FORMAT_KEY, _METADATA_KEY}
    expected = {f"p{index}" for index in range(len(names))}
    if names != expected:
        raise ModelFileError(f"load: {path} is damaged: its parameters are not named "
                             f"p0..p{len(names) - 1}")
    return ([archive[f"p{index}"] for index in range(len(names))],
            json.loads(str(archive[_METADATA_KEY])))


def _what_is_wrong(path):
    """'is truncated or damaged' for a file that starts like a zip archive, else 'is not ...'."""
    with open(path, "rb") as file:
        starts_like_zip = file.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    return "is truncated or damaged" if starts_like_zip else "is not a jitgrad model file"
