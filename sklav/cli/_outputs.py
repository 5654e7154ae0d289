"""What the ``sklav`` command writes.

- :class:`OutputFile`: an output checked before any work (its folder is
  created and must be writable, it is not a folder, not one of the inputs,
  and not an existing file unless overwriting is allowed), then written
  atomically (:func:`sklav.utils.files.write_atomically`): a failure, Ctrl-C
  or SIGTERM never leaves a half-written file, an existing file stays as it
  was until the new one is complete, and what a killed writer left is
  removed at the next start.
- :func:`figure_output`, :func:`save_figure`: the same for matplotlib
  figures, in the format their extension names.
- :func:`write_npz`: an ``.npz`` archive for any array names (``numpy.savez``
  takes them as keyword arguments, so names such as ``file`` or
  ``allow_pickle`` are lost or crash it).
- :func:`unique_keys`: one archive key per input path.
"""

import os
import zipfile
from pathlib import Path

import numpy as np

from ..utils.files import check_can_create_files, remove_stale_temporaries, write_atomically
from ._stops import CLIError

__all__ = ["OutputFile", "figure_output", "save_figure", "write_npz", "unique_keys", "video_key"]


def _strerror(exc):
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


class OutputFile:
    """An output file, checked now and written atomically later.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    what : str
        What it is, for messages ("model file").
    inputs : sequence of paths, default=()
        The command's inputs; the output may not be any of them.
    force : bool, default=False
        Whether an existing file may be replaced.
    suffixes : collection of str or None, default=None
        The allowed extensions (lower case, with the dot), or None for any.

    Raises
    ------
    CLIError
        If the output cannot or may not be written; before any work is done.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklav.cli._outputs import OutputFile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = OutputFile(os.path.join(tmp.name, "new", "notes.txt"), "notes file")
    >>> out.write(lambda f: f.write(b"hello"))
    >>> open(out.path, "rb").read()
    b'hello'
    >>> OutputFile(out.path, "notes file")
    Traceback (most recent call last):
    ...
    sklav.cli._stops.CLIError: the notes file '...notes.txt' exists; use --force to replace it.
    >>> tmp.cleanup()
    """

    def __init__(self, path, what, *, inputs=(), force=False, suffixes=None):
        self.path = Path(path)
        self.what = what
        self.force = force
        name = str(self.path)
        if self.path.is_dir():
            raise CLIError(f"the {what} {name!r} is a folder; give a file name.")
        if suffixes is not None and self.path.suffix.lower() not in suffixes:
            allowed = " ".join(suffixes) if len(suffixes) == 1 else f"one of {', '.join(sorted(suffixes))}"
            got = f"not {self.path.suffix!r}" if self.path.suffix else "it has no extension"
            raise CLIError(f"the {what} {name!r} must end in {allowed} ({got}).")
        for source in inputs:
            if _same_file(self.path, source):
                raise CLIError(f"the {what} {name!r} is the input {str(source)!r}; refusing to overwrite it.")
        if self.path.exists() and not force:
            raise CLIError(f"the {what} {name!r} exists; use --force to replace it.")
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.path)  # what a killed writer of this file left behind
            check_can_create_files(folder)
        except OSError as exc:
            raise CLIError(f"cannot write the {what} {name!r} in the folder {str(folder)!r}: "
                           f"{_strerror(exc)}.") from None

    def write(self, writer):
        """Call ``writer(binary_file)`` on a temporary file, then move it onto the path.

        Any exception (KeyboardInterrupt included) removes the temporary file
        and leaves the path as it was; an ``OSError`` becomes a :class:`CLIError`.
        """
        try:
            write_atomically(self.path, writer, overwrite=self.force)
        except FileExistsError:
            raise CLIError(f"the {self.what} {str(self.path)!r} appeared meanwhile; not replaced.") from None
        except OSError as exc:
            raise CLIError(f"could not write the {self.what} {str(self.path)!r}: {_strerror(exc)}.") from None


def figure_output(path, inputs=()):
    """The figure's OutputFile (replaced if it exists), or None without matplotlib.

    The figure's format is its extension's; matplotlib draws with Agg.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        print("matplotlib is not installed: no figure (pip install matplotlib).")
        return None
    formats = FigureCanvasBase.get_supported_filetypes()
    return OutputFile(path, "figure", inputs=inputs, force=True,
                      suffixes={f".{ext}" for ext in formats})


def save_figure(fig, output):
    """Write a matplotlib figure to its :func:`figure_output`; returns the path."""
    output.write(lambda file: fig.savefig(file, format=output.path.suffix[1:].lower(), dpi=100))
    return output.path


def write_npz(file, arrays):
    """Write ``{name: array}`` to ``file`` as an uncompressed ``.npz`` archive.

    The archive is the one :func:`numpy.savez` writes (one ``name.npy`` member
    per array, read back with :func:`numpy.load`), but any name works.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from sklav.cli._outputs import write_npz
    >>> buffer = io.BytesIO()
    >>> write_npz(buffer, {"file": np.zeros(2), "allow_pickle": np.ones(3)})
    >>> _ = buffer.seek(0)
    >>> with np.load(buffer) as z:
    ...     sorted(z.files), z["allow_pickle"].tolist()
    (['allow_pickle', 'file'], [1.0, 1.0, 1.0])
    """
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def video_key(path):
    """A video's name: the file's stem, or the folder's name for frame folders."""
    path = Path(path)
    return path.name if path.is_dir() else path.stem


def unique_keys(paths):
    """One key per input: its :func:`video_key`, made unique with ``_2``, ``_3``...

    Examples
    --------
    >>> from sklav.cli._outputs import unique_keys
    >>> unique_keys(["a/x.npy", "b/x.npy", "x_2.npy"])
    ['x', 'x_2', 'x_2_2']
    """
    keys, seen = [], set()
    for path in paths:
        base = video_key(path) or "video"
        key, n = base, 1
        while key in seen:
            n += 1
            key = f"{base}_{n}"
        seen.add(key)
        keys.append(key)
    return keys
