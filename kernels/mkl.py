"""Intel MKL's gemm, from the optional ``mkl`` wheel (``pip install "jitgrad[mkl]"``).

The wheel is no Python package: it puts ``libmkl_rt`` (and the ~700 MB of libraries it loads
on its first call) into the environment's ``lib`` folder. Nothing here runs at import; ``load``
opens the library when ``jitgrad.backend.gemm`` first wants it.
"""
import ctypes
import ctypes.util
import functools
import importlib.metadata
import os


class MKLNotFound(ImportError):
    """MKL's runtime library is not installed (or cannot be loaded) in this environment."""


def library_path():
    """Where ``libmkl_rt`` is: in the files of the installed ``mkl`` distribution, else
    wherever the system's loader finds ``mkl_rt``; None when it is nowhere."""
    try:
        files = importlib.metadata.distribution("mkl").files or ()
    except importlib.metadata.PackageNotFoundError:
        files = ()
    for file in files:
        name = os.path.basename(str(file))
        if name.startswith(("libmkl_rt.so", "libmkl_rt.", "mkl_rt")) and not name.endswith(".py"):
            return str(file.locate())
    return ctypes.util.find_library("mkl_rt")


@functools.cache
def load():
    """{"float32": address of sgemm, "float64": address of dgemm (MKL's Fortran interface,
    32-bit integers), "version", "path"}, loading MKL on the first call; raises MKLNotFound
    without it."""
    path = library_path()
    if path is None:
        raise MKLNotFound('MKL is not installed; pip install "jitgrad[mkl]" (x86-64 only)')
    try:
        library = ctypes.CDLL(path)
    except OSError as error:
        raise MKLNotFound(f"MKL at {path} cannot be loaded: {error}") from None
    return {"float32": ctypes.cast(library.sgemm, ctypes.c_void_p).value,
            "float64": ctypes.cast(library.dgemm, ctypes.c_void_p).value,
            "version": _version(library), "path": path}


def _version(library):
    """MKL's version string, e.g. "2025.2.0"."""
    buffer = ctypes.create_string_buffer(256)
    try:
        library.mkl_get_version_string(buffer, len(buffer))
    except AttributeError:
        return "unknown"
    words = buffer.value.decode(errors="replace").split()  # "... Version 2025.2-Product Build ..."
    return next((word.split("-")[0] for word in words if word[:1].isdigit()), "unknown")


def installed():
    """Whether MKL is installed (found without loading it)."""
    return library_path() is not None
