"""Durable file operations shared by the checkpoints, the model files and the command line."""

import contextlib
import os
import tempfile

__all__ = ["fsync_folder", "new_file_mode", "write_atomically"]


def fsync_folder(folder):
    """Make renames inside ``folder`` durable (POSIX); a no-op where folders
    cannot be opened (Windows) or synced.

    Examples
    --------
    >>> import tempfile
    >>> from sklav.utils.files import fsync_folder
    >>> fsync_folder(tempfile.gettempdir())
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def new_file_mode():
    """The mode ``open(path, "w")`` gives a new file: ``0o666`` less the umask.

    Examples
    --------
    >>> import os
    >>> from sklav.utils.files import new_file_mode
    >>> previous = os.umask(0o027)
    >>> oct(new_file_mode())
    '0o640'
    >>> _ = os.umask(previous)
    """
    umask = os.umask(0)  # the only way to read it; set straight back
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path, writer):
    """Call ``writer(binary_file)`` on a temporary file, then rename it onto ``path``.

    The temporary file lies in ``path``'s folder (so the rename is atomic),
    is flushed to disk before the rename and gets the mode of a new file
    (:func:`new_file_mode`, not ``mkstemp``'s 0600). Any exception,
    ``KeyboardInterrupt`` included, removes it and leaves ``path`` as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    writer : callable
        Writes the contents to the binary file it is given.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklav.utils.files import write_atomically
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "notes.txt")
    >>> write_atomically(path, lambda f: f.write(b"hello"))
    >>> open(path, "rb").read(), os.listdir(folder.name)
    (b'hello', ['notes.txt'])
    >>> folder.cleanup()
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            writer(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(folder)
