"""What ``jitgrad.compile``'s recording costs, in warm eager steps of the same workload.

    python -m benchmarks.record_cost [--workloads mlp_small,lstm_char_e128] [--rounds 5]

A compiled step's first two calls run the step eagerly while recording it. Each round builds
fresh steps (new parameters, so nothing is warm but the kernels) and times, in warm eager
steps (the median of 50 after 20 more): the first two calls through ``jitgrad.compile``
(``record``) and, for reference, the first two eager calls (``eager first two``), which pay
the same first-touch costs. The difference is the recording's own bookkeeping. Medians over
the rounds, float32.
"""
import argparse
import statistics
import time

from benchmarks import workloads


def first_two_and_warm(workload, implementation):
    """(seconds of the first two calls, seconds of a warm call) of a fresh step."""
    step = workloads.build_step(workload, implementation, "float32")
    start = time.perf_counter()
    step()
    step()
    first_two = time.perf_counter() - start
    for _ in range(20):
        step()
    start = time.perf_counter()
    for _ in range(50):
        step()
    return first_two, (time.perf_counter() - start) / 50


def measure(workload, rounds):
    """Medians of (record, eager first two), each in warm eager steps."""
    first_two_and_warm(workload, "jitgrad")  # kernels loaded before the first round
    record, eager = [], []
    for _ in range(rounds):
        eager_first, warm = first_two_and_warm(workload, "jitgrad")
        compiled_first, _ = first_two_and_warm(workload, "jitgrad_compiled")
        record.append(compiled_first / warm)
        eager.append(eager_first / warm)
    return statistics.median(record), statistics.median(eager)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.record_cost",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp_small,lstm_char_e128")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print("| workload | record (warm eager steps) | eager first two | recording's own |")
    print("|---|---|---|---|")
    for name in args.workloads.split(","):
        record, eager = measure(workloads.WORKLOADS[name], args.rounds)
        print(f"| {name} | {record:.2f} | {eager:.2f} | {record - eager:.2f} |")


if __name__ == "__main__":
    main()
