"""Runs the PyTorch corpus (tests/pytorch_corpus/*.py) under torch and, with only its import
lines rewritten, under jitgrad; each in its own subprocess.

Every corpus script reads its seed from ``JITGRAD_CORPUS_SEED`` and prints its final metric
as the last ``RESULT <name>=<value>`` line. ``python -m tests.helpers.pytorch_corpus
--measure`` runs each script under torch with several seeds and writes their spread to
tests/pytorch_corpus/spread.json (what tests/test_pytorch_corpus.py compares jitgrad with);
``python -m tests.helpers.pytorch_corpus --jitgrad`` prints, per script, jitgrad's result
or the first error it raises, and the torch names it uses (``torch.x.y`` through its import
aliases, read from its source) that jitgrad lacks under the same path.
"""
import argparse
import ast
import importlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "pytorch_corpus"
SPREAD_FILE = CORPUS / "spread.json"
SEEDS = (0, 1, 2, 3, 4)
TIMEOUT = 300  # seconds per run; a script takes a few on a quiet machine

_IMPORT_LINE = re.compile(r"^(\s*)(import|from)\s+torch\b")
_RESULT_LINE = re.compile(r"^RESULT (\w+)=(\S+)$")


def scripts():
    """The corpus scripts' paths, by name."""
    return sorted(CORPUS.glob("*.py"))


def rewrite_imports(source):
    """``source`` with its torch import lines turned into jitgrad's, and nothing else:
    ``import torch`` -> ``import jitgrad as torch``, ``import torch.nn as nn`` ->
    ``import jitgrad.nn as nn``, ``from torch.utils.data import X`` -> ``from
    jitgrad.utils.data import X``. Raises ValueError for an import it cannot rewrite so
    (``import torch.nn`` without ``as``, which would bind ``torch`` to jitgrad's package
    only through the submodule)."""
    lines = []
    for line in source.splitlines(keepends=True):
        if _IMPORT_LINE.match(line):
            stripped = line.strip()
            if re.fullmatch(r"import torch", stripped):
                line = line.replace("import torch", "import jitgrad as torch", 1)
            elif stripped.startswith("import torch.") and " as " not in stripped:
                raise ValueError(f"rewrite_imports: cannot rewrite {stripped!r}; write "
                                 "'import torch' or 'import torch.x as y'")
            else:
                line = re.sub(r"\btorch\b", "jitgrad", line, count=1)
        lines.append(line)
    return "".join(lines)


def torch_names(source):
    """The dotted torch names ``source`` uses through its import aliases (``nn.Linear`` after
    ``from torch import nn`` is ``torch.nn.Linear``); Tensor methods are not seen."""
    tree = ast.parse(source)
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update((a.asname or a.name, a.name) for a in node.names
                           if a.name.split(".")[0] == "torch")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            aliases.update((a.asname or a.name, f"{node.module}.{a.name}") for a in node.names)
    names = set()
    for node in ast.walk(tree):
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if chain and isinstance(node, ast.Name) and node.id in aliases:
            names.add(".".join([aliases[node.id], *reversed(chain)]))
    return names


def missing_in_jitgrad(names):
    """Those of the torch ``names`` whose jitgrad twin (``torch`` renamed) does not resolve,
    or resolves to a module where torch's is not one (``jitgrad.tensor`` the module for
    ``torch.tensor`` the function), sorted; only the shortest missing prefix of each
    (``torch.nn`` rather than all of ``torch.nn.*``)."""
    missing = set()
    for name in sorted(names, key=len):
        parts = ["jitgrad", *name.split(".")[1:]]
        if any(".".join(parts[:i]) in missing for i in range(2, len(parts))):
            continue
        found, target = _resolve(parts)
        if not found or (isinstance(target, types.ModuleType) and _is_function(name)):
            missing.add(".".join(parts))
    return sorted(missing)


def _resolve(parts):
    """(whether the dotted name resolves, importing submodules on the way; what it names)."""
    try:
        target = importlib.import_module(parts[0])
    except ImportError:
        return False, None
    for i, part in enumerate(parts[1:], start=2):
        if hasattr(target, part):
            target = getattr(target, part)
            continue
        try:
            target = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            return False, None
    return True, target


def _is_function(torch_name):
    """Whether torch's ``torch_name`` is something other than a module (False when torch is
    not installed: then a module of that name counts as present)."""
    found, target = _resolve(torch_name.split("."))
    return found and not isinstance(target, types.ModuleType)


# Runs a script as ``python script.py`` would, with the checkout's jitgrad only: the finder an
# editable install (pip install -e) adds would otherwise supply the submodules this checkout
# lacks (jitgrad.nn) from the installed tree, mixing two versions.
_LAUNCHER = """import runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if not getattr(f, "__module__", "").startswith("__editable__")]
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _environment(seed):
    env = dict(os.environ, JITGRAD_CORPUS_SEED=str(seed),
               # one thread for either library: comparable wall times on a shared machine
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run(path, library="torch", seed=0, timeout=TIMEOUT):
    """Run the script at ``path`` under ``library`` ("torch", or "jitgrad": its imports
    rewritten) with ``seed``. Returns a dict: ``result`` (the RESULT value, or None),
    ``seconds`` (wall time of the subprocess, Python's start-up and imports included),
    ``cpu_seconds`` (its user and system time: steadier than wall time on a busy machine),
    ``returncode``, ``error`` (the last line of stderr when it failed) and ``stderr``."""
    path = Path(path)
    source = path.read_text()
    with tempfile.TemporaryDirectory() as scratch:
        if library == "jitgrad":
            target = Path(scratch) / path.name
            target.write_text(rewrite_imports(source))
        elif library == "torch":
            target = path
        else:
            raise ValueError(f"run: library must be 'torch' or 'jitgrad', got {library!r}")
        start, cpu_start = time.perf_counter(), _children_cpu_seconds()
        try:
            done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(target)], cwd=scratch,
                                  env=_environment(seed), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return dict(result=None, seconds=timeout, cpu_seconds=None, returncode=None,
                        error=f"timed out after {timeout} s", stderr="")
        seconds = time.perf_counter() - start
        cpu_seconds = _children_cpu_seconds() - cpu_start
    results = [m for m in map(_RESULT_LINE.match, done.stdout.splitlines()) if m]
    result = float(results[-1].group(2)) if results and done.returncode == 0 else None
    error = None
    if result is None:
        lines = done.stderr.strip().splitlines()
        error = lines[-1] if lines else f"no RESULT line (exit code {done.returncode})"
    return dict(result=result, seconds=seconds, cpu_seconds=cpu_seconds,
                returncode=done.returncode, error=error, stderr=done.stderr)


def _children_cpu_seconds():
    """User and system time of this process's finished children (runs are sequential)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(paths, seeds=SEEDS):
    """{script name: its torch results over ``seeds``, their mean and standard deviation,
    and the median wall and CPU times}; raises if a script fails under torch."""
    spread = {}
    for path in paths:
        runs = [run(path, "torch", seed) for seed in seeds]
        failed = [r for r in runs if r["result"] is None]
        if failed:
            raise RuntimeError(f"{path.name} failed under torch: {failed[0]['error']}")
        values = [r["result"] for r in runs]
        spread[path.stem] = dict(
            seeds=list(seeds), values=values, mean=statistics.fmean(values),
            std=statistics.stdev(values), seconds=statistics.median(r["seconds"] for r in runs),
            cpu_seconds=statistics.median(r["cpu_seconds"] for r in runs))
        print(path.stem, spread[path.stem], flush=True)
    return spread


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true",
                        help="run every script under torch with each seed; write spread.json")
    parser.add_argument("--jitgrad", action="store_true",
                        help="run every script under jitgrad; print its result or first error")
    parser.add_argument("names", nargs="*", help="only these scripts (default: all)")
    args = parser.parse_args()
    paths = [p for p in scripts() if not args.names or p.stem in args.names]
    if args.measure:
        spread = json.loads(SPREAD_FILE.read_text()) if SPREAD_FILE.exists() else {}
        spread.update(measure(paths))
        SPREAD_FILE.write_text(json.dumps(spread, indent=1, sort_keys=True) + "\n")
    if args.jitgrad:
        for path in paths:
            outcome = run(path, "jitgrad")
            missing = missing_in_jitgrad(torch_names(path.read_text()))
            print(f"{path.stem}: {outcome['result']} ({outcome['seconds']:.1f} s, "
                  f"CPU {outcome['cpu_seconds']:.1f} s) "
                  f"{outcome['error'] or ''}\n    missing: {', '.join(missing)}", flush=True)


if __name__ == "__main__":
    main()
