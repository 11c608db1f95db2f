"""Which BLAS runs jitgrad's matrix products: the fastest one measured on this machine, per
dtype and shape class (``kernels.blas.SHAPE_CLASSES``), or the one ``JITGRAD_BLAS`` names.

Backends: "openblas" (SciPy's, behind Numba's ``np.dot``; always there) and "mkl" (the optional
``mkl`` wheel: ``pip install "jitgrad[mkl]"``). The first product of a process (or
``jitgrad.warmup()``) decides. Measuring takes about a second, so its verdict is stored beside
the kernels' compiled code, keyed by the libraries' versions and the thread count.

One thread budget: MKL gets as many threads as OpenBLAS has, so ``--threads`` and threadpoolctl
limits cover both. With more than one thread, both libraries keep idle worker threads spinning
for a while after each call, stealing the cores from the other; so then one backend runs every
shape class (the one fastest over all of them), and a step never switches pools.
"""
import json
import os
import threading
import time

import numpy as np

from jitgrad.backend import kernel_cache
from jitgrad.backend.atomic import atomic_write
from kernels import blas, mkl
from kernels import matmul as k

BACKENDS = ("openblas", "mkl")
#: The environment variable overriding the measurement: "auto" (default), or a backend.
OVERRIDE = "JITGRAD_BLAS"
#: The product timed for each shape class (m, k, n).
REPRESENTATIVES = {"small": (32, 64, 64), "skinny": (16, 512, 512), "medium": (128, 512, 512),
                   "large": (256, 1024, 1024)}
#: Each backend is measured this many times, alternating, each time after a pause of SETTLE
#: seconds: long enough for the other library's idle threads to stop spinning (MKL's spin for
#: 0.2 s by default, OpenBLAS's for about 0.1 s), which would otherwise take the cores.
MEASURE_ROUNDS, SETTLE = 2, 0.25
#: Seconds of untimed products after each switch: a pool's first products after it starts or
#: wakes were measured 100 times slower for about 0.3 s (threads waking, on a busy machine).
WARM_IN = 0.4
CACHE_FILE = "gemm_choice.json"

_lock = threading.Lock()


class _Decision:
    """The process's current choice: {(dtype name, shape class): backend}, why, and the
    measured microseconds per product behind it ({"float32 skinny": {backend: µs}})."""
    choice = None
    reason = ""
    microseconds = {}


def ensure_chosen():
    """Choose the backends unless this process already has (cheap after the first call)."""
    if _Decision.choice is None:
        with _lock:
            if _Decision.choice is None:
                choose()


def choose(use_cache=True):
    """Choose and install the backends (see the module's docstring); returns the choice."""
    wanted = os.environ.get(OVERRIDE, "auto").strip().lower() or "auto"
    if wanted not in ("auto", *BACKENDS):
        raise ValueError(f"{OVERRIDE}={wanted!r}: expected auto, {' or '.join(BACKENDS)}")
    if wanted != "auto":
        return install(uniform(wanted), f"{OVERRIDE}={wanted}")
    if not mkl.installed():
        return install(uniform("openblas"), 'the only BLAS installed (for MKL: pip install "jitgrad[mkl]")')
    threads = blas_threads()
    key = (f"openblas {_scipy_openblas().get('version')}, mkl {mkl.load()['version']}, "
           f"{threads} threads, classes {'/'.join(blas.SHAPE_CLASSES)}")  # a verdict for each
    cached = _read_cache().get(key) if use_cache else None
    if cached is None:
        times = measure()
        cached = {"choice": _fastest(times, threads), "measured": time.strftime("%Y-%m-%d %H:%M"),
                  "microseconds": {f"{dtype} {c}": {b: round(s * 1e6, 1) for b, s in t.items()}
                                   for (dtype, c), t in times.items()}}
        _write_cache(key, cached)
    choice = {(dtype, shape_class): backend
              for dtype, classes in cached["choice"].items() for shape_class, backend in classes.items()}
    rule = "one backend for every class, as OpenBLAS has more than one thread" if threads > 1 else "per class"
    choice = install(choice, f"measured {cached['measured']} ({key}); {rule}")
    _Decision.microseconds = cached["microseconds"]
    return choice


def backends(dtype):
    """The backends that products of ``dtype`` run on (choosing them first if need be)."""
    ensure_chosen()
    wanted = np.dtype(dtype).name
    return {backend for (name, _), backend in _Decision.choice.items() if name == wanted}


def uniform(backend):
    """One backend for every dtype and shape class."""
    return {(dtype.name, shape_class): backend
            for dtype in blas.DTYPES for shape_class in blas.SHAPE_CLASSES}


def install(choice, reason):
    """Point the kernels' gemm at ``choice``'s backends; returns ``choice``."""
    if "mkl" in choice.values():
        _share_threads_with_mkl()
    for (dtype, shape_class), backend in choice.items():
        blas.TABLE[blas.slot(dtype, shape_class)] = mkl.load()[dtype] if backend == "mkl" else 0
    _Decision.choice, _Decision.reason, _Decision.microseconds = dict(choice), reason, {}
    return choice


def _share_threads_with_mkl():
    """Load MKL (raising ``MKLNotFound`` without it) and give it OpenBLAS's thread count, so
    that one limit (``--threads``, threadpoolctl) holds for both. MKL loads after any limit
    the caller set, so that limit never reached it: it would run on every core."""
    from threadpoolctl import ThreadpoolController
    mkl.load()
    # selected by internal_api: threadpool_limits' dict keys are prefixes and user_apis only
    ThreadpoolController().select(internal_api="mkl").limit(limits=blas_threads())


def blas_threads():
    """The threads of the BLAS that Numba's ``np.dot`` calls (SciPy's OpenBLAS)."""
    return _scipy_openblas().get("num_threads", 1)


def _scipy_openblas():
    """threadpoolctl's record of SciPy's OpenBLAS (loading it), or {} if it is not found."""
    import scipy.linalg.cython_blas  # noqa: F401 -- loaded, so that threadpoolctl sees it
    from threadpoolctl import threadpool_info
    pools = [pool for pool in threadpool_info() if pool["internal_api"] == "openblas"]
    return next((p for p in pools if "scipy" in p["filepath"] and "numpy" not in p["filepath"]),
                pools[0] if pools else {})


def measure(backends=BACKENDS):
    """{(dtype, shape class): {backend: best seconds}} for REPRESENTATIVES' products.

    Leaves the table pointing at the last backend measured; ``install`` sets it afterwards.
    """
    rng = np.random.default_rng(0)
    operands = {(dtype.name, shape_class): (rng.standard_normal((m, inner)).astype(dtype),
                                            rng.standard_normal((inner, n)).astype(dtype))
                for dtype in blas.DTYPES for shape_class, (m, inner, n) in REPRESENTATIVES.items()}
    best = {key: {} for key in operands}
    for backend in list(backends) * MEASURE_ROUNDS:
        install(uniform(backend), "measuring")
        time.sleep(SETTLE)
        _repeat_for(WARM_IN, lambda: [k.mm(a, b) for a, b in operands.values()])
        for key, (a, b) in operands.items():
            seconds = _best_time(lambda: k.mm(a, b))
            best[key][backend] = min(seconds, best[key].get(backend, np.inf))
    return best


def _fastest(times, threads):
    """{dtype: {shape class: backend}}: per class the fastest, or with more than one thread
    the backend fastest over all the classes of the dtype."""
    choice = {}
    for dtype in blas.DTYPES:
        per_class = {c: times[(dtype.name, c)] for c in blas.SHAPE_CLASSES}
        if threads > 1:
            overall = min(per_class[blas.SHAPE_CLASSES[0]], key=lambda b: sum(t[b] for t in per_class.values()))
            choice[dtype.name] = {c: overall for c in per_class}
        else:
            choice[dtype.name] = {c: min(t, key=t.get) for c, t in per_class.items()}
    return choice


#: {(m, k, n, b transposed, dtype name): whether such products run faster as their transpose}
_TRANSPOSED = {}
#: Products of more rows are never computed as their transpose: on this machine's OpenBLAS it
#: was slower for every product of 64 rows or more tried (docs/speed-notes.md).
TRANSPOSED_MAX_ROWS = 32


def transposed_faster(m, k, n, b_transposed, dtype):
    """Whether ``kernels.matmul.product`` of (m, k) by (k, n) operands runs faster
    ``transposed`` (as (b.T @ a.T).T) on the chosen BLAS; ``b_transposed``: b is the
    transpose of a C-contiguous (n, k) array (a backward's weight). Measured once per shape
    in this process, and False unless both ways give the same numbers, bit for bit, so the
    choice never changes results: an LSTM's recurrent products of 16 rows ran 21% faster
    forward and 40% backward this way."""
    key = (m, k, n, b_transposed, np.dtype(dtype).name)
    if key not in _TRANSPOSED:
        _TRANSPOSED[key] = m <= TRANSPOSED_MAX_ROWS and _measure_transposed(*key)
    return _TRANSPOSED[key]


def _measure_transposed(rows, inner, columns, b_transposed, dtype):
    """Time both ways, alternating; the transposed one must win by 5%, so that a tie keeps
    the plain call."""
    ensure_chosen()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner)).astype(dtype)
    b = (rng.standard_normal((columns, inner)).astype(dtype).T if b_transposed
         else rng.standard_normal((inner, columns)).astype(dtype))
    if not np.array_equal(k.product_either_way(a, b, True), k.product_either_way(a, b, False)):
        return False
    best = {False: float("inf"), True: float("inf")}
    for _ in range(5):
        for transposed in best:
            seconds = _repeat_for(0.001, lambda: k.product_either_way(a, b, transposed))
            best[transposed] = min(best[transposed], seconds)
    return best[True] < 0.95 * best[False]


def _best_time(fn, rounds=3, min_seconds=0.002):
    """The fastest of ``rounds`` rounds, in seconds per call (a round repeats ``fn`` for at
    least ``min_seconds``)."""
    fn()
    return min(_repeat_for(min_seconds, fn) for _ in range(rounds))


def _repeat_for(seconds, fn):
    """Call ``fn`` until ``seconds`` have passed (at least once); seconds per call."""
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or calls == 0:
        fn()
        calls += 1
    return elapsed / calls


def cache_path():
    """The choice's file, in the folder where Numba caches the kernels (None if unknown)."""
    folder = kernel_cache.folder()
    return None if folder is None else os.path.join(folder, CACHE_FILE)


def _read_cache():
    path = cache_path()
    try:
        with open(path) as file:
            return json.load(file)
    except (TypeError, OSError, ValueError):
        return {}


def _write_cache(key, entry):
    """Add ``entry`` under ``key``; a read-only cache folder only means measuring again."""
    path = cache_path()
    if path is None:
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_write(path) as file:
            file.write(json.dumps({**_read_cache(), key: entry}, indent=1).encode())
    except OSError:
        pass


def report():
    """Lines for ``jitgrad info``: the backend of each dtype and shape class, and why."""
    ensure_chosen()
    lines = [f"gemm          {_Decision.reason}"]
    for dtype in blas.DTYPES:
        per_class = ", ".join(f"{c} {_Decision.choice[(dtype.name, c)]}{_times(dtype.name, c)}"
                              for c in blas.SHAPE_CLASSES)
        lines.append(f"gemm {dtype.name:<9}{per_class}")
    return lines


def _times(dtype, shape_class):
    """" (openblas 98 µs, mkl 94 µs)" as measured for the class's representative product."""
    times = _Decision.microseconds.get(f"{dtype} {shape_class}")
    if not times:
        return ""
    m, inner, n = REPRESENTATIVES[shape_class]
    return f" ({m}x{inner}x{n}: " + ", ".join(f"{b} {t:.0f} µs" for b, t in times.items()) + ")"
