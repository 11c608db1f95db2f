"""Write a file all at once or not at all, so Ctrl-C never leaves half a file behind."""
import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path):
    """``with atomic_write(path) as file:`` yields a binary file to write ``path``'s content to.

    The content goes to a temporary file in the same directory, which replaces ``path`` (by
    ``os.replace``, atomic on POSIX and Windows) only when the block finishes; if the block
    raises, even KeyboardInterrupt, the temporary file is removed and ``path`` is untouched.
    The new file keeps the mode of the file it replaces, or gets the umask's default when
    there was none. The temporary is named ``.NAME.PID.jitgrad-tmp`` plus a random part; one
    left by a process that was killed (whose PID is gone) is removed by the next write to
    ``path``.
    """
    directory, name = os.path.split(os.path.abspath(path))
    remove_stale_temporaries(directory, name)
    mode = _mode_for(path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(name),
                                         suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)  # mkstemp makes it private (0600)
        os.replace(temporary, path)
    except OSError as error:  # a full disk, a directory in the way: name the path, not ours
        os.unlink(temporary)
        raise OSError(error.errno, error.strerror, os.fspath(path)) from error
    except BaseException:
        os.unlink(temporary)
        raise


TEMPORARY_SUFFIX = ".jitgrad-tmp"


def _temporary_prefix(name, pid=None):
    return f".{name}.{os.getpid() if pid is None else pid}."


def remove_stale_temporaries(directory, name):
    """Remove the temporaries of writes to ``directory/name`` whose process is gone (killed
    mid-write); those of live processes are left to them."""
    prefix = f".{name}."
    try:
        entries = os.listdir(directory)
    except OSError:
        return  # the write itself will say what is wrong with the directory
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(TEMPORARY_SUFFIX)):
            continue
        # PID.RANDOM exactly: mkstemp's random part has no dot, so another file's temporary
        # (".NAME.more.PID.RANDOM...") never matches
        parts = entry[len(prefix):-len(TEMPORARY_SUFFIX)].split(".")
        if len(parts) == 2 and parts[0].isdigit() and not _process_exists(int(parts[0])):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _mode_for(path):
    """The permission bits a file written to ``path`` gets: the replaced file's, else 0666
    less the umask (what ``open`` would give a new file)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o666 & ~current_umask()


def current_umask():
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
