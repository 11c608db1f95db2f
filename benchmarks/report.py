"""Markdown tables from a pytest-benchmark JSON file written by ``pytest benchmarks/``.

    python -m benchmarks.report bench.json

Prints, for each workload and dtype, the median milliseconds per training step of jitgrad,
the NumPy reference, PyTorch and the GEMM-only floor with jitgrad's ratios to each; the same
ratios from each benchmark's fastest round (less sensitive to other processes on a shared
machine); the GEMM peak and ``mlp_wide`` as a fraction of it; and each kernel against NumPy.
"""
import json
import statistics
import sys

IMPLEMENTATIONS = ("jitgrad", "numpy", "torch", "gemm_floor")
LABELS = {"jitgrad": "jitgrad", "numpy": "NumPy ref", "torch": "PyTorch",
          "gemm_floor": "GEMM floor"}


def load(path):
    """The JSON's benchmarks as dicts of their ``extra_info`` plus ``stats``, and its header."""
    with open(path) as file:
        data = json.load(file)
    rows = [{**bench["extra_info"], "stats": bench["stats"], "name": bench["fullname"]}
            for bench in data["benchmarks"]]
    return rows, data


def fastest_runs(paths):
    """The rows of several runs, keeping for each benchmark the run with the lowest median
    (on a shared machine other load only ever adds time), and the first run's header."""
    best, header = {}, load(paths[0])[1]
    for path in paths:
        rows, _ = load(path)
        for row in rows:
            if row["name"] not in best or median(row) < median(best[row["name"]]):
                best[row["name"]] = row
    return list(best.values()), header


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


def step_times(steps, stat):
    """{(workload, dtype): {implementation: seconds}} for statistic ``stat`` ("median", "min")."""
    times = {}
    for row in steps:
        times.setdefault((row["workload"], row["dtype"]), {})[row["implementation"]] = \
            row["stats"][stat]
    return times


def foreign_cores(steps):
    """{(workload, dtype): mean cores other processes kept busy during that group}."""
    loads = {}
    for row in steps:
        if row.get("foreign_cores") is not None:
            loads.setdefault((row["workload"], row["dtype"]), []).append(row["foreign_cores"])
    return {group: statistics.mean(values) for group, values in loads.items()}


def step_table(steps, stat):
    """Times (ms) and jitgrad's ratios per workload and dtype, from statistic ``stat``."""
    loads = foreign_cores(steps)
    header = ["workload", "dtype", *(f"{LABELS[i]} ms" for i in IMPLEMENTATIONS),
              "jitgrad / PyTorch", "jitgrad / NumPy ref", "jitgrad / floor",
              "floor / jitgrad", "other load (cores)"]
    lines = []
    for (workload, dtype), t in step_times(steps, stat).items():
        ours, floor = t.get("jitgrad"), t.get("gemm_floor")
        lines.append([workload, dtype, *(cell(t.get(i), 1e3) for i in IMPLEMENTATIONS),
                      ratio(ours, t.get("torch")), ratio(ours, t.get("numpy")),
                      ratio(ours, floor), ratio(floor, ours), cell(loads.get((workload, dtype)))])
    return markdown(header, lines)


def peak_gflops(peaks):
    """{dtype: GFLOP/s of the square product's median round}."""
    return {row["dtype"]: row["flops"] / row["stats"]["median"] / 1e9 for row in peaks}


def peak_table(peaks):
    header = ["dtype", "size", "median ms", "GFLOP/s (median)", "GFLOP/s (fastest round)"]
    lines = [[row["dtype"], f"{row['size']}³", cell(row["stats"]["median"], 1e3),
              f"{row['flops'] / row['stats']['median'] / 1e9:.0f}",
              f"{row['flops'] / row['stats']['min'] / 1e9:.0f}"] for row in peaks]
    return markdown(header, lines)


def fraction_of_peak_table(steps, peaks, workload="mlp_wide"):
    """Each implementation's useful GEMM rate on ``workload`` (the step's necessary products'
    flops over its median time) as a fraction of the GEMM peak."""
    peak = peak_gflops(peaks)
    header = ["workload", "dtype", "implementation", "useful GFLOP/s", "fraction of peak"]
    lines = []
    for row in steps:
        if row["workload"] != workload or row["dtype"] not in peak:
            continue
        rate = row["gemm_flops"] / row["stats"]["median"] / 1e9
        lines.append([workload, row["dtype"], LABELS[row["implementation"]], f"{rate:.0f}",
                      f"{rate / peak[row['dtype']]:.0%}"])
    return markdown(header, lines)


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


def report(*paths):
    """The whole Markdown report for the JSON files at ``paths`` (several: runs of the same
    benchmarks, of which each benchmark's fastest is reported)."""
    rows, data = fastest_runs(paths)
    steps, peaks, kernels = (of_kind(rows, kind) for kind in ("step", "peak", "kernel"))
    commit = data.get("commit_info", {})
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {})
    sections = [f"Measured {data.get('datetime', '?')} on {cpu.get('brand_raw', '?')} "
                f"({cpu.get('count', '?')} cores, OPENBLAS_NUM_THREADS "
                f"{machine.get('openblas_num_threads', '?')}), commit {commit.get('id', '?')[:7]}"
                f"{' (dirty)' if commit.get('dirty') else ''}"
                f"{f'; each benchmark the lowest median of {len(paths)} runs' if len(paths) > 1 else ''}"
                ". Other load: the cores other "
                "processes kept busy meanwhile; where it is well above 0, times that use a "
                "multi-threaded BLAS are unreliable (its threads wait for each other while the "
                "scheduler runs the other processes)."]
    if steps:
        sections += ["### Training step, median ms", step_table(steps, "median"),
                     "### Training step, fastest round ms", step_table(steps, "min")]
    if peaks:
        sections += ["### GEMM peak (Numba np.dot, SciPy's OpenBLAS)", peak_table(peaks)]
    if steps and peaks:
        sections += ["### mlp_wide against the GEMM peak", fraction_of_peak_table(steps, peaks)]
    if kernels:
        sections += ["### Kernels against NumPy, median", kernel_table(kernels)]
    return "\n\n".join(sections)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit("usage: python -m benchmarks.report BENCH.json [MORE_RUNS.json ...]")
    print(report(*argv))


if __name__ == "__main__":
    main()
