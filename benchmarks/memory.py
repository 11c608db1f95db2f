"""Peak memory of a training step per implementation, as a Markdown table.

    python -m benchmarks.memory [--workloads mlp_small ...] [--dtypes float32 ...]

Each (workload, dtype, implementation) runs in a fresh Python process, so that no other
model, allocator cache or thread pool is counted. The process imports what it needs (jitgrad
warmed up, torch), builds the model and data, then, from ``/proc/self/status`` (Linux):

- *built*: its resident memory (VmRSS) once the model and data exist;
- the high-water mark (VmHWM) is reset to that (``/proc/self/clear_refs``), so the transient
  memory of building does not count, and one training step runs;
- *step peak*: VmHWM after that step and 5 more, above *built*: the most the training steps
  ever held beyond the model and data (gradients, activations, temporaries, allocator and BLAS
  buffers);
- *growth after step 1*: how much VmHWM still rose during the 5 later steps (0 when every
  step needs the same memory);
- *kept*: VmRSS after the steps, above *built*: what stays between steps (gradient buffers,
  memory the allocator keeps for reuse).
"""
import argparse
import json
import re
import subprocess
import sys

from .report import markdown
from .workloads import DTYPES, IMPLEMENTATIONS, WORKLOADS, build_step

LATER_STEPS = 5


def status_kib(field):
    """A memory field of /proc/self/status ("VmRSS", "VmHWM"), in KiB."""
    with open("/proc/self/status") as status:
        return int(re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE).group(1))


def reset_high_water_mark():
    """Set VmHWM to the current VmRSS (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def measure(workload, implementation, dtype):
    """The memory figures (MiB) of one configuration, measured in this process."""
    if implementation == "jitgrad":
        import jitgrad
        jitgrad.warmup(progress=False)
    step = build_step(WORKLOADS[workload], implementation, dtype)
    built = status_kib("VmRSS")
    reset_high_water_mark()
    step()
    after_first = status_kib("VmHWM")
    for _ in range(LATER_STEPS):
        step()
    peak, kept = status_kib("VmHWM"), status_kib("VmRSS")
    return {"built": built / 1024, "step peak": (peak - built) / 1024,
            "growth after step 1": (peak - after_first) / 1024, "kept": (kept - built) / 1024}


def measure_in_subprocess(workload, implementation, dtype):
    """``measure`` run by a fresh ``python -m benchmarks.memory --child``; None if it failed
    (torch missing, say), with its stderr passed on."""
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--child", workload, implementation, dtype],
        capture_output=True, text=True)
    if child.returncode:
        print(f"{workload} {implementation} {dtype} failed:\n{child.stderr}", file=sys.stderr)
        return None
    return json.loads(child.stdout.splitlines()[-1])


def table(results):
    """Markdown for {(workload, dtype, implementation): figures or None}."""
    columns = ["built", "step peak", "growth after step 1", "kept"]
    lines = [[*key, *(["–"] * len(columns) if figures is None
                      else [f"{figures[c]:.1f}" for c in columns])]
             for key, figures in results.items()]
    return markdown(["workload", "dtype", "implementation", *(f"{c} (MiB)" for c in columns)],
                    lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--implementations", nargs="+", choices=IMPLEMENTATIONS,
                        default=list(IMPLEMENTATIONS))
    parser.add_argument("--child", nargs=3, metavar=("WORKLOAD", "IMPLEMENTATION", "DTYPE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    results = {(w, d, i): measure_in_subprocess(w, i, d)
               for w in args.workloads for d in args.dtypes for i in args.implementations}
    print(table(results))


if __name__ == "__main__":
    main()
