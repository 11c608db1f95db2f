"""Synchronous data-parallel training on MPI, across processes and machines.

Every rank (process) holds the whole model, computes gradients on its shard of each global
batch, and sums the gradients with the other ranks before every optimizer step, so all ranks
take the same step and stay identical. Needs the ``distributed`` extra
(``pip install "jitgrad[distributed]"``: mpi4py, the MPICH runtime with its ``mpiexec``, and
threadpoolctl). ``import jitgrad`` never imports mpi4py, and neither does importing this
module: MPI starts at the first call that needs it.

A training loop, launched as ``mpiexec -n 4 python train.py``::

    with DataParallel() as dp:          # MPI up, threads limited, a failing rank aborts the job
        params = model.get_parameters()
        dp.broadcast(params)            # every rank starts from rank 0's weights
        sampler = dp.sampler(len(x), batch_size=128, seed=0)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            for indices, batch_size in sampler:      # this rank's rows of each global batch
                loss = criterion.forward(model.forward(Tensor(x[indices])), Tensor(y[indices]))
                loss.backward()
                dp.sync_gradients(params, batch_size)  # now the gradient of the global batch
                optim.step()
            if dp.is_root:
                print(epoch, loss)

With an existing batch iterator that yields the same global batches on every rank (same seed),
take this rank's rows with ``dp.shard(x_batch)`` instead of the sampler.
"""
import importlib
import math
import os
import shutil
import sys
import sysconfig
import time
import traceback
from typing import NamedTuple

import numpy as np

from jitgrad.backend.dtypes import describe

INSTALL_HINT = 'pip install "jitgrad[distributed]"'

#: Gradient buffers of ``allreduce_gradients``, one per parameter layout, reused every step.
_gradient_buffers = {}


def _require(module):
    """Import ``module`` of the distributed extra, or raise an ImportError saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"jitgrad.distributed needs {module.split('.')[0]}, which cannot be "
                          f"imported ({error}); install the extra: {INSTALL_HINT}") from error
    except RuntimeError as error:  # mpi4py is installed but finds no MPI library to load
        reason = str(error).splitlines()[0]
        raise ImportError(f"jitgrad.distributed: mpi4py cannot load an MPI library ({reason}); "
                          f"{INSTALL_HINT} installs MPICH beside it") from error


def _mpi():
    """mpi4py's MPI module; importing it starts MPI (MPI_Init) in this process."""
    return _require("mpi4py.MPI")


def init(threads="auto"):
    """Start MPI and make this process one well-behaved rank of the job; returns (rank, world_size).

    Installs an exception hook that aborts the whole job (``abort_job``) when this rank dies of
    an uncaught exception, so that no other rank waits forever for it in a collective; and
    limits this rank's threads with ``limit_threads(threads)`` (None leaves them alone). Every
    rank must call it. Run without ``mpiexec``, the process is a job of one rank.
    """
    comm = _mpi().COMM_WORLD
    sys.excepthook = _abort_on_uncaught_exception
    if threads is not None:
        limit_threads(threads)
    return comm.rank, comm.size


_ABORT_GRACE_SECONDS = 0.5


def abort_job(error):
    """Report ``error`` (an exception, or a SystemExit's status) as this rank's failure, then
    end every rank of the job with MPI_Abort. Does not return."""
    comm = _mpi().COMM_WORLD
    if isinstance(error, SystemExit):
        status = error.code if isinstance(error.code, int) else 1
        reason = f"exited with status {error.code}"
    else:
        status = 1
        traceback.print_exception(error)
        reason = f"failed with {type(error).__name__}: {error}"
    print(f"jitgrad.distributed: rank {comm.rank} of {comm.size} {reason}; aborting all "
          f"{comm.size} ranks (MPI_Abort)", file=sys.stderr, flush=True)
    # mpiexec forwards each rank's output through pipes; MPI_Abort tears the job down at once
    # and could drop the message above, so give the forwarding a moment to pass it on
    time.sleep(_ABORT_GRACE_SECONDS)
    comm.Abort(status)


def _abort_on_uncaught_exception(kind, error, trace):
    abort_job(error.with_traceback(trace))


def limit_threads(threads="auto"):
    """Limit this process's Numba and BLAS thread pools to ``threads``; returns that number.

    ``"auto"``: this rank's share of its machine, the machine's cores divided by the number of
    ranks on it (at most the cores this process may run on, at least 1), so that N ranks on one
    machine do not oversubscribe it; with MPI, every rank must call it then. An int sets that
    many. Numba's count is capped at ``NUMBA_NUM_THREADS`` and, as Numba does, applies to the
    calling thread.
    """
    if threads == "auto":
        threads = max(1, min(_usable_cores(), os.cpu_count() // _ranks_on_this_machine()))
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"limit_threads: threads must be 'auto' or a positive int, got {threads!r}")
    threadpoolctl = _require("threadpoolctl")
    import numba
    import scipy.linalg.cython_blas  # noqa: F401 -- loads the BLAS Numba calls, so it is limited too
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    threadpoolctl.threadpool_limits(limits=threads, user_api="blas")
    return threads


def _usable_cores():
    """The cores this process may run on (its CPU affinity, where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _ranks_on_this_machine():
    """How many ranks of the job share this machine's memory (a collective call)."""
    MPI = _mpi()
    local = MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return local.size
    finally:
        local.Free()


def broadcast_parameters(params, root=0):
    """Copy rank ``root``'s parameter values into every rank's parameters, in place.

    ``params``: the same list of Tensors, in the same order, on every rank. Sent as one buffer
    per dtype. Every rank must call it.
    """
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    if isinstance(root, bool) or not isinstance(root, int) or not 0 <= root < comm.size:
        raise ValueError(f"broadcast_parameters: root must be a rank in [0, {comm.size}), got {root!r}")
    arrays = [p.data for p in params]
    packed = _packed_on_every_rank(arrays, "broadcast_parameters", comm)
    packed.pack(arrays)
    for buffer in packed.buffers.values():
        comm.Bcast(buffer, root=root)
    packed.unpack(arrays)


def allreduce_gradients(params, average=True, weight=1.0):
    """Sum each parameter's gradient over all ranks, in place; then divide by the number of
    ranks if ``average``.

    Each rank's gradients are first multiplied by ``weight``. ``average=True`` turns per-rank
    mean gradients of equal shards into the mean gradient of the whole batch; for a loss summed
    over the batch (the book's ``MSELoss``) use ``average=False``; for uneven shards see
    ``DataParallel.sync_gradients``. The gradients are packed into one preallocated contiguous
    buffer per dtype, reduced with one in-place ``Allreduce`` each (no pickling), and unpacked.
    Every rank must call it with the same parameters, all of which have a gradient.
    """
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    grads = _gradients(params, "allreduce_gradients")
    layout = _layout(grads)
    packed = _gradient_buffers.get(layout)
    if packed is None:
        packed = _gradient_buffers[layout] = _packed_on_every_rank(grads, "allreduce_gradients", comm)
    packed.pack(grads, weight)
    for buffer in packed.buffers.values():
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    packed.unpack(grads, 1.0 / comm.size if average else 1.0)


def _gradients(params, function):
    """The gradient arrays of ``params``; raises naming the first parameter that has none."""
    for index, p in enumerate(params):
        if p.grad is None:
            raise RuntimeError(f"{function}: parameter {index} ({describe(p.data)}) has no "
                               "gradient; every rank must call backward() on a loss that "
                               "depends on every parameter before syncing")
    return [p.grad.data for p in params]


def _layout(arrays):
    """(dtype, shape) of each array: what decides the packed buffers."""
    return tuple((array.dtype.str, array.shape) for array in arrays)


def _packed_on_every_rank(arrays, function, comm):
    """A ``_Packed`` for ``arrays``, after checking that every rank has the same layout (an MPI
    call on buffers of different sizes would fail or hang)."""
    layout = _layout(arrays)
    for rank, other in enumerate(comm.allgather(layout)):
        if other != layout:
            raise ValueError(f"{function}: ranks hold different parameters: rank {comm.rank} "
                             f"has {_describe_layout(layout)} but rank {rank} has "
                             f"{_describe_layout(other)}; every rank must pass the same "
                             "parameters in the same order")
    return _Packed(layout)


def _describe_layout(layout):
    return "[" + ", ".join(f"{np.dtype(dtype).name}[{', '.join(map(str, shape))}]"
                           for dtype, shape in layout) + "]"


class _Packed:
    """Arrays laid end to end in one contiguous buffer per dtype, so that one MPI call per
    dtype moves them all.

    ``layout``: (dtype, shape) of each array. ``buffers``: {dtype: 1-D buffer};
    ``views[i]``: array i's place in its buffer, in its shape.
    """

    def __init__(self, layout):
        sizes = {}
        for dtype, shape in layout:
            sizes[dtype] = sizes.get(dtype, 0) + math.prod(shape)
        self.buffers = {dtype: np.empty(size, dtype=dtype) for dtype, size in sizes.items()}
        ends = dict.fromkeys(sizes, 0)
        self.views = []
        for dtype, shape in layout:
            start, ends[dtype] = ends[dtype], ends[dtype] + math.prod(shape)
            self.views.append(self.buffers[dtype][start:ends[dtype]].reshape(shape))

    def pack(self, arrays, scale=1.0):
        """Copy ``arrays`` (any memory layout) times ``scale`` into the buffers."""
        for view, array in zip(self.views, arrays):
            np.multiply(array, scale, out=view)

    def unpack(self, arrays, scale=1.0):
        """Copy the buffers times ``scale`` back into ``arrays``, in place."""
        for view, array in zip(self.views, arrays):
            np.multiply(view, scale, out=array)


def shard_bounds(size, rank, world_size):
    """(start, stop) of ``rank``'s contiguous part of ``size`` rows split over ``world_size``
    ranks; the first ``size % world_size`` ranks get one row more than the others."""
    base, extra = divmod(size, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class Shard(NamedTuple):
    """One step's work for one rank: its rows of the global batch, and that batch's size."""

    indices: np.ndarray  # int (rows,): indices into the dataset
    batch_size: int      # rows in the global batch, for ``DataParallel.sync_gradients``


class DistributedSampler:
    """Deals each rank its shard of every global batch of an epoch.

    All ranks draw the same order of ``range(n_samples)`` from ``(seed, epoch)`` (shuffled, or
    in order with ``shuffle=False``) and cut it into global batches of ``batch_size`` rows; the
    last one may be smaller, and is dropped if it has fewer rows than there are ranks, so that
    every rank gets at least one row. Iterating yields one ``Shard`` per global batch: this
    rank's contiguous part (``shard_bounds``) and the global batch's size. With
    ``world_size=1`` the shards are the whole global batches, which is how a single process
    reproduces a data-parallel run. Call ``set_epoch`` before each epoch for a new order.
    """

    def __init__(self, n_samples, batch_size, rank=0, world_size=1, seed=0, shuffle=True):
        if not 0 <= rank < world_size:
            raise ValueError(f"DistributedSampler: rank {rank} is not in [0, {world_size})")
        if not world_size <= batch_size <= n_samples:
            raise ValueError(f"DistributedSampler: batch_size must be at least world_size "
                             f"({world_size}) and at most n_samples ({n_samples}), got {batch_size}")
        self.n_samples, self.batch_size = n_samples, batch_size
        self.rank, self.world_size = rank, world_size
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def global_batches(self):
        """This epoch's global batches: int index arrays, the same on every rank."""
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n_samples)
                 if self.shuffle else np.arange(self.n_samples))
        batches = [order[start:start + self.batch_size]
                   for start in range(0, self.n_samples, self.batch_size)]
        return [batch for batch in batches if len(batch) >= self.world_size]

    def __iter__(self):
        for batch in self.global_batches():
            start, stop = shard_bounds(len(batch), self.rank, self.world_size)
            yield Shard(batch[start:stop], len(batch))

    def __len__(self):
        full, rest = divmod(self.n_samples, self.batch_size)
        return full + (rest >= self.world_size)


class DataParallel:
    """This process's handle on a data-parallel job: ``rank``, ``world_size``, ``is_root``.

    Creating it calls ``init(threads)``: MPI starts, this rank's threads are limited to its
    share of the machine (``threads="auto"``; an int, or None to leave them), and an uncaught
    exception on any rank aborts the whole job. Every rank must create one.

    Used as a context manager (``with DataParallel() as dp:``), it also aborts the job when its
    block raises an exception that code around it would catch (a command line's error handler
    that prints and returns 1), or calls ``sys.exit`` with a non-zero status: this rank would
    otherwise end alone and leave the others waiting for it forever.
    """

    def __init__(self, threads="auto"):
        self.rank, self.world_size = init(threads)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if kind is not None and not (kind is SystemExit and error.code in (None, 0)):
            abort_job(error)
        return False

    @property
    def is_root(self):
        """True on rank 0, the rank that should print progress and save the model."""
        return self.rank == 0

    def shard(self, batch):
        """This rank's contiguous rows of a global batch (an array, or indices into a dataset).

        Every rank must pass the same global batch; sizes differ by at most one row between
        ranks (``shard_bounds``), so pass the batch's size to ``sync_gradients``.
        """
        if len(batch) < self.world_size:
            raise ValueError(f"DataParallel.shard: a batch of {len(batch)} rows cannot give "
                             f"each of {self.world_size} ranks a row; use batches of at least "
                             f"{self.world_size} rows")
        start, stop = shard_bounds(len(batch), self.rank, self.world_size)
        return batch[start:stop]

    def sampler(self, n_samples, batch_size, seed=0, shuffle=True):
        """A ``DistributedSampler`` for this rank."""
        return DistributedSampler(n_samples, batch_size, self.rank, self.world_size, seed, shuffle)

    def broadcast(self, params, root=0):
        """Make every rank's parameters equal to rank ``root``'s (call once, before training)."""
        broadcast_parameters(params, root)

    def sync_gradients(self, params, batch_size=None):
        """Turn each rank's gradient of a batch-mean loss (``CrossEntropyLoss``) on its shard
        into the gradient of the global batch, on every rank, in place.

        ``batch_size``: the global batch's size. Each rank's mean gradient is then weighted by
        its share of the batch (``shard_bounds``), which is exact when shards are uneven. None:
        a plain average over ranks, exact only when ``world_size`` divides the batch. For a
        loss summed over the batch, call ``allreduce_gradients(params, average=False)``.
        """
        if batch_size is None:
            allreduce_gradients(params, average=True)
            return
        start, stop = shard_bounds(batch_size, self.rank, self.world_size)
        allreduce_gradients(params, average=False, weight=(stop - start) / batch_size)

    def limit_threads(self, threads="auto"):
        """``limit_threads(threads)``: change this rank's thread limit later on."""
        return limit_threads(threads)


def mpiexec_path():
    """The ``mpiexec`` installed with this Python's packages (where the extra puts MPICH's),
    else the first on PATH; None if there is none."""
    search = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    return shutil.which("mpiexec", path=search)
