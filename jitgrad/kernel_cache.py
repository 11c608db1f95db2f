"""Where Numba keeps the compiled kernels (``cache=True``), and what their code depends on."""
import glob
import os
import sys

import kernels
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
    sources = sorted(glob.glob(os.path.join(os.path.dirname(kernels.__file__), "*.py")))
    return {"numba": numba.__version__, "python": sys.version,
            "target": list(cpu_target.target_context.codegen().magic_tuple()),
            "sources": {os.path.basename(path): [os.stat(path).st_size, os.stat(path).st_mtime_ns]
                        for path in sources}}
