"""Durable file operations shared by the checkpoints and the command line."""

import os

__all__ = ["fsync_folder"]


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
