"""Issue 14's ratios, with the implementations measured in turn for a fraction of a second
each, so that each ratio divides times taken about a second apart.

    python -m benchmarks.interleaved [--workloads mlp_small,mlp_large,lstm_char_e128]
                                     [--rounds 15] [--seconds 0.2] [--dtype float32]

Why: on this machine speed changes for seconds to minutes at a time: at times two busy
threads take 1.9 times as long as one (the second core is taken away), at others products on
two BLAS threads run 30% slower with both cores there (mlp_small's GEMM floor: 0.26 or
0.34 ms), and an eager step up to twice as slow (docs/speed-notes.md, "Benchmarks").
``benchmarks/test_steps.py`` measures each implementation for 0.75 s in a row (after 0.5 s of
warm-up), so such a spell can fall on one side of a ratio; it still measures what the report
tabulates.

Each round runs every implementation (jitgrad compiled and eager, the peers that are
installed, the GEMM floor) for ``--seconds``, in an order that rotates from round to round.
Ratios are taken within a round; the table gives their median over the rounds and range.
torch.compile is left out of the LSTM windows: it compiles their 25 unrolled steps for minutes.
"""
import argparse
import statistics
import time

from benchmarks import workloads
from benchmarks.report import PEERS

FLOOR = "gemm_floor"  # as benchmarks/test_steps.py and the report name it


def build(workload, dtype):
    """{implementation: step} of what is installed."""
    names = ["jitgrad_compiled", "jitgrad"]
    for peer in PEERS:
        if peer == "torch_compile" and isinstance(workload, workloads.CharLSTM):
            continue
        try:
            __import__(workloads.REQUIRES[peer])
        except ImportError:
            continue
        names.append(peer)
    steps = {name: workloads.build_step(workload, name, dtype) for name in names}
    steps[FLOOR] = workloads.build_floor(workload, dtype)
    return steps


def median_step(step, seconds):
    """The median seconds of ``step()`` run for about ``seconds`` (at least 3 times)."""
    times, end = [], time.perf_counter() + seconds
    while len(times) < 3 or time.perf_counter() < end:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(steps, rounds, seconds):
    """[{implementation: median seconds}] for ``rounds`` rounds."""
    names = list(steps)
    for step in steps.values():  # warm: recorded, generated, compiled
        for _ in range(20):
            step()
    results = []
    for index in range(rounds):
        order = names[index % len(names):] + names[:index % len(names)]
        results.append({name: median_step(steps[name], seconds) for name in order})
    return results


def ratios(times):
    """compiled / best peer, / floor and / eager jitgrad, and the best peer, of one round."""
    peers = {p: times[p] for p in PEERS if p in times}
    best = min(peers, key=peers.get) if peers else None
    compiled = times["jitgrad_compiled"]
    return {"compiled / best peer": compiled / peers[best] if best else None,
            "compiled / floor": compiled / times[FLOOR],
            "compiled / eager": compiled / times["jitgrad"], "best peer": best}


def summary(results):
    """{ratio: (median, lowest, highest) over the rounds}, and the peers that were best."""
    rounds = [ratios(times) for times in results]
    spans = {}
    for name in ("compiled / best peer", "compiled / floor", "compiled / eager"):
        values = [r[name] for r in rounds if r[name] is not None]
        if values:
            spans[name] = (statistics.median(values), min(values), max(values))
    return spans, sorted({r["best peer"] for r in rounds if r["best peer"]})


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.interleaved",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp_small,mlp_large,lstm_char_e128")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--dtype", default="float32", choices=workloads.DTYPES)
    args = parser.parse_args(argv)
    columns = ("compiled / best peer", "compiled / floor", "compiled / eager")
    print(f"| workload | rounds | {' | '.join(columns)} | best peer |")
    print("|---|---|---|---|---|---|")
    for name in args.workloads.split(","):
        results = measure(build(workloads.WORKLOADS[name], args.dtype), args.rounds, args.seconds)
        spans, peers = summary(results)
        cells = [f"{spans[c][0]:.2f} ({spans[c][1]:.2f}-{spans[c][2]:.2f})" if c in spans else "–"
                 for c in columns]
        print(f"| {name} | {len(results)} | {' | '.join(cells)} | {', '.join(peers) or '–'} |",
              flush=True)


if __name__ == "__main__":
    main()
