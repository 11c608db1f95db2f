"""Reading files without trusting them: the work a file costs is bounded by its size, not by
what its header claims, and every problem is a ``FileCheckError`` (a ``ValueError``) naming
the file.

- ``open_regular``/``read_bytes``: only regular files; a FIFO, a device or a directory is
  refused at once instead of blocking or being read forever.
- ``load_npy``/``load_npz``: a ``.npy`` header's claimed size (and a ``.npz`` member's) is
  compared with the bytes actually there before anything is allocated.
- ``decode_safetensors``: a safetensors file's tensors as NumPy arrays (BF16 converted to
  float32 exactly; other dtypes NumPy lacks named as unsupported), and its metadata.
- ``check_structure``: a JSON structure's kinds, keys and nesting depth, and that every array
  it names is in the file.
"""
import json
import math
import os
import stat
import struct
import zipfile

import numpy as np

#: how deep a saved structure may nest (a model's state is 3-4 levels deep)
MAX_DEPTH = 100
#: deflate cannot expand data more than about 1032 times; a .npz member claiming more is damaged
MAX_DEFLATE_RATIO = 1100

_SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16,
    "U8": np.uint8, "BOOL": np.bool_,
}
_KINDS = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device",
          stat.S_ISBLK: "a block device", stat.S_ISDIR: "a directory", stat.S_ISSOCK: "a socket"}


class FileCheckError(ValueError):
    """A file that cannot be read as what it should be; the message names it."""


# --- regular files ------------------------------------------------------------------------
def open_regular(path):
    """``path`` opened for binary reading, or FileCheckError if it is not a regular file.

    Opened without blocking, so a FIFO with no writer is refused rather than waited on.
    """
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(handle).st_mode
        if not stat.S_ISREG(mode):
            raise FileCheckError(f"{path} is {kind_of(mode)}, not a regular file")
    except BaseException:
        os.close(handle)
        raise
    return os.fdopen(handle, "rb")


def check_regular(path):
    """FileCheckError if ``path`` exists but is not a regular file (FileNotFoundError if it
    does not exist), for files that a library opens itself."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise FileCheckError(f"{path} is {kind_of(mode)}, not a regular file")


def kind_of(mode):
    """'a FIFO (named pipe)', 'a directory', ... for an ``st_mode``."""
    return next((kind for test, kind in _KINDS.items() if test(mode)), "not a regular file")


def read_bytes(path):
    """The content of the regular file at ``path``."""
    with open_regular(path) as file:
        return file.read()


def read_text(path):
    """The content of the regular UTF-8 file at ``path`` (a BOM is dropped), or
    FileCheckError saying that it is not UTF-8 text."""
    try:
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileCheckError(f"{path} is not UTF-8 text ({error.reason})") from None


# --- .npy and .npz ------------------------------------------------------------------------
def load_npy(path):
    """The array in the ``.npy`` file at ``path``, read only once its header's claim (dtype
    and shape) matches the bytes the file holds; no object arrays."""
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        return _read_npy(file, size, path)


def load_npz(path):
    """{name: array} of the ``.npz`` archive at ``path``, each member checked as in
    ``load_npy`` (and its size in the archive against its compressed size)."""
    with open_regular(path) as file:
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise FileCheckError(f"{path} is not a readable .npz file ({error})") from None
        with archive:
            return {_member_name(info.filename): _read_member(archive, info, path)
                    for info in archive.infolist()}


def _member_name(filename):
    return filename.removesuffix(".npy")


def _read_member(archive, info, path):
    where = f"{path} (array {_member_name(info.filename)!r})"
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO
    if info.file_size > ratio * info.compress_size + 1024:
        raise FileCheckError(f"{where}: the archive says it holds {info.file_size:,} bytes "
                             f"from {info.compress_size:,} compressed; damaged")
    try:
        with archive.open(info) as member:
            return _read_npy(member, info.file_size, where)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise FileCheckError(f"{where} is truncated or damaged ({error})") from None


def _read_npy(file, size, where):
    """The array in the .npy stream ``file`` of ``size`` bytes (``where`` names it)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(file)
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else \
            fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(file)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as error:
        raise FileCheckError(f"{where} is not a readable .npy array ({_reason(error)})") from None
    if dtype.hasobject:
        raise FileCheckError(f"{where} holds Python objects ({dtype}), which are not read "
                             "(only arrays of numbers or text)")
    claimed = math.prod(shape) * dtype.itemsize
    held = size - file.tell()
    if claimed != held:
        raise FileCheckError(f"{where}: its header says {dtype}{list(shape)} ({claimed:,} "
                             f"bytes) but it holds {held:,} bytes of data; truncated or damaged")
    data = bytearray(claimed)  # read into, so that the array owns it without a copy
    got = file.readinto(data)
    if got != claimed:
        raise FileCheckError(f"{where} is truncated ({got:,} of {claimed:,} bytes)")
    array = np.frombuffer(data, dtype)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _reason(error):
    return " ".join(str(error).split())[:200]


# --- safetensors ------------------------------------------------------------------------
def decode_safetensors(content, path):
    """({name: array}, the header's ``__metadata__`` dict) of safetensors ``content``.

    The safetensors library checks the header against the bytes (offsets, sizes); BF16
    tensors become float32 (exactly: bfloat16 is float32's upper half); other dtypes NumPy
    does not have (F8_*) are a FileCheckError naming the tensor.
    """
    from safetensors import SafetensorError, deserialize

    try:
        tensors = deserialize(bytes(content))
        (length,) = struct.unpack("<Q", content[:8])
        header = json.loads(bytes(content[8:8 + length]).decode("utf-8"))
    except (SafetensorError, ValueError, struct.error, UnicodeDecodeError,
            RecursionError) as error:
        raise FileCheckError(f"{path} {_what_is_wrong(content)} ({_reason(error)})") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return ({name: _array_of(name, view, path) for name, view in tensors},
            metadata if isinstance(metadata, dict) else {})


def _array_of(name, view, path):
    dtype, shape, data = view["dtype"], view["shape"], view["data"]
    if dtype == "BF16":
        upper = np.frombuffer(data, "<u2").astype(np.uint32) << 16
        return upper.view(np.float32).reshape(shape)
    if dtype not in _SAFETENSORS_DTYPES:
        raise FileCheckError(f"{path}: tensor {name!r} has dtype {dtype}, which is unsupported "
                             f"(supported: BF16 as float32, {', '.join(_SAFETENSORS_DTYPES)})")
    little_endian = np.dtype(_SAFETENSORS_DTYPES[dtype]).newbyteorder("<")
    # the library's bytearray becomes the array's (writeable) buffer: no copy on little-endian
    return np.frombuffer(data, little_endian).astype(_SAFETENSORS_DTYPES[dtype], copy=False) \
        .reshape(shape)


def _what_is_wrong(content):
    """'is truncated or damaged' for content that starts like a safetensors header."""
    looks_like_header = len(content) > 9 and content[8:9] == b"{"
    return "is truncated or damaged" if looks_like_header else "is not a jitgrad model file"


def parse_json(text, path, what):
    """``text`` parsed as JSON, or FileCheckError naming ``what`` in ``path``."""
    try:
        return json.loads(text)
    except (ValueError, TypeError) as error:
        raise FileCheckError(f"{path}: its {what} is not valid JSON ({_reason(error)})") from None
    except RecursionError:
        raise FileCheckError(f"{path}: its {what} is nested too deeply") from None


# --- structures ---------------------------------------------------------------------------
def check_structure(structure, arrays, path):
    """FileCheckError unless ``structure`` is what ``jitgrad.save`` writes: nodes
    {"array": name in ``arrays``}, {"dict": [[str or int key, node], ...]}, {"list"|"tuple":
    [node, ...]} or {"value": JSON scalar}, nested at most MAX_DEPTH deep."""
    pending = [(structure, 1, "the top")]
    while pending:
        node, depth, where = pending.pop()
        if depth > MAX_DEPTH:
            raise FileCheckError(f"{path}: its structure nests deeper than {MAX_DEPTH} levels")
        if not (isinstance(node, dict) and len(node) == 1):
            raise FileCheckError(f"{path}: its structure is damaged at {where} (expected a "
                                 f"one-key object, got {_brief(node)})")
        kind, value = next(iter(node.items()))
        if kind == "array":
            if not isinstance(value, str) or value not in arrays:
                raise FileCheckError(f"{path}: its structure names the tensor {_brief(value)} "
                                     f"at {where}, which is not in the file")
        elif kind == "dict" and isinstance(value, list):
            for pair in value:
                if not (isinstance(pair, list) and len(pair) == 2 and _is_key(pair[0])):
                    raise FileCheckError(f"{path}: its structure has a bad dict entry at "
                                         f"{where}: {_brief(pair)}")
                pending.append((pair[1], depth + 1, f"{where}[{pair[0]!r}]"))
        elif kind in ("list", "tuple") and isinstance(value, list):
            pending.extend((item, depth + 1, f"{where}[{index}]")
                           for index, item in enumerate(value))
        elif kind == "value" and (value is None or isinstance(value, (bool, int, float, str))):
            pass
        else:
            raise FileCheckError(f"{path}: its structure is damaged at {where} ({kind!r} "
                                 f"holding {_brief(value)})")


def _is_key(key):
    return isinstance(key, (str, int))


def _brief(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
