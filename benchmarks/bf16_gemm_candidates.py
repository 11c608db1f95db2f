"""The bfloat16 GEMMs this machine has, on a workload's products (all three layouts of each
layer: forward ``x @ W``, ``grad_x = g @ W.T``, ``grad_W = x.T @ g``) and at 2048³, beside
jitgrad's float32 gemm and PyTorch's bf16 ``torch.mm`` (oneDNN inside PyTorch: a reference,
not a candidate).

    python -m benchmarks.bf16_gemm_candidates [--workloads mlp_large,mlp_wide] [--rounds 3]
        [--seconds 0.5] [--threads 2]

Each candidate runs in a process of its own (one thread pool per process: no two libraries
spinning on the same cores), the candidates alternating, ``--rounds`` times; each product's
time is its median single call over ``--seconds``, and the table shows the fastest round's,
in ms, and GFLOP/s. Candidates: "float32" (jitgrad's gemm), "mkl" (MKL's
``cblas_gemm_bf16bf16f32``), "dnnl" (oneDNN's ``dnnl_gemm_bf16bf16f32``, with ``JITGRAD_DNNL``
set to a libdnnl.so), "torch". A candidate whose library is missing is left out. bf16
results are checked against the float32 product of the same rounded operands.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks.gemm import Product
from benchmarks.workloads import WORKLOADS

CANDIDATES = ("float32", "mkl", "dnnl", "torch")
PEAK = Product(2048, 2048, 2048)


def median_seconds(call, seconds):
    """The median duration of ``call()`` over about ``seconds``, after two untimed calls."""
    call(), call()
    durations, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(durations) < 3:
        start = time.perf_counter()
        call()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def product_call(candidate, product, rng):
    """A no-argument function computing ``product`` with ``candidate`` on preallocated
    operands (checked once against float32), or None when the candidate is missing."""
    from kernels import bf16
    a, b, out = product.operands(np.float32, rng)
    a16, b16 = (_rounded_like(bf16, x) for x in (a, b))
    if candidate == "float32":
        from benchmarks.gemm import matmul_into
        from jitgrad.backend.gemm import ensure_chosen
        ensure_chosen()
        return lambda: matmul_into(a, b, out)
    if candidate == "torch":
        import torch
        ta, tb = (torch.from_numpy(bf16.from_bf16(np.ascontiguousarray(x))).bfloat16()
                  for x in (a16, b16))
        ta, tb = (ta.T.contiguous().T if product.transposed == "a" else ta,
                  tb.T.contiguous().T if product.transposed == "b" else tb)
        return lambda: torch.mm(ta, tb)
    try:
        gemm = bf16.gemm_function(candidate)
    except bf16.NoBf16Gemm:
        return None
    gemm(a16, b16, out)
    expected = bf16.from_bf16(np.ascontiguousarray(a16)) @ bf16.from_bf16(np.ascontiguousarray(b16))
    if not np.allclose(out, expected, rtol=1e-4, atol=1e-3 * np.sqrt(product.k)):
        raise AssertionError(f"{candidate} gives wrong results for {product}")
    return lambda: gemm(a16, b16, out)


def _rounded_like(bf16, x):
    """x's bfloat16 bits, stored as x is (a transposed view stays one)."""
    if x.flags.c_contiguous:
        return bf16.to_bf16(x)
    return bf16.to_bf16(np.ascontiguousarray(x.T)).T


def run_candidate(candidate, products, seconds):
    """{product index: seconds} for one candidate, in this process (None if missing)."""
    rng = np.random.default_rng(0)
    times = {}
    for index, product in enumerate(products):
        call = product_call(candidate, product, rng)
        if call is None:
            return None
        times[index] = median_seconds(call, seconds)
    return times


def workload_products(names):
    """[(label, Product)]: each workload's distinct products, then the 2048³ peak."""
    labelled = {}
    for name in names:
        for product in WORKLOADS[name].products():
            layout = {"": "x@W", "a": "x.T@g", "b": "g@W.T"}[product.transposed]
            labelled.setdefault(product, f"{name} {layout} {product.m}x{product.k}x{product.n}")
    labelled[PEAK] = "peak 2048x2048x2048"
    return [(label, product) for product, label in labelled.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="mlp_large,mlp_wide")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    labelled = workload_products(args.workloads.split(","))
    products = [product for _, product in labelled]
    if args.child:
        import torch
        torch.set_num_threads(args.threads)
        print(json.dumps(run_candidate(args.child, products, args.seconds)))
        return
    env = {**os.environ, **{v: str(args.threads) for v in (
        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    best = {}
    for _ in range(args.rounds):
        for candidate in args.candidates.split(","):
            out = subprocess.run([sys.executable, "-m", "benchmarks.bf16_gemm_candidates",
                                  "--workloads", args.workloads, "--seconds", str(args.seconds),
                                  "--threads", str(args.threads), "--child", candidate],
                                 env=env, capture_output=True, text=True, check=True)
            times = json.loads(out.stdout.strip().splitlines()[-1])
            if times is None:
                continue
            for index, seconds in times.items():
                key = (candidate, int(index))
                best[key] = min(seconds, best.get(key, np.inf))
    present = [c for c in args.candidates.split(",") if (c, 0) in best]
    print("| product | " + " | ".join(f"{c} ms (GFLOP/s)" for c in present) + " |")
    print("|---|" + "---|" * len(present))
    for index, (label, product) in enumerate(labelled):
        cells = [f"{best[(c, index)] * 1e3:.3f} ({product.flops / best[(c, index)] / 1e9:.0f})"
                 for c in present]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for c in present:
        total = sum(best[(c, i)] for i, (label, _) in enumerate(labelled) if not label.startswith("peak"))
        print(f"{c}: all workload products {total * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
