"""Reading real videos: encoded video files (PyAV), folders of frames, arrays.

:func:`read_video` and :func:`read_frame_folder` return one ``(T, H, W, 3)``
uint8 RGB array per video, the layout that :func:`sklav.utils.check_videos`
accepts for raw frames. :func:`load_video` and :func:`load_videos` turn any
path (a ``.npy`` array, a frame folder or a video file) into a video, as the
``sklav`` command line does with its arguments.
"""

import os
import re

import numpy as np

from ._video_file import _check_path, _check_size, _output_hw, read_video

__all__ = ["read_video", "read_frame_folder", "load_video", "load_videos"]

FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")


def _natural_key(name):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def read_frame_folder(path):
    """Read a folder of image frames (one video) into an array of RGB frames.

    This is the layout of LAV's and Penn Action's released frames: one folder
    per video holding ``000001.jpg``, ``000002.jpg``, ...

    Parameters
    ----------
    path : str or os.PathLike
        The folder. Its ``.jpg``, ``.jpeg`` and ``.png`` files (any case) are
        the frames, sorted by name with digit runs compared as numbers (so
        ``frame2.jpg`` comes before ``frame10.jpg``; zero-padded names sort as
        usual). Other files are ignored. Grey or RGBA images are converted to
        RGB; 16-bit images are scaled to 0-255 (65535 becomes 255).

    Returns
    -------
    frames : ndarray of shape (T, H, W, 3), dtype uint8
        One frame per image file.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist or holds no frame images.
    NotADirectoryError
        If ``path`` is not a folder.
    ValueError
        If an image cannot be decoded or the frames differ in size.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sklav.datasets import read_frame_folder
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = tmp.name
    >>> for i in range(1, 4):
    ...     image = np.full((8, 12, 3), 60 * i, dtype=np.uint8)
    ...     Image.fromarray(image).save(os.path.join(folder, f"{i:06d}.jpg"))
    >>> frames = read_frame_folder(folder)
    >>> frames.shape, frames.dtype
    ((3, 8, 12, 3), dtype('uint8'))
    >>> frames.mean(axis=(1, 2, 3)).round()
    array([ 60., 120., 180.])
    >>> tmp.cleanup()
    """
    files = frame_files(path)
    frames = None
    for i, file in enumerate(files):
        array = read_frame_image(file)
        if frames is None:
            frames = np.empty((len(files),) + array.shape, dtype=np.uint8)
        elif array.shape != frames.shape[1:]:
            raise ValueError(
                f"Frame {str(file)!r} is {array.shape[1]}x{array.shape[0]} (WxH) but "
                f"{str(files[0])!r} is {frames.shape[2]}x{frames.shape[1]}; all frames of a "
                "video must share one size."
            )
        frames[i] = array
    return frames


def frame_files(path):
    """The frame images of a frame folder, in frame order (see :func:`read_frame_folder`)."""
    folder = _check_path(path, "path")
    if not folder.exists():
        raise FileNotFoundError(f"Frame folder {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise NotADirectoryError(f"Frame folder {str(folder)!r} is not a folder.")
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS and p.is_file()),
        key=lambda p: _natural_key(p.name),
    )
    if not files:
        raise FileNotFoundError(
            f"Frame folder {str(folder)!r} holds no frame images ({', '.join(FRAME_EXTENSIONS)})."
        )
    return files


def read_frame_image(file):
    """One frame image as ``(H, W, 3)`` uint8 RGB; a ValueError naming the file if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            return _rgb8(image)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"Could not read frame image {str(file)!r}: {exc}") from exc


def _rgb8(image):
    """A PIL image as ``(H, W, 3)`` uint8 RGB; 16-bit grey scaled to 0-255, not clipped."""
    if image.mode == "I" or image.mode.startswith("I;16"):  # 16-bit grey PNGs
        values = np.asarray(image).astype(np.float64)
        grey = np.rint(np.clip(values, 0, 65535) / 257).astype(np.uint8)  # 65535 / 257 = 255
        return np.repeat(grey[..., None], 3, axis=-1)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _resize_frames(frames, height, width):
    """RGB frames resized to ``(height, width)`` with PIL's bilinear filter."""
    from PIL import Image

    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack(
        [np.asarray(Image.fromarray(f).resize((width, height), Image.BILINEAR)) for f in frames]
    )


def _load_array(path, mmap_mode=None):
    try:
        video = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except Exception as exc:  # numpy raises several types for bad files
        raise ValueError(f"could not read the array file {str(path)!r}: {exc}") from None
    if not isinstance(video, np.ndarray):
        raise ValueError(f"{str(path)!r} holds several arrays; give one .npy array per video.")
    if video.ndim < 2 or video.shape[0] == 0:
        raise ValueError(
            f"{str(path)!r} holds an array of shape {video.shape}; a video needs a time axis "
            "and per-frame axes, e.g. (T, D) features or (T, J, C) poses."
        )
    if not np.issubdtype(video.dtype, np.number) or np.issubdtype(video.dtype, np.complexfloating):
        raise ValueError(f"{str(path)!r} holds an array of dtype {video.dtype}; a video must be numeric.")
    return video


def load_video(path, *, fps=None, size=None):
    """Load one video from a ``.npy`` array, a folder of frames or a video file.

    The kind of input is told by the path: a folder is read with
    :func:`read_frame_folder`, a ``.npy`` file with :func:`numpy.load` (any
    numeric ``(T, ...)`` array: ``(T, D)`` features, ``(T, J, C)`` poses or
    ``(T, H, W, 3)`` frames), and any other file with :func:`read_video`.

    Parameters
    ----------
    path : str or os.PathLike
        The folder or file.
    fps : float or None, default=None
        Video files only: frame rate to resample to (see :func:`read_video`).
    size : int, (int, int) or None, default=None
        Frame folders and video files only: None keeps the frames' size, an
        int resizes their shorter side to ``size`` keeping the aspect ratio,
        a pair resizes to exactly ``(H, W)``. Folders are resized with PIL's
        bilinear filter, video files with FFmpeg's.

    Returns
    -------
    video : ndarray
        ``(T, H, W, 3)`` uint8 frames for folders and video files; the stored
        array for ``.npy`` files.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or is a folder without frame images.
    ValueError
        If the file or a frame cannot be read, or a ``.npy`` file does not
        hold one numeric array with a time axis and per-frame axes; the
        message names the file.
    ImportError
        For a video file when PyAV is not installed.
    TypeError
        For a ``path``, ``fps`` or ``size`` of the wrong type.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sklav.datasets import load_video
    >>> tmp = tempfile.TemporaryDirectory()
    >>> np.save(os.path.join(tmp.name, "poses.npy"), np.zeros((20, 13, 3)))
    >>> load_video(os.path.join(tmp.name, "poses.npy")).shape
    (20, 13, 3)
    >>> folder = os.path.join(tmp.name, "frames")
    >>> os.mkdir(folder)
    >>> for i in range(1, 4):
    ...     image = np.full((8, 12, 3), 60 * i, dtype=np.uint8)
    ...     Image.fromarray(image).save(os.path.join(folder, f"{i:06d}.png"))
    >>> load_video(folder, size=4).shape  # shorter side 4
    (3, 4, 6, 3)
    >>> load_video(os.path.join(tmp.name, "missing.npy"))
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file or folder: '...missing.npy'
    >>> tmp.cleanup()
    """
    path = _check_path(path, "path")
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {str(path)!r}")
    if path.is_dir():
        size = _check_size(size)
        frames = read_frame_folder(path)
        if size is not None:
            frames = _resize_frames(frames, *_output_hw(*frames.shape[1:3], size))
        return frames
    if path.suffix.lower() == ".npy":
        return _load_array(path)
    try:
        return read_video(path, fps=fps, size=size)
    except ImportError as exc:
        raise ImportError(f"cannot read the video file {str(path)!r}: {exc}") from exc


def load_videos(paths, *, fps=None, size=None):
    """Load several videos with :func:`load_video`, with one per-frame shape.

    RGB frames of different sizes are resized (PIL, bilinear) to the first
    video's size; other per-frame shapes must agree.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        One ``.npy`` file, frame folder or video file per video.
    fps, size
        As in :func:`load_video`, for every video.

    Returns
    -------
    videos : list of ndarray
        One array per path, all with the same per-frame shape.

    Raises
    ------
    ValueError
        If the per-frame shapes differ (and are not all RGB frames); the
        message lists every path with its shape. Also as :func:`load_video`.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from sklav.datasets import load_videos
    >>> tmp = tempfile.TemporaryDirectory()
    >>> paths = [os.path.join(tmp.name, f"video{i}.npy") for i in range(2)]
    >>> np.save(paths[0], np.zeros((20, 5)))
    >>> np.save(paths[1], np.zeros((30, 6)))
    >>> load_videos(paths)
    Traceback (most recent call last):
    ...
    ValueError: the videos' per-frame shapes differ: ...video0.npy (5,), ...video1.npy (6,).
    >>> tmp.cleanup()
    """
    if isinstance(paths, (str, os.PathLike)):
        raise TypeError(f"paths must be a sequence of paths, got the single path {str(paths)!r}.")
    paths = list(paths)
    videos = [load_video(p, fps=fps, size=size) for p in paths]
    shapes = {v.shape[1:] for v in videos}
    if len(shapes) > 1:
        if all(v.ndim == 4 and v.shape[-1] == 3 for v in videos):
            h, w = videos[0].shape[1:3]
            return [_resize_frames(v, h, w) for v in videos]
        listing = ", ".join(f"{p} {v.shape[1:]}" for p, v in zip(paths, videos))
        raise ValueError(f"the videos' per-frame shapes differ: {listing}.")
    return videos
