"""Jobs that tests/test_distributed.py launches with ``mpiexec -n 2 python tests/helpers/mpi_jobs.py JOB OUT``.

``train`` also runs in the test process itself, as one rank, for the reference parameters.
The networks are tiny and float64 so that every rank loads its kernels from Numba's cache.
"""
import os
import signal
import sys

import numpy as np

from jitgrad import SGD, CrossEntropyLoss, Linear, Sequential, Tanh, Tensor
from jitgrad.distributed import DataParallel, DistributedSampler

#: 26 samples in batches of 7: global batches of 7, 7, 7 and 5 rows, all uneven over 2 ranks.
SAMPLES, FEATURES, CLASSES, BATCH, EPOCHS = 26, 5, 3, 7, 2


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((SAMPLES, FEATURES)), rng.integers(0, CLASSES, SAMPLES)


def train(dp=None):
    """The parameters after EPOCHS epochs of SGD, data-parallel over ``dp``'s ranks if given.

    Each rank starts from weights of its own seed, so only the broadcast makes them agree.
    """
    rank, world_size = (dp.rank, dp.world_size) if dp else (0, 1)
    np.random.seed(rank)
    model = Sequential([Linear(FEATURES, 4), Tanh(), Linear(4, CLASSES)])
    params = model.get_parameters()
    if dp:
        dp.broadcast(params)
    optim = SGD(params, alpha=0.5)
    x, y = data()
    sampler = DistributedSampler(SAMPLES, BATCH, rank, world_size, seed=1)
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        for indices, batch_size in sampler:
            loss = CrossEntropyLoss().forward(model.forward(Tensor(x[indices])), Tensor(y[indices]))
            loss.backward()
            if dp:
                dp.sync_gradients(params, batch_size)
            optim.step()
    return [p.data for p in params]


def train_job(out):
    """Saves this rank's trained parameters and its thread limits to ``out``-RANK.npz."""
    import numba
    from threadpoolctl import threadpool_info
    dp = DataParallel()
    params = train(dp)
    blas_threads = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    np.savez(f"{out}-{dp.rank}.npz", *params, world_size=dp.world_size,
             numba_threads=numba.get_num_threads(), blas_threads=blas_threads)


def fail_job(out):
    """Rank 1 raises while rank 0 waits for it in a collective it will never join."""
    dp = DataParallel()
    if dp.rank == 1:
        raise ValueError("rank 1 fails on purpose")
    wait_for_every_rank()


def killed_job(out):
    """Rank 1 is killed (SIGKILL) while rank 0 waits for it in a collective."""
    dp = DataParallel()
    if dp.rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    wait_for_every_rank()


def exit_job(out):
    """Rank 1 exits with status 3 inside ``with DataParallel()`` while rank 0 waits for it."""
    with DataParallel() as dp:
        if dp.rank == 1:
            sys.exit(3)
        wait_for_every_rank()


def mismatch_job(out):
    """Rank 1 broadcasts one parameter more than rank 0."""
    dp = DataParallel()
    params = [Tensor(np.zeros((2, 3)), autograd=True) for _ in range(2 + dp.rank)]
    dp.broadcast(params)


def wait_for_every_rank():
    from mpi4py import MPI
    MPI.COMM_WORLD.Barrier()


JOBS = {"train": train_job, "fail": fail_job, "killed": killed_job, "exit": exit_job,
        "mismatch": mismatch_job}

if __name__ == "__main__":
    JOBS[sys.argv[1]](sys.argv[2])
