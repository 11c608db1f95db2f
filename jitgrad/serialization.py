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

import numpy as np
from safetensors.numpy import save as save_safetensors

from jitgrad.autograd.tensor import Tensor
from jitgrad.backend.atomic import atomic_write
from jitgrad.backend.dtypes import describe
from jitgrad.nn.module import Layer, StateDictError
from jitgrad.backend import file_checks

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
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"save: metadata must be a dict, got {type(metadata).__name__}")
    arrays = {}
    structure = _encode(_state_of(obj), arrays, prefix="", sources={})
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
    regular file, not a jitgrad file, or is truncated or damaged (its structure is checked
    against the tensors in the file before anything is built from it).
    """
    try:
        content = file_checks.read_bytes(path)
        if content.startswith(_ZIP_MAGIC):
            state, metadata = _read_npz(path)
        elif content.startswith(b"\x93NUMPY"):
            raise ModelFileError(f"load: {path} holds a single array (.npy), not a jitgrad "
                                 "model file")
        else:
            arrays, header = file_checks.decode_safetensors(content, path)
            if header.get("format") != FORMAT or not {"structure", "metadata"} <= set(header):
                raise ModelFileError(f"load: {path} is a safetensors file but not one jitgrad "
                                     f"wrote (no {FORMAT!r} format in its metadata)")
            structure = file_checks.parse_json(header["structure"], path, "structure")
            file_checks.check_structure(structure, arrays, path)
            state = _decode(structure, arrays)
            metadata = file_checks.parse_json(header["metadata"], path, "metadata")
    except file_checks.FileCheckError as error:
        raise ModelFileError(f"load: {error}") from None
    if not isinstance(metadata, dict):
        raise ModelFileError(f"load: {path}: its metadata is a JSON "
                             f"{type(metadata).__name__}, not an object")
    return state, metadata


#: safetensors' dtype names as NumPy's (little-endian, as the format stores them)
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "U64": "<u8", "I32": "<i4",
           "U32": "<u4", "I16": "<i2", "U16": "<u2", "I8": "i1", "U8": "u1", "BOOL": "?"}



def _state_of(obj):
    """What ``save`` writes for ``obj``: a state dict where it has one."""
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tensor) for t in obj):
        return {f"p{index}": t.data for index, t in enumerate(obj)}  # parameters by position
    return obj


def _encode(obj, arrays, prefix, sources, path=()):
    """``obj`` as JSON, each array replaced by {"array": name} and stored in ``arrays``.

    ``sources``: {name: the key path it came from}, to refuse two arrays that would be
    stored under one name (``{"a.b": x, "a": {"b": y}}``); ``path``: the keys down to ``obj``.
    """
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if prefix in sources:
            raise ValueError(f"save: {_describe_path(sources[prefix])} and "
                             f"{_describe_path(path)} would both be stored as {prefix!r}; "
                             "rename one of them")
        sources[prefix] = path
        arrays[prefix] = np.ascontiguousarray(obj)
        return {"array": prefix}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):  # as pairs: keys may be ints (an optimizer's state)
        for key in obj:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: dict keys must be strings or ints, got the "
                                f"{type(key).__name__} {key!r} at {_describe_path(path)}")
        return {"dict": [[key, _encode(value, arrays, _join(prefix, key), sources,
                                       (*path, key))]
                         for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(value, arrays, _join(prefix, i), sources, (*path, i))
                 for i, value in enumerate(obj)]
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


def _load_by_name(model, state, path):
    if not isinstance(model, Layer):
        model = _ParameterListModel(model)
    try:
        model.load_state_dict(state)
    except (StateDictError, TypeError) as error:
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
    archive = file_checks.load_npz(path)
    if _NPZ_FORMAT_KEY not in archive or str(archive[_NPZ_FORMAT_KEY]) != _NPZ_FORMAT:
        raise ModelFileError(f"load: {path} is an .npz file but not a jitgrad model "
                             f"file (no {_NPZ_FORMAT!r} marker)")
    names = set(archive) - {_NPZ_FORMAT_KEY, _NPZ_METADATA_KEY}
    if names != {f"p{index}" for index in range(len(names))}:
        raise ModelFileError(f"load: {path} is damaged: its parameters are not named "
                             f"p0..p{len(names) - 1}")
    metadata = file_checks.parse_json(str(archive.get(_NPZ_METADATA_KEY, "{}")), path,
                                      "metadata")
    return [archive[f"p{index}"] for index in range(len(names))], metadata


def _describe_path(path):
    """('model', 0) -> "['model'][0]"; () -> 'the top'."""
    return "".join(f"[{key!r}]" for key in path) or "the top"
