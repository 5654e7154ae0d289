"""What the ``sklav`` command reads and writes; private to :mod:`sklav.cli`.

- :func:`expand_folders`: folders of videos given as VIDEO, replaced by
  the videos they hold.
- :func:`read_videos`, :func:`open_videos`, :func:`load_model`,
  :func:`videos_for_model`, :func:`embed_videos`: the inputs (loaded, or
  read on demand), their errors as :class:`CLIError`.
- :class:`OutputFile`: an output checked before any work (its folder is
  created and must be writable, it is not a folder, not one of the inputs,
  and not an existing file unless overwriting is allowed), then written
  atomically: a temporary file in the same folder, flushed to disk, then
  renamed onto the name, so a failure or Ctrl-C never leaves a half-written
  file and an existing file stays as it was until the new one is complete.
- :func:`figure_output`, :func:`save_figure`: the same for matplotlib
  figures, in the format their extension names.
- :func:`write_npz`: an ``.npz`` archive for any array names (``numpy.savez``
  takes them as keyword arguments, so names such as ``file`` or
  ``allow_pickle`` are lost or crash it).
- :func:`unique_keys`: one archive key per input path.
- :func:`watch_interrupt`: notices Ctrl-C even when the code it interrupts
  catches the ``KeyboardInterrupt`` (skorch's training loop does).
"""

import contextlib
import os
import re
import signal
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .utils.files import fsync_folder

__all__ = [
    "CLIError", "Interrupted", "expand_folders", "read_videos", "open_videos", "load_model", "videos_for_model", "embed_videos",
    "OutputFile", "figure_output", "save_figure", "write_npz", "unique_keys", "video_key", "watch_interrupt",
]


class CLIError(Exception):
    """A user error: reported as one line, exit status 2."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what it left undone: ``sklav: interrupted<message>``, exit status 130."""


# --------------------------------------------------------------------------
# inputs


#: The files a folder of videos contributes (with sub-folders of frames).
VIDEO_EXTENSIONS = (".npy", ".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


def _natural_key(name):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def expand_folders(paths):
    """Each path, or for a folder of videos the videos in it (not recursive), in name order.

    A folder holding sub-folders (of frames), video files (by extension) or
    ``.npy`` arrays is a folder of videos; any other folder is one video, a
    folder of frames.
    """
    out = []
    for path in map(Path, paths):
        entries = sorted(path.iterdir(), key=lambda p: _natural_key(p.name)) if path.is_dir() else []
        videos = [str(p) for p in entries if not p.name.startswith(".")
                  and (p.is_dir() or p.suffix.lower() in VIDEO_EXTENSIONS)]
        out.extend(videos or [str(path)])
    return out


def open_videos(paths, *, size=None):
    """The videos of ``paths`` read on demand (:func:`sklav.datasets.open_video`), errors as CLIError.

    As :func:`read_videos`, RGB videos of other sizes are resized to the first one's.
    """
    from .datasets import VideoFile, open_video

    try:
        videos = [open_video(p, size=size) for p in paths]
        shapes = {v.shape[1:] for v in videos}
        if len(shapes) > 1 and all(isinstance(v, VideoFile) for v in videos):
            videos = [VideoFile(p, size=videos[0].shape[1:3]) for p in paths]
        elif len(shapes) > 1:
            listing = ", ".join(f"{p} {v.shape[1:]}" for p, v in zip(paths, videos))
            raise ValueError(f"the videos' per-frame shapes differ: {listing}.")
    except (ImportError, OSError, ValueError) as exc:  # their messages name the file
        raise CLIError(str(exc)) from None
    return videos


def read_videos(paths, *, fps=None, size=None, same_shape=True):
    """The videos of ``paths`` (:func:`sklav.datasets.load_videos`), errors as CLIError.

    ``same_shape=False`` loads each video on its own
    (:func:`sklav.datasets.load_video`), leaving shape checks to the caller.
    """
    from .datasets import load_video, load_videos

    try:
        if same_shape:
            return load_videos(paths, fps=fps, size=size)
        return [load_video(p, fps=fps, size=size) for p in paths]
    except (ImportError, OSError, ValueError) as exc:  # their messages name the file
        raise CLIError(str(exc)) from None


def load_model(path, trust_pickle=False):
    """The embedding part of a saved model, and its LAVEncoder.

    An sklav model file (:func:`sklav.save`, told by its bytes) is loaded
    safely; any other file only with ``trust_pickle``, through joblib (which
    can run code from it), with a warning on stderr.

    Returns
    -------
    embedder : transformer
        The LAVEncoder, or the Pipeline's steps up to and including it.
    encoder : LAVEncoder
    """
    from sklearn.pipeline import Pipeline

    from .encoders import LAVEncoder, is_model_file, load

    path = Path(path)
    if not path.exists():
        raise CLIError(f"no such model file: {str(path)!r}")
    if path.is_dir():
        raise CLIError(f"{str(path)!r} is a folder, not a model file.")
    if is_model_file(path):
        try:
            model = load(path)
        except (ValueError, OSError) as exc:  # its message names the file
            raise CLIError(str(exc)) from None
    elif not trust_pickle:
        raise CLIError(
            f"{str(path)!r} is not an sklav model file but a pickle (e.g. joblib) file or another "
            "format; a pickle file could run code when loaded, so it is loaded only with "
            "--trust-pickle: pass it if you trust the file's source."
        )
    else:
        import joblib

        print(f"sklav: warning: loading {str(path)!r} with joblib (--trust-pickle): a pickle file "
              "runs any code it holds.", file=sys.stderr)
        try:
            model = joblib.load(path)
        except Exception as exc:  # pickle and joblib raise many types on foreign files
            raise CLIError(
                f"{str(path)!r} is not an sklav model: joblib could not load it "
                f"({type(exc).__name__}: {exc})."
            ) from None

    def fitted(estimator):
        return isinstance(estimator, LAVEncoder) and hasattr(estimator, "net_")

    if isinstance(model, LAVEncoder):
        if not fitted(model):
            raise CLIError(f"{str(path)!r} holds a LAVEncoder that was never fitted.")
        return model, model
    if isinstance(model, Pipeline):
        positions = [k for k, (_, step) in enumerate(model.steps) if isinstance(step, LAVEncoder)]
        if not positions:
            raise CLIError(f"{str(path)!r} holds a Pipeline without a LAVEncoder; not an sklav model.")
        k = positions[-1]
        if not fitted(model.steps[k][1]):
            raise CLIError(f"{str(path)!r} holds a Pipeline whose LAVEncoder was never fitted.")
        return model[: k + 1], model.steps[k][1]
    raise CLIError(
        f"{str(path)!r} is not an sklav model: it holds a {type(model).__name__}, not a fitted "
        "LAVEncoder or a Pipeline containing one."
    )


def videos_for_model(paths, encoder, fps=None, lazy=False):
    """Videos in the layout the model was fitted on (RGB resized to its frames).

    ``lazy=True`` reads them on demand (not with ``fps``, which needs every frame).
    """
    size = tuple(encoder.frame_shape_[:2]) if encoder.frame_kind_ == "images" else None
    if lazy and fps is None:
        videos = [open_videos([p], size=size)[0] for p in paths]
    else:
        videos = read_videos(paths, fps=fps, size=size, same_shape=False)
    for path, video in zip(paths, videos):
        if tuple(video.shape[1:]) != tuple(encoder.frame_shape_):
            raise CLIError(
                f"{str(path)!r} has frames of shape {video.shape[1:]}, but the model was fitted "
                f"on {encoder.frame_kind_} of shape {tuple(encoder.frame_shape_)}."
            )
    return videos


def embed_videos(embedder, videos, paths):
    """``embedder.transform(videos)``, its errors as CLIError naming the paths."""
    try:
        return embedder.transform(videos)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"could not embed {', '.join(map(str, paths))}: {exc}") from None


# --------------------------------------------------------------------------
# outputs


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
    >>> from sklav._cli_io import OutputFile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = OutputFile(os.path.join(tmp.name, "new", "notes.txt"), "notes file")
    >>> out.write(lambda f: f.write(b"hello"))
    >>> open(out.path, "rb").read()
    b'hello'
    >>> OutputFile(out.path, "notes file")
    Traceback (most recent call last):
    ...
    sklav._cli_io.CLIError: the notes file '...notes.txt' exists; use --force to replace it.
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
            fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise CLIError(f"cannot write the {what} {name!r} in the folder {str(folder)!r}: "
                           f"{_strerror(exc)}.") from None

    def write(self, writer):
        """Call ``writer(binary_file)`` on a temporary file, then move it onto the path.

        Any exception (KeyboardInterrupt included) removes the temporary file
        and leaves the path as it was; an ``OSError`` becomes a :class:`CLIError`.
        """
        folder = self.path.parent
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as file:
                writer(file)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(tmp, _new_file_mode())
            if not self.force and self.path.exists():
                raise CLIError(f"the {self.what} {str(self.path)!r} appeared meanwhile; not replaced.")
            os.replace(tmp, self.path)
            tmp = None
        except OSError as exc:
            raise CLIError(f"could not write the {self.what} {str(self.path)!r}: {_strerror(exc)}.") from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        fsync_folder(folder)


def _new_file_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
    >>> from sklav._cli_io import write_npz
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
    >>> from sklav._cli_io import unique_keys
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


class _Watch:
    interrupted = False


@contextlib.contextmanager
def watch_interrupt():
    """Record Ctrl-C (SIGINT) in the yielded object's ``interrupted``, and raise it as usual.

    Only when Python's default SIGINT handler is in place and this is the
    main thread; otherwise nothing changes (``interrupted`` stays False).
    """
    watch = _Watch()

    def handler(signum, frame):
        watch.interrupted = True
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield watch
        return
    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        yield watch
        return
    try:
        yield watch
    finally:
        signal.signal(signal.SIGINT, previous)
