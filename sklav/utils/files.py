"""Durable file operations shared by the checkpoints, the model files and the command line."""

import contextlib
import os
import tempfile

__all__ = ["check_can_create_files", "fsync_folder", "new_file_mode", "remove_stale_temporaries", "write_atomically"]


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


def _umask():
    umask = os.umask(0)  # the only way to read it; set straight back
    os.umask(umask)
    return umask


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
    return 0o666 & ~_umask()


def _temporary_stem(path):
    return f".{os.path.basename(os.fspath(path))}."


def _temporary_prefix(path):
    # the writer's process id in the name tells a live writer's file from a killed one's
    return f"{_temporary_stem(path)}{os.getpid()}."


def check_can_create_files(folder):
    """Raise the ``OSError`` that creating a file in ``folder`` gives (read-only,
    no permission, missing), leaving nothing behind; before any long work.

    Examples
    --------
    >>> import tempfile
    >>> from sklav.utils.files import check_can_create_files
    >>> check_can_create_files(tempfile.gettempdir())
    >>> check_can_create_files("/no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: ...
    """
    probe = os.path.join(folder, f".tmp-probe-{os.getpid()}")
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)


def _process_is_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(path):
    """Remove the temporary files that writers of ``path`` killed mid-write
    (``kill -9``, a power cut) left in its folder; a live writer's are kept.

    Returns the names removed.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklav.utils.files import remove_stale_temporaries
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "model.sklav")
    >>> dead = os.path.join(folder.name, ".model.sklav.999999999.abc.tmp")
    >>> open(dead, "wb").close()
    >>> remove_stale_temporaries(path)
    ['.model.sklav.999999999.abc.tmp']
    >>> folder.cleanup()
    """
    folder = os.path.dirname(os.path.abspath(path))
    stem = _temporary_stem(path)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in sorted(names):
        pid = name[len(stem):].split(".", 1)[0]
        if not (name.startswith(stem) and name.endswith(".tmp") and pid.isdigit()):
            continue
        if not _process_is_alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
                removed.append(name)
    return removed


def write_atomically(path, writer, *, overwrite=True):
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
    overwrite : bool, default=True
        Whether an existing ``path`` may be replaced; if not, one that
        appeared while writing raises ``FileExistsError``.

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
    tmp = None
    try:  # mkstemp inside: a stop just after it must still remove its file
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temporary_prefix(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            writer(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, new_file_mode())
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"{path!r} appeared while it was being written")
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    fsync_folder(folder)
