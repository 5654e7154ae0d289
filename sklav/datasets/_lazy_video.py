"""Videos on disk read on demand: :class:`VideoFile` and :func:`open_video`.

A :class:`VideoFile` knows its frame count and frame shape without holding
any frame; indexing it decodes only the frames asked for. Training and
``transform`` read videos this way, so their memory is bounded by a batch,
not by the dataset.
"""

import hashlib

import numpy as np

from ._video import _load_array, _resize_frames, frame_files, read_frame_image
from ._video_file import _check_decoded, _check_path, _check_size, _import_av, _output_hw, _video_stream

__all__ = ["VideoFile", "open_video"]

# Containers whose header counts the frames from an index of every sample.
_INDEXED_FORMATS = ("mov", "mp4", "matroska")


def _is_indexed(container):
    """Whether the container's header indexes every frame (its sample table)."""
    return any(name in container.format.name.split(",") for name in _INDEXED_FORMATS)


class VideoFile:
    """A video file or a folder of frames, decoded on demand.

    ``len(video)`` and ``video.shape`` are known from the start;
    ``video[indices]`` (an int, a slice or an array of ints) decodes only the
    frames it needs and returns them as ``(n, H, W, 3)`` uint8 RGB, the
    frames :func:`~sklav.datasets.load_video` would give. ``np.asarray(video)``
    decodes every frame.

    Parameters
    ----------
    path : str or os.PathLike
        A video file (any format PyAV decodes) or a folder of ``.jpg``/``.png``
        frames (as :func:`~sklav.datasets.read_frame_folder`).
    size : int, (int, int) or None, default=None
        Resize at decode time, as :func:`~sklav.datasets.load_video`.

    Attributes
    ----------
    shape : tuple
        ``(T, H, W, 3)``. For an mp4, mov or mkv file ``T`` is the frame count
        of the container's sample index; for other files it is counted once by
        decoding the file (without keeping frames). A file that decodes to
        fewer frames than its index announces raises a ``ValueError`` when a
        missing frame is asked for.
    identity : str
        The path, byte size and modification time (of every frame, for a
        folder) and ``size``: what a cache of results on this video is keyed by.
    frames_decoded : int
        Frames decoded so far by indexing or iterating this object, in this
        process (not counting what opening it read).

    Notes
    -----
    In an mp4, mov or mkv file each frame asked for is decoded from the
    keyframe at or before it, found in the container's sample index (read
    once, without decoding); frames asked for between two keyframes share
    one pass. Other files, and files whose index does not match their
    frames, are decoded from the start up to the last frame asked for.
    Frames decoded but not asked for are not converted to RGB.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sklav.datasets import VideoFile, read_frame_folder
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for i in range(5):
    ...     image = np.full((8, 12, 3), 40 * i, dtype=np.uint8)
    ...     Image.fromarray(image).save(os.path.join(tmp.name, f"{i:06d}.png"))
    >>> video = VideoFile(tmp.name)
    >>> len(video), video.shape
    (5, (5, 8, 12, 3))
    >>> video[[4, 1]].mean(axis=(1, 2, 3))
    array([160.,  40.])
    >>> video.frames_decoded
    2
    >>> np.array_equal(np.asarray(video), read_frame_folder(tmp.name))
    True
    >>> tmp.cleanup()
    """

    ndim = 4
    dtype = np.dtype(np.uint8)

    def __init__(self, path, size=None):
        self.path = _check_path(path, "path")
        self.size = _check_size(size)
        if not self.path.exists():
            raise FileNotFoundError(f"no such file or folder: {str(self.path)!r}")
        self.frames_decoded = 0
        self._keyframe_index = None  # built on the first decode that can seek
        if self.path.is_dir():
            self._files = frame_files(self.path)
            self._image_shape = read_frame_image(self._files[0]).shape
            height, width = _output_hw(*self._image_shape[:2], self.size)
            self.shape = (len(self._files), height, width, 3)
            stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in self._files]
            digest = hashlib.sha256(repr(stats).encode()).hexdigest()[:16]
            self.identity = f"{self.path.resolve()}|frames:{digest}|size={self.size}"
        else:
            self._files = None
            self.shape = self._probe()
            stat = self.path.stat()
            self.identity = f"{self.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|size={self.size}"

    def __repr__(self):
        return f"VideoFile({str(self.path)!r}, shape={self.shape})"

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        frames = np.concatenate(list(self.iter_chunks(256)))
        return frames if dtype is None else frames.astype(dtype)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._read(np.arange(len(self))[key])
        indices = np.asarray(key)
        if indices.dtype == bool or not np.issubdtype(indices.dtype, np.integer) or indices.ndim > 1:
            raise IndexError(f"a VideoFile is indexed by an int, a slice or a 1-D array of ints, got {key!r}.")
        if ((indices < -len(self)) | (indices >= len(self))).any():
            raise IndexError(f"frame index out of range for {self!r}: {key!r}")
        frames = self._read(np.where(indices < 0, indices + len(self), indices).reshape(-1))
        return frames[0] if indices.ndim == 0 else frames

    def _read(self, indices):
        """Frames ``indices`` (in that order), each distinct frame decoded once."""
        if len(indices) == 0:
            return np.empty((0,) + self.shape[1:], dtype=np.uint8)
        needed, inverse = np.unique(indices, return_inverse=True)
        if self._files is not None:
            frames = self._read_images(needed)
        else:
            frames = np.stack(self._decode_seeking(needed) or list(self._decode(needed)))
        return frames[inverse.reshape(-1)]

    def iter_chunks(self, chunk_size):
        """Every frame in order, ``chunk_size`` at a time, decoding the video once."""
        if self._files is not None:
            for start in range(0, len(self), chunk_size):
                yield self._read_images(range(start, min(start + chunk_size, len(self))))
            return
        chunk = []
        for frame in self._decode(None):
            chunk.append(frame)
            if len(chunk) == chunk_size:
                yield np.stack(chunk)
                chunk = []
        if chunk:
            yield np.stack(chunk)

    # ------------------------------------------------------------------

    def _read_images(self, indices):
        frames = []
        for i in indices:
            frame = read_frame_image(self._files[i])
            if frame.shape != self._image_shape:
                raise ValueError(
                    f"Frame {str(self._files[i])!r} is {frame.shape[1]}x{frame.shape[0]} (WxH) but "
                    f"{str(self._files[0])!r} is {self._image_shape[1]}x{self._image_shape[0]}; all "
                    "frames of a video must share one size."
                )
            frames.append(frame)
        self.frames_decoded += len(frames)
        return _resize_frames(np.stack(frames), *self.shape[1:3])

    def _open(self):
        av = _import_av()
        try:
            container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise ValueError(f"Could not open video file {str(self.path)!r} (damaged, truncated or not a "
                             f"video): {exc}") from exc
        stream = _video_stream(container, self.path)
        stream.thread_type = "AUTO"
        return av, container, stream

    def _probe(self):
        """``(T, H, W, 3)`` from the header when it indexes every frame, else by decoding once."""
        av, container, stream = self._open()
        with container:
            declared = stream.frames
            count = declared if _is_indexed(container) and declared > 0 else None
            n_decoded = 0
            try:
                for frame in container.decode(stream):
                    if n_decoded == 0:
                        height, width = _output_hw(frame.height, frame.width, self.size)
                    n_decoded += 1
                    if count is not None:
                        break
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                raise ValueError(f"Could not decode video file {str(self.path)!r} (damaged or truncated): "
                                 f"{exc}") from exc
            _check_decoded(self.path, n_decoded, 0 if count is not None else declared)
        return (count if count is not None else n_decoded, height, width, 3)

    def _seek_index(self):
        """``(pts, keyframes)`` of :meth:`_read_seek_index`, read once; None where it cannot seek."""
        if self._keyframe_index is None:
            self._keyframe_index = self._read_seek_index() or ()
        return self._keyframe_index or None

    def _read_seek_index(self):
        """Each frame's presentation timestamp, in order, and the sorted frame
        numbers of the keyframes, from the packets of an indexed container (no
        decoding). None where they cannot be trusted: another container, a
        packet without a timestamp, a timestamp twice, a count other than
        ``len(self)``, or a first frame that is no keyframe.
        """
        av, container, stream = self._open()
        with container:
            if not _is_indexed(container):
                return None
            try:
                packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.size]
            except (av.error.FFmpegError, OSError, ValueError):
                return None
        pts = np.sort(np.array([p for p, _ in packets if p is not None], dtype=np.int64))
        if not (len(pts) == len(packets) == len(self) and (np.diff(pts) > 0).all()):
            return None
        keyframes = np.unique(np.searchsorted(pts, [p for p, key in packets if key]))
        return (pts, keyframes) if len(keyframes) and keyframes[0] == 0 else None

    def _decode_seeking(self, needed):
        """The RGB frames ``needed`` (sorted, distinct), each decoded from the
        keyframe at or before it (one pass for frames that share it); None
        where the file cannot seek or its frames do not match its index (the
        caller then decodes from the start)."""
        index = self._seek_index()
        if index is None:
            return None
        pts, keyframes = index
        frame_of = {int(p): i for i, p in enumerate(pts)}
        starts = keyframes[np.searchsorted(keyframes, needed, side="right") - 1]
        frames, decoder, next_frame = [], None, 0
        av, container, stream = self._open()
        with container:
            try:
                for wanted, start in zip(needed.tolist(), starts.tolist()):
                    sought = None
                    if decoder is None or start > next_frame:  # decoding on would pass a keyframe
                        container.seek(int(pts[start]), stream=stream, backward=True, any_frame=False)
                        decoder, sought = container.decode(stream), start
                    for frame in decoder:
                        self.frames_decoded += 1
                        i = frame_of.get(frame.pts, len(self))
                        if sought is not None and i != sought:  # not where the index said
                            return None
                        sought = None
                        if i >= wanted:
                            break
                    else:
                        return None
                    if i != wanted:
                        return None
                    frames.append(self._to_rgb(frame))
                    next_frame = wanted + 1
            except (av.error.FFmpegError, OSError, ValueError):
                return None
        return frames

    def _to_rgb(self, frame):
        height, width = _output_hw(frame.height, frame.width, self.size)
        return frame.reformat(width=width, height=height, format="rgb24", threads=1).to_ndarray()

    def _decode(self, needed):
        """Decode from the start; yield the RGB frames ``needed`` (sorted), or all for None."""
        av, container, stream = self._open()
        last = len(self) - 1 if needed is None else int(needed[-1])
        wanted = None if needed is None else set(needed.tolist())
        i = -1
        with container:
            try:
                for i, frame in enumerate(container.decode(stream)):
                    self.frames_decoded += 1
                    if wanted is None or i in wanted:
                        yield self._to_rgb(frame)
                    if i == last:
                        return
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                raise ValueError(f"Could not decode video file {str(self.path)!r} (damaged or truncated): "
                                 f"{exc}") from exc
        raise ValueError(f"Video file {str(self.path)!r} announces {len(self)} frames, but only {i + 1} "
                         "could be decoded (truncated or damaged file).")


def open_video(path, *, size=None):
    """A video from a path, read on demand: the lazy counterpart of :func:`load_video`.

    Parameters
    ----------
    path : str or os.PathLike
        A video file or a frame folder (a :class:`VideoFile`), or a ``.npy``
        array (memory-mapped, read-only).
    size : int, (int, int) or None, default=None
        Resize RGB frames at decode time (video files and frame folders).

    Returns
    -------
    video : VideoFile or numpy.memmap

    Raises
    ------
    FileNotFoundError, ValueError, ImportError, TypeError
        As :func:`load_video`; the message names the path.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from sklav.datasets import open_video
    >>> tmp = tempfile.TemporaryDirectory()
    >>> np.save(os.path.join(tmp.name, "poses.npy"), np.zeros((20, 13, 3)))
    >>> open_video(os.path.join(tmp.name, "poses.npy")).shape
    (20, 13, 3)
    >>> tmp.cleanup()
    """
    path = _check_path(path, "path")
    if path.suffix.lower() == ".npy" and path.is_file():
        return _load_array(path, mmap_mode="r")
    return VideoFile(path, size=size)

