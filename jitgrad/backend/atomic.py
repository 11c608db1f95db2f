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
    """
    directory, name = os.path.split(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private (0600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
