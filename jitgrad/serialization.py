"""Save models, optimizers and state dicts to safetensors files and load them back, exactly.

``jitgrad.save(obj, path)`` writes ``obj`` -- a Layer (its ``state_dict()``), an optimizer
(its ``state_dict()``), a state dict, or any nesting of dicts and lists of arrays, Tensors,
numbers and strings -- as a safetensors file: every array under its name (a model's
``0.weight``, ``cell.xf.bias``), so PyTorch, JAX and Hugging Face tools open it by name, and
everything that is not an array in the file's metadata. ``jitgrad.load(path)`` gives it back.

``jitgrad.save(model, path, metadata=dict)`` and ``jitgrad.load(model, path)`` (which returns
that metadata) keep the API of earlier releases: loading checks every name, shape and dtype
and raises one ModelFileError listing all that do not fit, changing nothing. ``.npz`` files
written by earlier releases (parameters by position, ``p0``, ``p1``, ...) still load.
Writes are atomic: an interrupted save leaves the old file or the new one, never half of one.
"""
import json
import struct
import zipfile
import zlib

import numpy as np
from safetensors import SafetensorError, deserialize
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from .atomic import atomic_write
from .dtypes import describe
from .layers import Layer, StateDictError
from .tensor import Tensor

FORMAT = "jitgrad-2"
_NPZ_FORMAT = "jitgrad-parameters-1"  # earlier releases' .npz files
_NPZ_FORMAT_KEY = "__jitgrad_format__"
_NPZ_METADATA_KEY = "__jitgrad_metadata__"
_ZIP_MAGIC = b"PK\x03\x04"


class ModelFileError(ValueError):
    """The file is not a jitgrad file, is damaged, or does not fit the model."""


def save(obj, path, metadata=None):
    """Write ``obj`` to ``path`` (safetensors), with an optional JSON-serialisable
    ``metadata`` dict beside it (what the caller needs to rebuild a model)."""
    arrays = {}
    structure = _encode(_state_of(obj), arrays, prefix="")
    try:
        header = {"format": FORMAT, "structure": json.dumps(structure),
                  "metadata": json.dumps(metadata or {})}
    except TypeError as error:
        raise TypeError(f"save: metadata must be JSON-serialisable ({error})") from None
    with atomic_write(path) as file:
        file.write(save_safetensors(arrays, metadata=header))


def load(model_or_path, path=None):
    """``load(path)``: the object saved there. ``load(model, path)``: copy the saved state into
    ``model`` (a Layer or a list of Tensors) in place and return the saved metadata."""
    if path is None:
        return read(model_or_path)[0]
    state, metadata = read(path)
    if isinstance(state, list):  # an earlier release's file: parameters by position
        _load_by_position(model_or_path, state, path)
    else:
        _load_by_name(model_or_path, state, path)
    return metadata


def read(path):
    """(the saved object, the metadata dict) stored in ``path``.

    Raises FileNotFoundError if there is no such file, and ModelFileError if it is not a
    jitgrad file or is truncated or damaged.
    """
    with open(path, "rb") as file:
        content = file.read()
    if content.startswith(_ZIP_MAGIC):
        return _read_npz(path)
    try:
        header = _safetensors_header(content)
        arrays = _load_arrays(content)
    except (ValueError, SafetensorError, struct.error, UnicodeDecodeError) as error:
        if content.startswith(b"\x93NUMPY"):
            raise ModelFileError(f"load: {path} holds a single array (.npy), not a jitgrad "
                                 "model file") from None
        raise ModelFileError(f"load: {path} {_what_is_wrong(content)} ({error})") from None
    if header.get("format") != FORMAT:
        raise ModelFileError(f"load: {path} is a safetensors file but not one jitgrad wrote "
                             f"(no {FORMAT!r} format in its metadata)")
    return _decode(json.loads(header["structure"]), arrays), json.loads(header["metadata"])


#: safetensors' dtype names as NumPy's (little-endian, as the format stores them)
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "U64": "<u8", "I32": "<i4",
           "U32": "<u4", "I16": "<i2", "U16": "<u2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def _load_arrays(content):
    """safetensors' ``load``, and BF16 tensors as ``jitgrad.bfloat16`` arrays (safetensors'
    NumPy side has no bfloat16)."""
    header_end = 8 + int.from_bytes(content[:8], "little")
    if b'"BF16"' not in content[8:header_end]:
        return load_safetensors(content)
    from .amp import bfloat16
    return {name: np.frombuffer(view["data"], bfloat16() if view["dtype"] == "BF16"
                                else _DTYPES[view["dtype"]]).reshape(view["shape"])
            for name, view in deserialize(content)}


def _state_of(obj):
    """What ``save`` writes for ``obj``: a state dict where it has one."""
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tensor) for t in obj):
        return {f"p{index}": t.data for index, t in enumerate(obj)}  # parameters by position
    return obj


def _encode(obj, arrays, prefix):
    """``obj`` as JSON, each array replaced by {"array": name} and stored in ``arrays``."""
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        arrays[prefix] = np.ascontiguousarray(obj)
        return {"array": prefix}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):  # as pairs: keys may be ints (an optimizer's state)
        return {"dict": [[key, _encode(value, arrays, _join(prefix, key))]
                         for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(value, arrays, _join(prefix, i)) for i, value in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"save: cannot store a {type(obj).__name__} (at {prefix or 'the top'}); "
                    "give arrays, Tensors, numbers, strings, and dicts or lists of them")


def _decode(node, arrays):
    kind, value = next(iter(node.items()))
    if kind == "array":
        return arrays[value]
    if kind == "dict":
        return {key: _decode(item, arrays) for key, item in value}
    if kind in ("list", "tuple"):
        items = [_decode(item, arrays) for item in value]
        return tuple(items) if kind == "tuple" else items
    return value


def _join(prefix, key):
    return f"{prefix}.{key}" if prefix else str(key)


def _safetensors_header(content):
    """The ``__metadata__`` dict of a safetensors file's JSON header."""
    (length,) = struct.unpack("<Q", content[:8])
    return json.loads(content[8:8 + length].decode("utf-8")).get("__metadata__") or {}


def _load_by_name(model, state, path):
    if not isinstance(model, Layer):
        model = _ParameterListModel(model)
    try:
        model.load_state_dict(state)
    except StateDictError as error:
        raise ModelFileError(f"load: {path} does not fit the model: {error}") from None


def _load_by_position(model, arrays, path):
    parameters = model.get_parameters() if isinstance(model, Layer) else list(model)
    if len(arrays) != len(parameters):
        raise ModelFileError(f"load: {path} holds {len(arrays)} parameters but the model has "
                             f"{len(parameters)}")
    for index, (array, p) in enumerate(zip(arrays, parameters)):
        if array.shape != p.data.shape or array.dtype != p.data.dtype:
            raise ModelFileError(f"load: parameter {index} is {describe(array)} in {path} but "
                                 f"{describe(p.data)} in the model")
    for array, p in zip(arrays, parameters):
        p.data[...] = array


class _ParameterListModel(Layer):
    """A list of Tensors seen as a model whose parameters are named ``p0``, ``p1``, ..."""

    def __init__(self, tensors):
        super().__init__()
        self.parameters = list(tensors)

    def named_parameters(self, prefix=""):
        return [(f"{prefix}p{index}", p) for index, p in enumerate(self.get_parameters())]


def _read_npz(path):
    """An earlier release's .npz file: ([arrays by position], metadata)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if _NPZ_FORMAT_KEY not in archive.files or str(archive[_NPZ_FORMAT_KEY]) != _NPZ_FORMAT:
                raise ModelFileError(f"load: {path} is an .npz file but not a jitgrad model "
                                     f"file (no {_NPZ_FORMAT!r} marker)")
            names = set(archive.files) - {_NPZ_FORMAT_KEY, _NPZ_METADATA_KEY}
            if names != {f"p{index}" for index in range(len(names))}:
                raise ModelFileError(f"load: {path} is damaged: its parameters are not named "
                                     f"p0..p{len(names) - 1}")
            return ([archive[f"p{index}"] for index in range(len(names))],
                    json.loads(str(archive[_NPZ_METADATA_KEY])))
    except ModelFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ModelFileError(f"load: {path} is truncated or damaged ({error})") from None


def _what_is_wrong(content):
    """'is truncated or damaged' for content that starts like a safetensors header."""
    looks_like_header = len(content) > 9 and content[8:9] == b"{"
    return "is truncated or damaged" if looks_like_header else "is not a jitgrad model file"
