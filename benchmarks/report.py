"""Markdown tables from pytest-benchmark JSON files written by ``pytest benchmarks/``.

    python -m benchmarks.report bench.json [more_runs.json ...]
    python -m benchmarks.report --output docs/performance.md bench.json [...]   (the docs page)

Prints, for each workload and dtype, the milliseconds per training step of jitgrad, the NumPy
references, PyTorch eager, torch.compile, jax.jit and the GEMM-only floor, and jitgrad's ratios
to each and to the best peer (the fastest of PyTorch, torch.compile and jax.jit in each pass);
the compiled peers' compile times apart; last, jitgrad's step through ``jitgrad.compile`` and
its ratios to the best peer, to eager jitgrad and to the floor. A ratio is taken
within each pass (``benchmarks/test_steps.py`` runs every implementation once per pass, side by
side) and the median over the passes of all the files is reported, so the machine's drift
between passes cancels; times are medians over the passes. Then the same from each benchmark's
fastest round, the GEMM peak and ``mlp_wide`` as a fraction of it, and each kernel against
NumPy (of several files, each kernel's lowest median).
"""
import argparse
import json
import statistics

IMPLEMENTATIONS = ("jitgrad", "numpy", "numpy_printed", "torch", "torch_compile", "jax",
                   "gemm_floor")
LABELS = {"jitgrad": "jitgrad", "numpy": "NumPy ref", "numpy_printed": "book as printed",
          "torch": "PyTorch", "torch_compile": "torch.compile", "jax": "jax.jit",
          "gemm_floor": "GEMM floor", "jitgrad_compiled": "jitgrad.compile"}
#: jitgrad's step through ``jitgrad.compile``: its columns come last in the step table.
JITGRAD_COMPILED = "jitgrad_compiled"
#: The frameworks jitgrad is held against: its ratio to the fastest of them in each pass.
PEERS = ("torch", "torch_compile", "jax")


def load(path, source=0):
    """The JSON's benchmarks as dicts of their ``extra_info`` plus ``stats``, ``name`` and
    ``source`` (which file), and its header."""
    with open(path) as file:
        data = json.load(file)
    rows = [{**bench["extra_info"], "stats": bench["stats"], "name": bench["fullname"],
             "source": source} for bench in data["benchmarks"]]
    return rows, data


def load_runs(paths):
    """The rows of all the files at ``paths``, and the first file's header."""
    loaded = [load(path, source) for source, path in enumerate(paths)]
    return [row for rows, _ in loaded for row in rows], loaded[0][1]


def fastest(rows):
    """Of the rows of each benchmark (one per file), the one with the lowest median: on a
    shared machine other load only ever adds time."""
    best = {}
    for row in rows:
        if row["name"] not in best or median(row) < median(best[row["name"]]):
            best[row["name"]] = row
    return list(best.values())


def of_kind(rows, kind):
    return [row for row in rows if row.get("kind") == kind]


def index(rows, *keys):
    """{(row[key] for key in keys): row}."""
    return {tuple(row[key] for key in keys): row for row in rows}


def cell(value, scale=1.0, digits=2):
    """``value * scale`` for a table cell; a dash where there is no value."""
    return "–" if value is None else f"{value * scale:.{digits}f}"


def ratio(numerator, denominator):
    return cell(None if numerator is None or denominator is None else numerator / denominator)


def median(row):
    return None if row is None else row["stats"]["median"]


def markdown(header, lines):
    """A Markdown table of ``header`` and ``lines`` (lists of cells)."""
    rule = ["---"] * len(header)
    return "\n".join("| " + " | ".join(map(str, cells)) + " |"
                     for cells in [header, rule, *lines])


def step_passes(steps, stat):
    """{(workload, dtype): {pass: {implementation: seconds}}} for statistic ``stat`` ("median",
    "min"); a pass is (file, run), and files without runs count as one pass each."""
    groups = {}
    for row in steps:
        one_pass = groups.setdefault((row["workload"], row["dtype"]), {}).setdefault(
            (row["source"], row.get("run", 1)), {})
        one_pass[row["implementation"]] = row["stats"][stat]
    return groups


def paired_ratios(passes, numerator, denominator):
    """numerator / denominator within each pass that measured both."""
    return [t[numerator] / t[denominator] for t in passes.values()
            if numerator in t and denominator in t]


def with_best_peer(passes):
    """``passes`` with "best_peer" added to each pass: the time of its fastest peer."""
    return {key: {**times, "best_peer": min(times[p] for p in PEERS if p in times)}
            if any(p in times for p in PEERS) else times for key, times in passes.items()}


def best_peer_name(passes):
    """The peer fastest in the most passes."""
    wins = [min((p for p in PEERS if p in t), key=t.get) for t in passes.values()
            if any(p in t for p in PEERS)]
    return LABELS[max(set(wins), key=wins.count)] if wins else "–"


def median_over(passes, implementation):
    times = [t[implementation] for t in passes.values() if implementation in t]
    return statistics.median(times) if times else None


def median_ratio(passes, numerator, denominator):
    ratios = paired_ratios(passes, numerator, denominator)
    return cell(statistics.median(ratios) if ratios else None)


def ratio_range(passes, numerator, denominator):
    ratios = paired_ratios(passes, numerator, denominator)
    return f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "–"


def foreign_cores(steps):
    """{(workload, dtype): mean cores other processes kept busy during that group}."""
    loads = {}
    for row in steps:
        if row.get("foreign_cores") is not None:
            loads.setdefault((row["workload"], row["dtype"]), []).append(row["foreign_cores"])
    return {group: statistics.mean(values) for group, values in loads.items()}


def step_table(steps, stat):
    """Times (ms, medians over passes) and jitgrad's ratios (medians of the ratios within each
    pass) per workload and dtype, from statistic ``stat``."""
    loads = foreign_cores(steps)
    header = ["workload", "dtype", *(f"{LABELS[i]} ms" for i in IMPLEMENTATIONS),
              "jitgrad / best peer", "(range over passes)", "best peer",
              "jitgrad / PyTorch", "(range over passes)", "jitgrad / NumPy ref",
              "jitgrad / book as printed", "jitgrad / floor", "floor / jitgrad", "passes",
              "other load (cores)", "jitgrad.compile ms", "compiled / best peer",
              "compiled / jitgrad", "compiled / floor"]
    lines = []
    for group, passes in step_passes(steps, stat).items():
        passes = with_best_peer(passes)
        lines.append([*group, *(cell(median_over(passes, i), 1e3) for i in IMPLEMENTATIONS),
                      median_ratio(passes, "jitgrad", "best_peer"),
                      ratio_range(passes, "jitgrad", "best_peer"), best_peer_name(passes),
                      median_ratio(passes, "jitgrad", "torch"),
                      ratio_range(passes, "jitgrad", "torch"),
                      median_ratio(passes, "jitgrad", "numpy"),
                      median_ratio(passes, "jitgrad", "numpy_printed"),
                      median_ratio(passes, "jitgrad", "gemm_floor"),
                      median_ratio(passes, "gemm_floor", "jitgrad"), len(passes),
                      cell(loads.get(group)), cell(median_over(passes, JITGRAD_COMPILED), 1e3),
                      median_ratio(passes, JITGRAD_COMPILED, "best_peer"),
                      median_ratio(passes, JITGRAD_COMPILED, "jitgrad"),
                      median_ratio(passes, JITGRAD_COMPILED, "gemm_floor")])
    return markdown(header, lines)


def peak_gflops(peaks):
    """{dtype: GFLOP/s of the square product's median round, on the fastest backend}."""
    best = {}
    for row in peaks:
        rate = row["flops"] / row["stats"]["median"] / 1e9
        best[row["dtype"]] = max(rate, best.get(row["dtype"], 0.0))
    return best


def peak_table(peaks):
    header = ["dtype", "backend", "size", "median ms", "GFLOP/s (median)", "GFLOP/s (fastest round)"]
    lines = [[row["dtype"], row.get("backend", "openblas"), f"{row['size']}³",
              cell(row["stats"]["median"], 1e3),
              f"{row['flops'] / row['stats']['median'] / 1e9:.0f}",
              f"{row['flops'] / row['stats']['min'] / 1e9:.0f}"] for row in peaks]
    return markdown(header, lines)


def fraction_of_peak_table(steps, peaks, workload="mlp_wide"):
    """Each implementation's useful GEMM rate on ``workload`` (the step's necessary products'
    flops over its median time over the passes) as a fraction of the GEMM peak."""
    peak = peak_gflops(peaks)
    flops = {row["workload"]: row["gemm_flops"] for row in steps}
    header = ["workload", "dtype", "implementation", "useful GFLOP/s", "fraction of peak"]
    lines = []
    for (name, dtype), passes in step_passes(steps, "median").items():
        if name != workload or dtype not in peak:
            continue
        for implementation in IMPLEMENTATIONS:
            seconds = median_over(passes, implementation)
            if seconds is not None:
                rate = flops[name] / seconds / 1e9
                lines.append([name, dtype, LABELS[implementation], f"{rate:.0f}",
                              f"{rate / peak[dtype]:.0%}"])
    return markdown(header, lines)


def compile_table(steps):
    """Seconds each compiled peer took to compile each workload's step (once per run)."""
    seconds = {}
    for row in steps:
        if row.get("compile_seconds") is not None:
            seconds.setdefault((row["workload"], row["dtype"]), {})[row["implementation"]] = row["compile_seconds"]
    peers = sorted({i for times in seconds.values() for i in times}, key=IMPLEMENTATIONS.index)
    lines = [[*group, *(cell(times.get(i), 1, 1) for i in peers)] for group, times in seconds.items()]
    return markdown(["workload", "dtype", *(f"{LABELS[i]} s" for i in peers)], lines)


def kernel_table(kernels):
    times = index(kernels, "kernel", "dtype", "implementation")
    header = ["kernel", "dtype", "jitgrad µs", "NumPy µs", "jitgrad / NumPy"]
    lines = []
    for kernel, dtype in dict.fromkeys((row["kernel"], row["dtype"]) for row in kernels):
        ours = median(times.get((kernel, dtype, "jitgrad")))
        theirs = median(times.get((kernel, dtype, "numpy")))
        lines.append([kernel, dtype, cell(ours, 1e6, 1), cell(theirs, 1e6, 1),
                      ratio(ours, theirs)])
    return markdown(header, lines)


#: The steps of benchmarks/test_bf16_steps.py, float32 parameters all: each library in
#: float32 and with its forward and loss under its autocast.
BF16_STEPS = {"jitgrad_f32": "jitgrad f32", "jitgrad_bf16": "jitgrad bf16",
              "torch_f32": "PyTorch f32", "torch_bf16": "PyTorch autocast"}


def bf16_table(rows, peaks):
    """Per workload: the four bf16 benchmark steps' times (ms, medians over passes), jitgrad
    bf16's ratios to PyTorch's autocast and to its own float32 step (medians of the ratios
    within each pass, and their range), its useful GFLOP/s and their fraction of the bf16
    GEMM's 2048³ peak."""
    peak = peak_gflops(peaks).get("bfloat16")
    groups = {}
    for row in rows:
        groups.setdefault(row["workload"], {}).setdefault(
            (row["source"], row.get("run", 1)), {})[row["implementation"]] = row["stats"]["median"]
    header = ["workload", *(f"{label} ms" for label in BF16_STEPS.values()),
              "jitgrad bf16 / PyTorch autocast", "(range)", "jitgrad bf16 / jitgrad f32",
              "(range)", "jitgrad bf16 GFLOP/s", "of the bf16 peak", "passes"]
    flops = {row["workload"]: row["gemm_flops"] for row in rows}
    lines = []
    for workload, passes in groups.items():
        seconds = median_over(passes, "jitgrad_bf16")
        rate = None if seconds is None else flops[workload] / seconds / 1e9
        lines.append([workload, *(cell(median_over(passes, i), 1e3) for i in BF16_STEPS),
                      median_ratio(passes, "jitgrad_bf16", "torch_bf16"),
                      ratio_range(passes, "jitgrad_bf16", "torch_bf16"),
                      median_ratio(passes, "jitgrad_bf16", "jitgrad_f32"),
                      ratio_range(passes, "jitgrad_bf16", "jitgrad_f32"),
                      cell(rate, 1, 0), "–" if rate is None or not peak else f"{rate / peak:.0%}",
                      len(passes)])
    return markdown(header, lines)


def report(*paths):
    """The whole Markdown report for the JSON files at ``paths`` (several: runs of the same
    benchmarks, whose passes are pooled)."""
    rows, data = load_runs(paths)
    steps = of_kind(rows, "step")
    peaks, kernels = (of_kind(fastest(rows), kind) for kind in ("peak", "kernel"))
    commit = data.get("commit_info", {})
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {})
    sections = [f"Measured {data.get('datetime', '?')} on {cpu.get('brand_raw', '?')} "
                f"({cpu.get('count', '?')} cores, OPENBLAS_NUM_THREADS "
                f"{machine.get('openblas_num_threads', '?')}), commit {commit.get('id', '?')[:7]}"
                f"{' (dirty)' if commit.get('dirty') else ''}"
                f"{f'; {len(paths)} runs' if len(paths) > 1 else ''}"
                ". Other load: the cores other "
                "processes kept busy meanwhile; where it is well above 0, times that use a "
                "multi-threaded BLAS are unreliable (its threads wait for each other while the "
                "scheduler runs the other processes)."]
    if steps:
        sections += ["### Training step, median ms (ratios: median over passes of the ratio "
                     "within a pass)", step_table(steps, "median"),
                     "### Training step, fastest round ms", step_table(steps, "min")]
        if any(row.get("compile_seconds") is not None for row in steps):
            sections += ["### Compile time of the compiled peers (not in the step times)",
                         compile_table(steps)]
    bf16_steps = of_kind(rows, "bf16_step")
    if bf16_steps:
        sections += ["### bfloat16 mixed precision: each library's step in float32 and under "
                     "its autocast (float32 parameters, SGD)", bf16_table(bf16_steps, peaks)]
    if peaks:
        sections += ["### GEMM peak (jitgrad's gemm on each backend)", peak_table(peaks)]
    if steps and peaks:
        sections += ["### mlp_wide against the GEMM peak", fraction_of_peak_table(steps, peaks)]
    if kernels:
        sections += ["### Kernels against NumPy, median", kernel_table(kernels)]
    return "\n\n".join(sections)


#: How docs/performance.md is made, stated at its top.
RUN_COMMANDS = ("pytest benchmarks/test_steps.py benchmarks/test_pytorch_style.py "
                "benchmarks/test_gemm_peak.py benchmarks/test_bf16_steps.py --benchmark-only "
                "--benchmark-json=RUN.json")


def performance_page(paths):
    """docs/performance.md: how it was made, then the report of the runs at ``paths``."""
    return "\n\n".join([
        "# Performance",
        "Generated, never typed: measure with\n\n"
        f"    {RUN_COMMANDS}\n\n"
        "then write this page with\n\n"
        "    python -m benchmarks.report --output docs/performance.md RUN.json [MORE_RUNS.json ...]",
        "The workloads are in `benchmarks/workloads.py` and `benchmarks/pytorch_style.py`; "
        "how the GEMM backend is chosen, the profiler and the compiled peers are in "
        "[performance-gemm.md](performance-gemm.md).",
        report(*paths)]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--output", metavar="PAGE.md",
                        help="write the docs page (performance.md) here instead of printing")
    parser.add_argument("runs", nargs="+", metavar="BENCH.json",
                        help="pytest-benchmark JSON files (--benchmark-json)")
    args = parser.parse_args(argv)
    if args.output is None:
        print(report(*args.runs))
        return
    with open(args.output, "w") as page:
        page.write(performance_page(args.runs))


if __name__ == "__main__":
    main()
