"""jitgrad.distributed: sharding, packing and thread limits in this process; training, aborts and
the example under ``mpiexec -n 2`` (skipped, saying why, without mpi4py or an mpiexec)."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import jitgrad
from jitgrad.distributed import DistributedSampler, _Packed, mpiexec_path, shard_bounds
from tests.helpers import mpi_jobs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT}
MPIEXEC = mpiexec_path()


def mpi_missing():
    """Why the MPI tests cannot run here, or None."""
    if importlib.util.find_spec("mpi4py") is None:
        return 'mpi4py is not installed; pip install ".[distributed]" runs the MPI tests'
    if MPIEXEC is None:
        return "no mpiexec beside this Python or on PATH; the distributed extra installs MPICH's"
    return None


needs_mpi = pytest.mark.skipif(mpi_missing() is not None, reason=str(mpi_missing()))


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)


def mpiexec(*args, timeout):
    """``mpiexec -n 2 python *args`` from the repo root; its CompletedProcess (stdout and stderr
    together). A job still running after ``timeout`` seconds fails the test: it hung."""
    return subprocess.run([MPIEXEC, "-n", "2", sys.executable, *args], cwd=ROOT, env=ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def test_importing_jitgrad_and_jitgrad_distributed_imports_no_mpi4py():
    result = run_python("import sys, jitgrad, jitgrad.distributed; print('mpi4py' in sys.modules)")
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("how_mpi_fails, message", [
    ("sys.modules['mpi4py'] = None", "jitgrad.distributed needs mpi4py, which cannot be imported"),
    ("sys.path.insert(0, {fake!r})",
     "jitgrad.distributed: mpi4py cannot load an MPI library (cannot load MPI library)"),
])
def test_init_without_the_extra_says_what_to_install(tmp_path, how_mpi_fails, message):
    fake = tmp_path / "mpi4py"  # an mpi4py that finds no MPI library, as without MPICH
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "MPI.py").write_text("raise RuntimeError('cannot load MPI library\\nlibmpi.so: not found')")
    setup = how_mpi_fails.format(fake=str(tmp_path))
    result = run_python(f"import sys; {setup}\nimport jitgrad.distributed as d; d.init()")
    assert f"ImportError: {message}" in result.stderr, result.stderr
    assert 'pip install "jitgrad[distributed]"' in result.stderr and result.returncode != 0


def test_limit_threads_limits_numba_and_every_blas_pool():
    pytest.importorskip("threadpoolctl", reason="limit_threads needs threadpoolctl (the extra)")
    result = run_python(
        "import sys, numba, threadpoolctl\n"
        "from jitgrad.distributed import limit_threads\n"
        "limit_threads(1)\n"
        "print(numba.get_num_threads(), sorted({p['num_threads'] for p in threadpoolctl.threadpool_info()"
        " if p['user_api'] == 'blas'}), 'mpi4py' in sys.modules)")
    assert result.stdout.split(maxsplit=1) == ["1", "[1] False\n"], result.stderr


@pytest.mark.parametrize("threads", [0, -2, 1.5, True, "all"])
def test_limit_threads_rejects_anything_but_auto_or_a_positive_int(threads):
    from jitgrad.distributed import limit_threads
    with pytest.raises(ValueError, match=r"limit_threads: threads must be 'auto' or a positive int"):
        limit_threads(threads)


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_shard_bounds_cover_the_rows_once_in_order_and_evenly(world_size):
    for size in range(12):
        bounds = [shard_bounds(size, rank, world_size) for rank in range(world_size)]
        assert bounds[0][0] == 0 and bounds[-1][1] == size
        assert all(stop == next_start for (_, stop), (next_start, _) in zip(bounds, bounds[1:]))
        lengths = [stop - start for start, stop in bounds]
        assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


def test_sampler_deals_each_rank_its_part_of_the_same_global_batches():
    one_process = DistributedSampler(20, 6, seed=3)
    ranks = [DistributedSampler(20, 6, rank, 3, seed=3) for rank in range(3)]
    for epoch in (0, 1):
        for sampler in [one_process, *ranks]:
            sampler.set_epoch(epoch)
        global_batches = [shard.indices for shard in one_process]
        # the last global batch, 2 rows, is dropped for 3 ranks: one of them would get nothing
        assert [len(b) for b in global_batches] == [6, 6, 6, 2] and len(ranks[0]) == 3
        for step, per_rank in enumerate(zip(*ranks)):
            assert [shard.batch_size for shard in per_rank] == [6, 6, 6]
            np.testing.assert_array_equal(np.concatenate([s.indices for s in per_rank]),
                                          global_batches[step])
    assert sorted(np.concatenate(global_batches)) == list(range(20))


def test_sampler_order_depends_only_on_seed_and_epoch():
    def order(seed, epoch):
        sampler = DistributedSampler(50, 10, seed=seed)
        sampler.set_epoch(epoch)
        return np.concatenate(sampler.global_batches()).tolist()

    assert order(0, 1) == order(0, 1)
    assert len({str(order(0, 0)), str(order(0, 1)), str(order(1, 0))}) == 3
    sampler = DistributedSampler(5, 2, shuffle=False)
    assert [shard.indices.tolist() for shard in sampler] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("args, message", [
    ((10, 4, 2, 2), r"rank 2 is not in \[0, 2\)"),
    ((10, 1, 0, 2), r"batch_size must be at least world_size \(2\) and at most n_samples \(10\), got 1"),
    ((10, 11), r"batch_size .* at most n_samples \(10\), got 11"),
])
def test_sampler_rejects_impossible_splits(args, message):
    with pytest.raises(ValueError, match="DistributedSampler: " + message):
        DistributedSampler(*args)


def test_packed_buffers_hold_each_dtype_end_to_end_and_round_trip_any_layout():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5).astype(np.float32),
              rng.standard_normal((4, 2)).T, rng.standard_normal((2, 2)).astype(np.float32)]
    packed = _Packed(tuple((a.dtype.str, a.shape) for a in arrays))
    packed.pack(arrays, scale=2.0)
    assert {b.dtype.name: b.size for b in packed.buffers.values()} == {"float64": 20, "float32": 9}
    np.testing.assert_array_equal(packed.buffers[np.dtype(np.float32).str],
                                  2 * np.concatenate([arrays[1], arrays[3].ravel()]))
    copies = [np.zeros_like(a) for a in arrays]
    packed.unpack(copies, scale=0.5)
    for copy, array in zip(copies, arrays):
        assert copy.dtype == array.dtype
        np.testing.assert_array_equal(copy, array)


@pytest.fixture(scope="module")
def two_rank_training(tmp_path_factory):
    """[rank 0's, rank 1's] saved results of ``mpi_jobs.train`` over 2 ranks."""
    out = tmp_path_factory.mktemp("train") / "params"
    result = mpiexec(os.path.join("tests", "helpers", "mpi_jobs.py"), "train", str(out), timeout=300)
    assert result.returncode == 0, result.stdout
    return [np.load(f"{out}-{rank}.npz") for rank in range(2)]


@needs_mpi
def test_two_ranks_train_to_the_parameters_of_one_process_with_the_same_batches(two_rank_training):
    reference = mpi_jobs.train()
    for saved in two_rank_training:
        assert int(saved["world_size"]) == 2
        trained = [saved[f"arr_{i}"] for i in range(len(reference))]
        for got, want in zip(trained, reference):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for i in range(len(reference)):  # the ranks' copies never drift apart
        np.testing.assert_array_equal(two_rank_training[0][f"arr_{i}"], two_rank_training[1][f"arr_{i}"])


@needs_mpi
def test_each_rank_limits_its_threads_to_its_share_of_the_cores(two_rank_training):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = max(1, min(cores, os.cpu_count() // 2))
    for saved in two_rank_training:
        assert int(saved["numba_threads"]) == share
        assert set(saved["blas_threads"].tolist()) == {share}


@needs_mpi
@pytest.mark.parametrize("job, messages", [
    ("fail", ["ValueError: rank 1 fails on purpose",
              "jitgrad.distributed: rank 1 of 2 failed with ValueError: rank 1 fails on purpose; "
              "aborting all 2 ranks (MPI_Abort)"]),
    ("exit", ["jitgrad.distributed: rank 1 of 2 exited with status 3; aborting all 2 ranks"]),
    ("killed", []),  # nothing of ours: the launcher reports the lost rank
    ("mismatch", ["ValueError: broadcast_parameters: ranks hold different parameters: rank 0 has "
                  "[float64[2, 3], float64[2, 3]] but rank 1 has [float64[2, 3], float64[2, 3], "
                  "float64[2, 3]]"]),
])
def test_a_rank_that_fails_ends_the_whole_job_with_an_error(tmp_path, job, messages):
    result = mpiexec(os.path.join("tests", "helpers", "mpi_jobs.py"), job, str(tmp_path / "unused"), timeout=120)
    assert result.returncode != 0, result.stdout
    for message in messages:
        assert message in result.stdout


@needs_mpi
def test_the_example_trains_data_parallel_and_only_rank_0_prints():
    result = mpiexec(os.path.join("examples", "distributed_mlp.py"), "--epochs", "2", timeout=300)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "2 rank(s), global batch 128, 32 steps per epoch"
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1", "epoch 2"]
    assert float(epochs[-1].split("test accuracy ")[1].split(",")[0]) > 0.5


@needs_mpi
def test_jitgrad_train_distributed_matches_one_process(tmp_path):
    """`mpiexec -n 2 python -m jitgrad train --distributed`: rank 0 alone prints and saves,
    and the model equals the one a single process trains with the same global batches."""
    options = ["--epochs", "2", "--hidden", "16", "--batch-size", "33", "--dtype", "float64",
               "--optimizer", "sgd"]
    job = mpiexec("-m", "jitgrad", "train", "--distributed", *options,
                  "--save", str(tmp_path / "two.npz"), timeout=120)
    assert job.returncode == 0, job.stdout
    assert job.stdout.count("done: test accuracy") == 1 and "on 2 ranks" in job.stdout
    single = subprocess.run([sys.executable, "-m", "jitgrad", "train", *options,
                             "--save", str(tmp_path / "one.npz")], cwd=ROOT, env=ENV,
                            capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    two, one = jitgrad.load(tmp_path / "two.npz"), jitgrad.load(tmp_path / "one.npz")
    assert one and set(one) == set(two)
    for name in one:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-10, atol=1e-12)
