"""Numba's on-disk cache: NUMBA_CACHE_DIR, a read-only install, and concurrent warm-ups.

Each case runs jitgrad in fresh processes on a small graph (tanh forward and backward), so
that only two kernels per process need compiling.
"""
import glob
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SMALL_GRAPH = """
import numpy as np, jitgrad
from kernels import activations
x = jitgrad.Tensor(np.linspace(-2, 2, 7), autograd=True)
x.tanh().backward()
hits = activations.tanh.stats.cache_hits
print(repr(x.grad.data.tolist()), sum(hits.values()))
"""


def run_small_graph(env, pythonpath=ROOT):
    """(gradient printed, number of kernels loaded from the cache) of SMALL_GRAPH."""
    result = subprocess.run([sys.executable, "-c", SMALL_GRAPH], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": pythonpath, **env}, check=True,
                            cwd=pythonpath)  # `python -c` imports from its cwd first
    gradient, cache_hits = result.stdout.rsplit(" ", 1)
    return gradient, int(cache_hits)


def test_numba_cache_dir_is_honoured(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    first, first_hits = run_small_graph(env)
    assert glob.glob(f"{tmp_path}/**/*.nbi", recursive=True), "no cache index written"
    second, second_hits = run_small_graph(env)
    assert (first_hits, second_hits) == (0, 1) and first == second


def test_two_processes_warming_up_at_once_share_one_cache(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT, "NUMBA_CACHE_DIR": str(tmp_path)}
    racers = [subprocess.Popen([sys.executable, "-c", SMALL_GRAPH], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [racer.communicate(timeout=300) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), [err for _, err in outputs]
    after, hits = run_small_graph({"NUMBA_CACHE_DIR": str(tmp_path)})
    assert hits == 1, "the cache the two racers wrote could not be loaded"
    assert {out.rsplit(" ", 1)[0] for out, _ in outputs} == {after}


def test_read_only_install_falls_back_to_the_user_cache(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a read-only copy of the package")
    install = tmp_path / "install"
    for package in ("jitgrad", "kernels"):
        shutil.copytree(os.path.join(ROOT, package), install / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    user_cache = tmp_path / "user-cache"
    script = (f"mount --bind -o ro {install} {install} && "
              f"{sys.executable} -c '{SMALL_GRAPH}'")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(install), XDG_CACHE_HOME=str(user_cache))
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, capture_output=True,
                            text=True, cwd=tmp_path)  # not the repo: `python -c` imports from cwd
    if result.returncode != 0 and "mount" in result.stderr:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert not glob.glob(f"{install}/**/*.nbi", recursive=True)
    assert glob.glob(f"{user_cache}/numba/**/*.nbi", recursive=True), "no fallback cache written"


def test_a_changed_helper_file_recompiles_the_kernels_that_inline_it(tmp_path):
    # Numba checks only a kernel's own file: tanh's kernel (activations.py) inlines vmath.py,
    # so an edited vmath.py alone would leave it loading stale machine code from the cache
    install, cache = tmp_path / "install", tmp_path / "cache"
    for package in ("jitgrad", "kernels"):
        shutil.copytree(os.path.join(ROOT, package), install / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    env = {"NUMBA_CACHE_DIR": str(cache)}
    first, _ = run_small_graph(env, pythonpath=str(install))
    assert run_small_graph(env, pythonpath=str(install)) == (first, 1)  # from the cache
    with open(install / "kernels" / "vmath.py", "a") as vmath:
        vmath.write("# edited\n")
    assert run_small_graph(env, pythonpath=str(install)) == (first, 0)  # compiled again
    assert run_small_graph(env, pythonpath=str(install)) == (first, 1)
