"""What ``jitgrad info`` reports: versions, dtypes, the kernel cache, BLAS and threads."""
import importlib.metadata
import os
import platform
import sys
import warnings

from jitgrad import __version__
from jitgrad.backend import amp, gemm, kernel_cache
from jitgrad.backend.dtypes import KERNEL_DTYPES

PACKAGES = ("numpy", "numba", "scipy", "scikit-learn", "tqdm", "threadpoolctl", "matplotlib", "mkl",
            "onednn-cpu-gomp", "ml_dtypes")


def report():
    """The report as a list of lines."""
    lines = [f"jitgrad {__version__} ({os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})",
             f"python {platform.python_version()} ({sys.executable}) on {platform.platform()}"]
    lines += [f"{name + ' ':<14}{_version(name)}" for name in PACKAGES]
    lines += [f"dtypes        {', '.join(d.name for d in KERNEL_DTYPES)} (kernels compile for "
              "each; float16 computes in float32, ints and bools in float64)",
              f"kernel cache  {_cache_directory()}",
              f"cpus          {os.cpu_count()}; numba threads {_numba_threads()}"]
    lines += gemm.report()
    lines.append(f"bf16 gemm     {_bf16_gemm()}")
    lines += [f"thread pool   {line}" for line in _thread_pools()]
    return lines


def _bf16_gemm():
    """The bf16 GEMM autocast uses (loading it), or why it has none (without the warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", amp.AutocastFallback)
        if amp.gemm() is None:
            return f"none ({amp.library()}): jitgrad.autocast's products run in float32"
        return f"{amp.library()}, for jitgrad.autocast's products"


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _numba_threads():
    import numba
    return numba.config.NUMBA_NUM_THREADS


def _cache_directory():
    """Where Numba keeps the compiled kernels, and how many of them are stored there."""
    path = kernel_cache.folder()
    if path is None:
        return "unknown (this Numba version does not say)"
    stored = len([f for f in os.listdir(path) if f.endswith(".nbi")]) if os.path.isdir(path) else 0
    return f"{path} (holds {stored} compiled kernels; `jitgrad warmup` compiles them all)"


def _thread_pools():
    """One line per BLAS/OpenMP library loaded: which, version, threads, file."""
    import scipy.linalg  # noqa: F401  -- loads the BLAS that Numba's np.dot calls
    from threadpoolctl import threadpool_info
    return [f"{pool['user_api']} {pool['internal_api']} {pool.get('version') or ''}, "
            f"{pool['num_threads']} threads ({os.path.basename(pool['filepath'])})"
            for pool in threadpool_info()]
