"""Reading encoded video files with PyAV: :func:`read_video`.

Also the argument checks shared with the frame-folder readers of
``_video.py`` (paths and output sizes).
"""

import math
import numbers
import os
import stat
import warnings
from pathlib import Path

import numpy as np

__all__ = ["read_video"]

_TIME_TOL = 1e-6  # seconds; timestamps closer than this are equal
MAX_FRAMES = 100_000  # read_video's default frame budget


def _import_av():
    try:
        import av
    except ImportError as exc:
        raise ImportError(
            "read_video needs PyAV (the 'av' package), an optional dependency of "
            "sklav: pip install 'sklav[video]' (or pip install av)."
        ) from exc
    return av


def _check_path(path, what):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a path (str or os.PathLike), got {type(path).__name__}.")
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
    except OSError:  # missing: the reader says so in its own words
        return path
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # reading a FIFO, socket or device would block forever or never end
        raise ValueError(f"{str(path)!r} is not a regular file or folder (a FIFO, socket or device); "
                         "give a video file, a frame folder or a .npy file.")
    return path


def _check_size(size):
    """Validate ``size``: None, an int (shorter side) or a pair (H, W)."""
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        if size < 1:
            raise ValueError(f"size must be positive, got {size}.")
        return int(size)
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size
    ):
        if min(size) < 1:
            raise ValueError(f"size (H, W) must be positive, got {tuple(size)}.")
        return (int(size[0]), int(size[1]))
    raise TypeError(
        f"size must be None, an int (shorter side) or a pair of ints (H, W), got {size!r}."
    )


def _output_hw(height, width, size):
    if size is None:
        return height, width
    if isinstance(size, tuple):
        return size
    if height <= width:
        return size, max(1, int(round(width * size / height)))
    return max(1, int(round(height * size / width))), size


def read_video(path, fps=None, size=None, *, max_frames=MAX_FRAMES):
    """Read a video file into an array of RGB frames, with PyAV.

    Parameters
    ----------
    path : str or os.PathLike
        A video file any FFmpeg build can decode (mp4, avi, webm, ...). The
        first video stream is read.
    fps : float or None, default=None
        None keeps every decoded frame. Otherwise the video is resampled to
        ``fps`` frames per second by timestamp: output frame ``k`` is the last
        frame shown at time ``t0 + k / fps`` (``t0``: the first frame's
        time), for every such time within the video's duration, so frames are
        dropped (lower rate) or repeated (higher rate).
    size : int, (int, int) or None, default=None
        None keeps the decoded size; an int resizes the shorter side to
        ``size`` keeping the aspect ratio (the other side rounded); a pair
        resizes to exactly ``(H, W)``. Resizing uses FFmpeg's bilinear
        scaler.
    max_frames : int or None, default=100_000
        The most frames to return: a larger count, estimated from the
        file's header before decoding (e.g. for a very high ``fps``) or
        reached while decoding, raises a ValueError. None for no limit.

    Returns
    -------
    frames : ndarray of shape (T, H, W, 3), dtype uint8
        RGB frames in presentation order.

    Raises
    ------
    ImportError
        If PyAV is not installed (``pip install 'sklav[video]'``).
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be opened or decoded (damaged or truncated), has
        no video stream or no frames, would give more than ``max_frames``
        frames, or for a non-positive ``fps``/``size``/``max_frames``; the
        message names the file.
    TypeError
        For a ``path``, ``fps``, ``size`` or ``max_frames`` of the wrong type.

    Warns
    -----
    UserWarning
        If fewer frames can be decoded than the file's header declares (a
        truncated file); the frames decoded are returned.

    Examples
    --------
    >>> import tempfile, os
    >>> import av, numpy as np
    >>> from sklav.datasets import read_video
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "clip.mp4")
    >>> with av.open(path, "w") as out:
    ...     stream = out.add_stream("mpeg4", rate=10)
    ...     stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    ...     for i in range(10):
    ...         image = np.full((48, 64, 3), 20 * i, dtype=np.uint8)
    ...         frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    ...         out.mux(stream.encode(frame))
    ...     out.mux(stream.encode())
    >>> read_video(path).shape
    (10, 48, 64, 3)
    >>> read_video(path, fps=5, size=24).shape  # every other frame, shorter side 24
    (5, 24, 32, 3)
    >>> tmp.cleanup()
    """
    path = _check_path(path, "path")
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
            raise TypeError(f"fps must be None or a positive number, got {fps!r}.")
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}.")
        fps = float(fps)
    size = _check_size(size)
    if max_frames is not None:
        if isinstance(max_frames, bool) or not isinstance(max_frames, numbers.Integral):
            raise TypeError(f"max_frames must be None or a positive int, got {max_frames!r}.")
        if max_frames < 1:
            raise ValueError(f"max_frames must be a positive int, got {max_frames!r}.")
    if not path.exists():
        raise FileNotFoundError(f"Video file {str(path)!r} does not exist.")
    if not path.is_file():
        raise ValueError(f"Video path {str(path)!r} is not a file.")
    av = _import_av()

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise ValueError(f"Could not open video file {str(path)!r} (damaged, truncated or not a "
                         f"video): {exc}") from exc

    out = []
    with container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        budget = _FrameBudget(path, fps, max_frames)
        budget.check(_expected_frames(container, stream, fps))
        hw = None
        times = []
        pending = None  # (time, frame) last decoded, not yet emitted for all its targets
        next_k = 0
        n_decoded = 0

        def convert(frame):
            return frame.reformat(width=hw[1], height=hw[0], format="rgb24", threads=1).to_ndarray()

        def emit_until(frame, t_end):
            # Emit `frame` for every target time strictly before t_end.
            nonlocal next_k
            array = None
            while times[0] + next_k / fps < t_end - _TIME_TOL:
                if array is None:
                    array = convert(frame)
                out.append(array)
                budget.check(len(out))
                next_k += 1

        try:
            for i, frame in enumerate(container.decode(stream)):
                n_decoded = i + 1
                if hw is None:
                    hw = _output_hw(frame.height, frame.width, size)
                if fps is None:
                    out.append(convert(frame))
                    budget.check(len(out))
                    continue
                if frame.time is not None:
                    t = float(frame.time)
                else:
                    t = i / float(rate) if rate else i / fps
                times.append(t)
                if pending is not None:
                    emit_until(pending, t)
                pending = frame
        except _FrameBudgetError:
            raise
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise ValueError(f"Could not decode video file {str(path)!r} (damaged or truncated): "
                             f"{exc}") from exc
        if fps is not None and pending is not None:
            diffs = np.diff(times)
            diffs = diffs[diffs > _TIME_TOL]
            if diffs.size:
                interval = float(np.median(diffs))
            else:
                interval = 1.0 / float(rate) if rate else 1.0 / fps
            emit_until(pending, times[-1] + interval)
            if not out:  # a single target time always exists: t0 itself
                out.append(convert(pending))
        _check_decoded(path, n_decoded, stream.frames)
    return np.stack(out)


class _FrameBudgetError(ValueError):
    pass


class _FrameBudget:
    """Raises once a video would give more than ``max_frames`` frames."""

    def __init__(self, path, fps, max_frames):
        self.path, self.fps, self.max_frames = path, fps, max_frames

    def check(self, n_frames):
        if self.max_frames is None or n_frames is None or n_frames <= self.max_frames:
            return
        at = "" if self.fps is None else f" at fps={self.fps:g}"
        raise _FrameBudgetError(
            f"Reading video file {str(self.path)!r}{at} would give about {n_frames} frames, more "
            f"than max_frames={self.max_frames}; lower fps or raise max_frames."
        )


def _video_stream(container, path):
    """The first video stream of an open container; a clear error for damaged files."""
    kinds = ", ".join(sorted({s.type for s in container.streams}))
    if not (container.streams.video or container.streams.audio):  # no media: not a full file
        found = f"only {kinds} streams" if kinds else "no stream"
        raise ValueError(f"Video file {str(path)!r} is unreadable: {found} could be read from it "
                         "(truncated or not a video file).")
    if not container.streams.video:
        raise ValueError(f"Video file {str(path)!r} has no video stream (only {kinds}).")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise ValueError(f"Video file {str(path)!r} is unreadable: its video stream has no codec "
                         "parameters (truncated or damaged file).")
    return stream


def _expected_frames(container, stream, fps):
    """The frame count the header announces (resampled to ``fps``), or None if unknown."""
    if stream.duration is not None and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1e6  # AV_TIME_BASE
    else:
        duration = None
    rate = fps or (None if stream.frames else stream.average_rate or stream.guessed_rate)
    if not rate:
        return stream.frames or None
    return None if duration is None else max(1, math.ceil(duration * float(rate) - _TIME_TOL))


def _check_decoded(path, n_decoded, n_declared):
    declared = f"; its header declares {n_declared}" if n_declared else ""
    if n_decoded == 0:
        raise ValueError(f"Video file {str(path)!r} has no decodable frames{declared} "
                         "(truncated or damaged file).")
    if n_decoded < n_declared:
        warnings.warn(f"Video file {str(path)!r}: decoded {n_decoded} frames{declared}; the file "
                      "may be truncated.", UserWarning, stacklevel=3)
