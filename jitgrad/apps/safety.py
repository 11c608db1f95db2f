"""Checks the commands make before any work, so that a typo costs a line, not a file or an
hour: outputs that would overwrite an input or each other, destinations that cannot be
written, inputs that are not regular files, sizes that do not fit in memory, and training
that diverged (nothing is saved from it).
"""
import os
import resource
import tempfile

import numpy as np

from jitgrad.backend.file_checks import check_regular

#: a parameter costs its value, its gradient and up to two optimizer moments (Adam)
COPIES_PER_PARAMETER = 4


def check_paths(inputs, outputs):
    """ValueError, before anything is read or written, when an output (option, path) of
    ``outputs`` is a directory, is not a regular file, lies in a directory that does not
    exist or cannot be written, or is the same file as an input (option, path) of ``inputs``
    or another output (also through symlinks, hard links and ``..``). Paths may be None
    (not given); '-' (stdin) is not a file. Inputs must be regular files (not a FIFO, a
    device or a directory)."""
    inputs = [(option, path) for option, path in inputs if path and path != "-"]
    outputs = [(option, path) for option, path in outputs if path]
    for option, path in inputs:
        check_regular(path)
    for index, (option, path) in enumerate(outputs):
        check_destination(option, path)
        for other_option, other in inputs + outputs[:index]:
            if same_file(path, other):
                what = "an input" if (other_option, other) in inputs else "another output"
                raise ValueError(f"{option} {path} is the same file as {other_option} {other} "
                                 f"({what}); writing it would destroy that, so give another "
                                 "name")


def check_destination(option, path):
    """ValueError unless a file can be written at ``path`` (by ``atomic_write``): its
    directory exists and takes new files, and ``path`` is not a directory or special file."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{option} {path} is a directory; give a file name")
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(f"{option} {path} exists and is not a regular file; give another name")
    if not os.path.isdir(directory):
        raise ValueError(f"{option} {path}: the directory does not exist")
    try:  # the one sure test (os.access is wrong for root, read-only mounts, ACLs)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".jitgrad-probe-"):
            pass
    except OSError as error:
        raise ValueError(f"{option} {path}: cannot write in {directory} "
                         f"({error.strerror or error})") from None


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file: the same resolved path, or (both
    existing) the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist yet
        return False


def check_memory(nbytes, what):
    """ValueError when ``what`` (e.g. 'a 64-1000000-10 MLP') needs more than ``nbytes`` of
    the memory available now (the smaller of free RAM and the address-space limit)."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise ValueError(f"{what} needs about {nbytes:,} bytes, more than the "
                         f"{available:,} available; choose smaller sizes")


def available_memory():
    """Bytes this process could still allocate, roughly: /proc/meminfo's MemAvailable (else
    physical memory), capped by RLIMIT_AS; None when unknown."""
    limits = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except OSError:
        try:
            limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    return min(limits) if limits else None


def mlp_bytes(sizes, dtype):
    """What training an MLP of layer ``sizes`` [inputs, hidden..., outputs] takes: its
    parameters in ``dtype``, their gradients and optimizer state."""
    parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))
    return parameters * np.dtype(dtype).itemsize * COPIES_PER_PARAMETER


class DivergedError(ValueError):
    """Training reached a non-finite loss; nothing is saved from it."""


class StopWhenNotFinite:
    """A ``fit`` callback that raises DivergedError at the end of the first epoch whose
    training or validation loss is NaN or infinite."""

    def on_epoch_end(self, epoch, logs, model):
        check_finite_losses(logs, f"in epoch {epoch}")
        return False


def check_finite_losses(logs, when):
    """DivergedError if ``logs``' loss or a ``*_loss`` is NaN or infinite."""
    for name, value in logs.items():
        if (name == "loss" or name.endswith("_loss")) and not np.isfinite(value):
            raise DivergedError(
                f"training diverged: the {name.replace('_', ' ')} was {value} {when}, so "
                "nothing was saved; try a smaller --lr, or check the data for extreme values")


def check_finite_model(model):
    """DivergedError if a parameter holds NaN or inf (a model not worth saving)."""
    for index, p in enumerate(model.parameters()):
        if not np.isfinite(p.data).all():
            raise DivergedError(f"training diverged: parameter {index} holds NaN or inf, so "
                                "nothing was saved; try a smaller --lr")
