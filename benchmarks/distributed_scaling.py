"""Time per training step on one machine, 1 process x 2 threads against 2 MPI ranks x 1 thread
(and 1 x 1), then the allreduce cost model for N machines from those times; prints Markdown.

    python -m benchmarks.distributed_scaling [--steps 20] [--rounds 3] [--dtypes float32 float64]

Needs ``pip install ".[distributed]"``. Each configuration runs as a fresh job of this script
with ``--worker``: ``python`` for one process, ``mpiexec -n 2 python`` for two ranks, each of
which trains on its half of every global batch and allreduces the gradients every step. A
step is forward, backward, gradient sync (2 ranks only) and SGD update, of an MLP with Tanh
between its Linear layers and a cross-entropy loss, on a fixed batch; the median of ``steps``
timed steps after 3 untimed ones (which load the kernels) is taken, and the configurations run
in turn ``rounds`` times, keeping the best median of each: on a machine that other work shares,
that is the closest to the time it would take alone.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

# (layer sizes, global batch) of the networks of the speed benchmarks
NETWORKS = {"mlp_small": ((784, 128, 10), 100), "mlp_large": ((784, 512, 512, 10), 128),
            "mlp_wide": ((1024, 2048, 2048, 10), 256)}
UNTIMED_STEPS = 3
# (name, ranks, threads); 1 x 1 is the control: if it beats 1 x 2, other work holds a core
CONFIGS = (("1 process x 2 threads", 1, 2), ("2 ranks x 1 thread", 2, 1), ("1 process x 1 thread", 1, 1))
MACHINES = (2, 4, 8, 16)
LINKS = {"1 GbE": 0.125e9, "10 GbE": 1.25e9, "100 Gb/s InfiniBand": 12.5e9}  # bytes per second


def parameter_count(sizes):
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))


def build_step(sizes, batch, dtype, dp):
    """(step, parameters): one training step of the network on this rank's part of a fixed
    global batch, as a function returning the seconds its gradient sync took (0 without ``dp``)."""
    from jitgrad import SGD, CrossEntropyLoss, Linear, Sequential, Tanh, Tensor
    np.random.seed(0)
    layers = [layer for n_in, n_out in zip(sizes, sizes[1:])
              for layer in (Linear(n_in, n_out, dtype=dtype), Tanh())][:-1]
    model = Sequential(layers)
    params = model.get_parameters()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((batch, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], batch)
    if dp:
        x, y = dp.shard(x), dp.shard(y)
    x, y, optim = Tensor(x), Tensor(y), SGD(params, alpha=0.01)

    def step():
        CrossEntropyLoss().forward(model.forward(x), y).backward()
        start = time.perf_counter()
        if dp:
            dp.sync_gradients(params, batch)
        synced = time.perf_counter()
        optim.step()
        return synced - start
    return step, params


def worker(args):
    """Time every network and dtype; rank 0 prints one JSON line per pair."""
    from jitgrad import distributed
    dp = distributed.DataParallel(threads=args.threads) if args.ranks > 1 else None
    if dp is None:
        distributed.limit_threads(args.threads)
    for name, (sizes, batch) in NETWORKS.items():
        for dtype in args.dtypes:
            step, params = build_step(sizes, batch, np.dtype(dtype), dp)
            steps, syncs = [], []
            for number in range(UNTIMED_STEPS + args.steps):
                start = time.perf_counter()
                sync = step()
                if number >= UNTIMED_STEPS:
                    steps.append(time.perf_counter() - start)
                    syncs.append(sync)
            result = {"network": name, "dtype": dtype, "step": float(np.median(steps)),
                      "sync": float(np.median(syncs)),
                      "allreduce": time_allreduce_alone(params, args.steps) if dp else 0.0}
            if dp is None or dp.is_root:
                print(json.dumps(result), flush=True)


def time_allreduce_alone(params, repeats):
    """Median seconds of ``allreduce_gradients`` when all ranks enter it together: the cost of
    moving the gradients, without the wait for a slower rank that a step's sync includes."""
    from mpi4py import MPI

    from jitgrad.distributed import allreduce_gradients
    seconds = []
    for _ in range(repeats):
        MPI.COMM_WORLD.Barrier()
        start = time.perf_counter()
        allreduce_gradients(params)
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def run_config(ranks, threads, args):
    from jitgrad.distributed import mpiexec_path
    command = [sys.executable, "-m", "benchmarks.distributed_scaling", "--worker", "--ranks",
               str(ranks), "--threads", str(threads), "--steps", str(args.steps), "--dtypes", *args.dtypes]
    if ranks > 1:
        command = [mpiexec_path(), "-n", str(ranks), *command]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=root).stdout
    return {(r["network"], r["dtype"]): r for r in map(json.loads, output.splitlines())}


def best_of(runs):
    """Per (network, dtype), the run whose step was fastest."""
    runs = list(runs)
    return {key: min((run[key] for run in runs), key=lambda r: r["step"]) for key in runs[0]}


def measured_table(results, dtypes):
    one, two, control = (results[name] for name, _, _ in CONFIGS)
    rows = ["| network | dtype | parameters | 1 process x 2 threads | 2 ranks x 1 thread "
            "| of which gradient sync | allreduce alone | speed-up | 1 process x 1 thread |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, (sizes, _) in NETWORKS.items():
        for dtype in dtypes:
            a, b = one[name, dtype], two[name, dtype]
            rows.append(f"| {name} | {dtype} | {parameter_count(sizes):,} | {a['step'] * 1e3:.2f} ms "
                        f"| {b['step'] * 1e3:.2f} ms | {b['sync'] * 1e3:.2f} ms "
                        f"| {b['allreduce'] * 1e3:.2f} ms "
                        f"| {a['step'] / b['step']:.2f}x | {control[name, dtype]['step'] * 1e3:.2f} ms |")
    return "\n".join(rows)


def cost_model_table(results, dtypes):
    """Per network and dtype: the bytes each machine sends (and receives) per step in a ring
    allreduce, 2 (N - 1) / N x parameter bytes, and the link bandwidth at which that takes as
    long as the step's computation, t1 / N, where t1 is this machine's best time for the
    global batch (either configuration)."""
    rows = ["| network | dtype | parameter bytes | allreduce per machine per step, N = 8 | t1 (one "
            "machine, best) | " + " | ".join(f"break-even bandwidth, N = {n}" for n in MACHINES) + " |",
            "|---|---|---:|---:|---:|" + "---:|" * len(MACHINES)]
    for name, (sizes, _) in NETWORKS.items():
        for dtype in dtypes:
            size = parameter_count(sizes) * np.dtype(dtype).itemsize
            t1 = min(config[name, dtype]["step"] for config in results.values())
            volume = [2 * (n - 1) / n * size for n in MACHINES]
            bandwidth = [v / (t1 / n) for v, n in zip(volume, MACHINES)]
            rows.append(f"| {name} | {dtype} | {size / 1e6:.2f} MB | {volume[2] / 1e6:.2f} MB "
                        f"| {t1 * 1e3:.1f} ms | " + " | ".join(f"{b / 1e9:.2f} GB/s" for b in bandwidth)
                        + " |")
    links = ", ".join(f"{link} = {rate / 1e9:g} GB/s" for link, rate in LINKS.items())
    return "\n".join(rows) + f"\n\nFor comparison: {links}."


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration, in turn")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ranks", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    load = os.getloadavg()[0]
    rounds = [{name: run_config(ranks, threads, args) for name, ranks, threads in CONFIGS}
              for _ in range(args.rounds)]
    results = {name: best_of(round[name] for round in rounds) for name, _, _ in CONFIGS}
    print(f"Median time per training step (best of {args.rounds} rounds), {os.cpu_count()} cores, "
          f"{args.steps} timed steps; "
          f"load average {load:.1f} before and {os.getloadavg()[0]:.1f} after:\n")
    print(measured_table(results, args.dtypes))
    print("\nCost model for N machines like this one, each computing its 1/N of the global "
          "batch in t1 / N:\n")
    print(cost_model_table(results, args.dtypes))


if __name__ == "__main__":
    main()
