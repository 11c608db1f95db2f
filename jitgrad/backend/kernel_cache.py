"""Where Numba keeps the compiled kernels (``cache=True``), and what their code depends on."""
import contextlib
import glob
import json
import os
import shutil
import sys

import kernels
from jitgrad.backend.atomic import atomic_write
from kernels import elementwise


def folder():
    """Numba's own choice (beside the source, else user-wide), from a private attribute; None
    where this Numba version does not say."""
    return getattr(getattr(elementwise.add, "_cache", None), "_cache_path", None)


def stamp():
    """What the cached machine code depends on: Numba's and Python's versions, the CPU Numba
    compiles for, and each kernel source file's size and modification time. Numba itself
    recompiles a kernel when any of these changes."""
    import numba
    from numba.core.registry import cpu_target
    return {"numba": numba.__version__, "python": sys.version,
            "target": list(cpu_target.target_context.codegen().magic_tuple()),
            "sources": sources()}


def sources():
    """{file name: [size, modification time in ns]} of every kernel source file."""
    paths = sorted(glob.glob(os.path.join(os.path.dirname(kernels.__file__), "*.py")))
    return {os.path.basename(path): [os.stat(path).st_size, os.stat(path).st_mtime_ns]
            for path in paths}


#: The file, beside the cached kernels, recording the kernel sources they were compiled from.
SOURCES_RECORD = "sources.json"
#: The folder, beside the cached kernels, of compiled steps' generated sources and their
#: cached code (jitgrad/codegen.py).
GENERATED = "jitgrad_steps"


def drop_if_sources_changed():
    """Delete every cached kernel if any kernel source changed since the cache was filled.

    Numba checks only a kernel's own file: a kernel that inlines a helper from another file
    (``vmath``) or reads its table (``blas``) kept its stale machine code when only that file
    changed, and gave wrong results (a float64 product run through sgemm). An edited or
    updated checkout is such a change. Returns whether anything was deleted.
    """
    cache = folder()
    if cache is None:
        return False
    current, record = sources(), os.path.join(cache, SOURCES_RECORD)
    with contextlib.suppress(OSError, ValueError):
        with open(record) as file:
            if json.load(file) == current:
                return False
    stale = glob.glob(os.path.join(cache, "*.nbi")) + glob.glob(os.path.join(cache, "*.nbc"))
    with contextlib.suppress(OSError):
        for path in stale:
            os.remove(path)
        # generated steps call the old kernels (their names hash the old sources: unused)
        shutil.rmtree(os.path.join(cache, GENERATED), ignore_errors=True)
        with atomic_write(record) as file:  # processes importing at once never read half of it
            file.write(json.dumps(current).encode())
    return bool(stale)
