"""bfloat16 training steps beside float32 and beside PyTorch's autocast, interleaved.

    python -m benchmarks.bf16_steps [--workloads mlp_large,mlp_wide] [--rounds 9] [--seconds 0.5]

Four steps per workload, and the bf16 products alone (the floor), from the same parameters and data (``benchmarks.workloads``):
jitgrad and PyTorch eager in float32, and each with its forward and loss under its own
autocast (``jitgrad.autocast("cpu", dtype=jitgrad.bfloat16)``, ``torch.autocast("cpu",
dtype=torch.bfloat16)``), backward and SGD outside it, parameters float32. Each round runs
the four for ``--seconds`` each, in an order that rotates, after a pause that lets the other
library's threads stop spinning; the ratios are taken within a round, and the table gives
their median over the rounds and range, and GFLOP/s of the step's products against the bf16
peak (oneDNN's 2048³ product through jitgrad's binding, measured in the same run).
"""
import argparse
import statistics
import time

import numpy as np

from benchmarks import workloads
from benchmarks.interleaved import median_step

NAMES = ("jitgrad_f32", "jitgrad_bf16", "torch_f32", "torch_bf16", "bf16_floor")
#: Pause before each measurement: OpenMP's and OpenBLAS's idle threads spin for up to 0.2 s.
SETTLE = 0.3


def autocast_step(workload, implementation):
    """``implementation``'s float32 step with its loss (forward and loss) under autocast."""
    step = workloads.build_step(workload, implementation, "float32")
    loss_fn = step.loss_fn
    if implementation == "torch":
        import torch
        context = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    else:
        import jitgrad
        context = lambda: jitgrad.autocast("cpu", dtype="bfloat16")  # noqa: E731

    def autocast_loss():
        with context():
            return loss_fn()
    step.loss_fn = autocast_loss
    return step


def build(workload):
    """{name: step} of NAMES."""
    return {"jitgrad_f32": workloads.build_step(workload, "jitgrad", "float32"),
            "jitgrad_bf16": autocast_step(workload, "jitgrad"),
            "torch_f32": workloads.build_step(workload, "torch", "float32"),
            "torch_bf16": autocast_step(workload, "torch"),
            "bf16_floor": bf16_floor(workload)}


def bf16_floor(workload):
    """The step's products alone on the bf16 GEMM jitgrad chose, on operands rounded once
    (transposed ones as views, as the backward reads them), into preallocated outputs."""
    from jitgrad.backend import amp
    from kernels import bf16
    rng = np.random.default_rng(0)
    calls = []
    for product in workload.products():
        a, b, out = product.operands(np.float32, rng)
        a16, b16 = (bf16.to_bf16(x.T).T if x.flags.f_contiguous and not x.flags.c_contiguous
                    else bf16.to_bf16(x) for x in (a, b))
        calls.append((a16, b16, out))
    return lambda: [amp.multiply_into(a16, b16, out, beta=0.0) for a16, b16, out in calls]


def measure(steps, rounds, seconds):
    """[{name: median seconds}] for ``rounds`` rounds."""
    for step in steps.values():
        for _ in range(5):
            step()
    results = []
    for index in range(rounds):
        names = list(steps)
        order = names[index % len(names):] + names[:index % len(names)]
        times = {}
        for name in order:
            time.sleep(SETTLE)
            times[name] = median_step(steps[name], seconds)
        results.append(times)
    return results


def bf16_peak(seconds=1.0):
    """GFLOP/s of the bf16 GEMM jitgrad chose, on a 2048³ product."""
    from jitgrad.backend import amp
    from kernels import bf16
    rng = np.random.default_rng(0)
    a, b = (bf16.to_bf16(rng.standard_normal((2048, 2048)).astype(np.float32)) for _ in "ab")
    out = np.empty((2048, 2048), np.float32)
    time.sleep(SETTLE)
    return 2 * 2048 ** 3 / median_step(lambda: amp.multiply_into(a, b, out, beta=0.0), seconds) / 1e9


def span(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bf16_steps",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp_large,mlp_wide")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args(argv)
    import jitgrad
    from jitgrad.backend import amp
    jitgrad.warmup(progress=False)
    peak = bf16_peak()
    print(f"bf16 GEMM peak (2048³, {amp.library()}): {peak:.0f} GFLOP/s")
    print("| workload | jitgrad f32 ms | jitgrad bf16 ms | torch f32 ms | torch autocast ms "
          "| bf16 GEMM floor ms | jitgrad bf16 / torch autocast | jitgrad bf16 / jitgrad f32 "
          "| jitgrad bf16 / floor | jitgrad bf16 GFLOP/s (of peak) | torch autocast GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.workloads.split(","):
        workload = workloads.WORKLOADS[name]
        results = measure(build(workload), args.rounds, args.seconds)
        medians = {n: statistics.median(r[n] for r in results) for n in NAMES}
        flops = workloads.gemm_flops(workload) / 1e9
        print(f"| {name} | " + " | ".join(f"{medians[n] * 1e3:.2f}" for n in NAMES)
              + f" | {span([r['jitgrad_bf16'] / r['torch_bf16'] for r in results])}"
              + f" | {span([r['jitgrad_bf16'] / r['jitgrad_f32'] for r in results])}"
              + f" | {span([r['jitgrad_bf16'] / r['bf16_floor'] for r in results])}"
              + f" | {flops / medians['jitgrad_bf16']:.0f} ({flops / medians['jitgrad_bf16'] / peak:.0%})"
              + f" | {flops / medians['torch_bf16']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
