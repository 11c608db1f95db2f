"""Each matrix product of a workload's step through jitgrad's gemm, beside GEMMs that are not
jitgrad backends: XLA's (``jax.jit`` of the product) and oneDNN's ``dnnl_sgemm`` (float32,
row-major C API, from a ``libdnnl`` the user names). Where a candidate wins, it is a lead for
a new backend (docs/performance-gemm.md).

    python -m benchmarks.gemm_candidates [--workloads mlp_wide,mlp_large] [--dtype float32]
        [--dnnl /path/to/libdnnl.so.3] [--seconds 0.8]

Medians of single calls (each product on preallocated operands, checked against jitgrad's
result), in ms; a ratio above 1 means the candidate is faster than jitgrad's gemm. jax (for
XLA) and the library file are optional: a candidate that is missing is left out. One run
needs about 1 s per product and candidate.
"""
import argparse
import ctypes
import statistics
import time

import numpy as np

from benchmarks.gemm import matmul_into
from benchmarks.workloads import WORKLOADS
from jitgrad.backend.gemm import ensure_chosen


def median_seconds(call, seconds):
    """The median duration of ``call()`` over about ``seconds``, after one untimed call."""
    call()
    durations, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        call()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def xla_product(product):
    """``f(a, b)``: the product as one jitted jax function, reading the transposed operand
    as the step stores it, or None without jax."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)  # float64 products stay float64
    transpose = {"a": lambda a, b: a.T @ b, "b": lambda a, b: a @ b.T}
    jitted = jax.jit(transpose.get(product.transposed, lambda a, b: a @ b))
    return lambda a, b: jitted(a, b).block_until_ready()


def dnnl_product(path):
    """``f(product, stored_a, stored_b, out)`` calling oneDNN's row-major ``dnnl_sgemm``
    from the library at ``path``."""
    function = ctypes.CDLL(path).dnnl_sgemm
    dim, pointer = ctypes.c_int64, ctypes.c_void_p
    function.argtypes = [ctypes.c_char, ctypes.c_char, dim, dim, dim, ctypes.c_float, pointer,
                         dim, pointer, dim, ctypes.c_float, pointer, dim]

    def call(product, a, b, out):
        function(b"T" if product.transposed == "a" else b"N",
                 b"T" if product.transposed == "b" else b"N", product.m, product.n, product.k,
                 1.0, a.ctypes.data, a.shape[1], b.ctypes.data, b.shape[1], 0.0,
                 out.ctypes.data, product.n)
    return call


def compare(workload, dtype, dnnl_path=None, seconds=0.8):
    """A row per product of ``workload``: (product, {candidate: ms}), jitgrad's gemm first."""
    ensure_chosen()
    dnnl = dnnl_product(dnnl_path) if dnnl_path and dtype == np.float32 else None
    rng = np.random.default_rng(0)
    rows = []
    for product in dict.fromkeys(workload.products()):
        a, b, out = product.operands(dtype, rng)
        stored_a = a.T if product.transposed == "a" else a  # the C arrays behind the views
        stored_b = b.T if product.transposed == "b" else b
        times = {"jitgrad": median_seconds(lambda: matmul_into(a, b, out), seconds)}
        expected = out.copy()
        xla = xla_product(product)
        if xla is not None:
            times["xla"] = median_seconds(lambda: xla(stored_a, stored_b), seconds)
            np.testing.assert_allclose(np.asarray(xla(stored_a, stored_b)), expected,
                                       rtol=1e-3, atol=1e-2)
        if dnnl is not None:
            result = np.empty_like(out)
            times["dnnl"] = median_seconds(lambda: dnnl(product, stored_a, stored_b, result),
                                           seconds)
            np.testing.assert_allclose(result, expected, rtol=1e-3, atol=1e-2)
        rows.append((product, {name: s * 1e3 for name, s in times.items()}))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gemm_candidates",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp_wide,mlp_large")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--dnnl", help="path of oneDNN's libdnnl shared library")
    parser.add_argument("--seconds", type=float, default=0.8)
    args = parser.parse_args(argv)
    for name in args.workloads.split(","):
        rows = compare(WORKLOADS[name], np.dtype(args.dtype), args.dnnl, args.seconds)
        names = list(rows[0][1])
        print(f"\n{name} {args.dtype}: ms per product (jitgrad / candidate)\n")
        print("| product | transposed | " + " | ".join(names) + " |")
        print("|---|---|" + "---|" * len(names))
        totals = dict.fromkeys(names, 0.0)
        for product, times in rows:
            cells = [f"{times['jitgrad']:.3f}"] + [
                f"{times[n]:.3f} ({times['jitgrad'] / times[n]:.2f})" for n in names[1:]]
            print(f"| {product.m}x{product.k}x{product.n} | {product.transposed or '-'} | "
                  + " | ".join(cells) + " |")
            for n in names:
                totals[n] += times[n]
        print("| total | | " + " | ".join(f"{totals[n]:.2f}" for n in names) + " |")


if __name__ == "__main__":
    main()
