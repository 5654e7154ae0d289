"""What the ``sklav`` command reads: videos and models, their errors as :class:`CLIError`.

- :func:`expand_folders`: folders of videos given as VIDEO, replaced by
  the videos they hold; the command's own outputs and checkpoint folders
  are never read as videos.
- :func:`read_videos`, :func:`open_videos`, :func:`load_model`,
  :func:`videos_for_model`, :func:`embed_videos`: the inputs (loaded, or
  read on demand); :func:`extract_poses`: poses of RGB videos (``--poses``).
"""

import re
import sys
from pathlib import Path

from ._stops import CLIError

__all__ = [
    "expand_folders", "is_checkpoint_folder", "read_videos", "open_videos", "load_model",
    "videos_for_model", "extract_poses", "embed_videos",
]


#: The files a folder of videos contributes (with sub-folders of frames).
VIDEO_EXTENSIONS = (".npy", ".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


def _natural_key(name):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def is_checkpoint_folder(path):
    """Whether ``path`` is a checkpoint folder of :class:`~sklav.LAVEncoder` (``checkpoint=``).

    Told by its layout: it holds ``fit-<key>`` folders with a
    ``fingerprint.json`` (or is one).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklav.cli._inputs import is_checkpoint_folder
    >>> folder = tempfile.TemporaryDirectory()
    >>> os.makedirs(os.path.join(folder.name, "fit-0123456789abcdef"))
    >>> open(os.path.join(folder.name, "fit-0123456789abcdef", "fingerprint.json"), "w").close()
    >>> is_checkpoint_folder(folder.name), is_checkpoint_folder(tempfile.gettempdir() + "/no-such")
    (True, False)
    >>> folder.cleanup()
    """
    path = Path(path)
    if not path.is_dir():
        return False
    if path.name.startswith("fit-") and (path / "fingerprint.json").is_file():
        return True
    return any(p.name.startswith("fit-") and (p / "fingerprint.json").is_file() for p in path.iterdir())


def _same_path(a, b):
    return Path(a).resolve() == Path(b).resolve()


def expand_folders(paths, *, exclude=()):
    """Each path, or for a folder of videos the videos in it (not recursive), in name order.

    A folder holding sub-folders (of frames), video files (by extension) or
    ``.npy`` arrays is a folder of videos; any other folder is one video, a
    folder of frames. Inside a folder of videos, hidden entries, the paths
    in ``exclude`` (the command's outputs and checkpoint folder) and any
    checkpoint folder are passed over, each with a note on stdout.
    """
    out = []
    for path in map(Path, paths):
        entries = sorted(path.iterdir(), key=lambda p: _natural_key(p.name)) if path.is_dir() else []
        videos = []
        for entry in entries:
            if entry.name.startswith(".") or not (entry.is_dir() or entry.suffix.lower() in VIDEO_EXTENSIONS):
                continue
            if any(_same_path(entry, other) for other in exclude) or is_checkpoint_folder(entry):
                print(f"Passing over {str(entry)!r}: a checkpoint folder or output, not a video.")
                continue
            videos.append(str(entry))
        out.extend(videos or [str(path)])
    return out


def open_videos(paths, *, size=None):
    """The videos of ``paths`` read on demand (:func:`sklav.datasets.open_video`), errors as CLIError.

    As :func:`read_videos`, RGB videos of other sizes are resized to the first one's.
    """
    from ..datasets import VideoFile, open_video

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
    from ..datasets import load_video, load_videos

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

    from ..encoders import LAVEncoder, is_model_file, load

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


def extract_poses(paths, encoder, fps=None):
    """The poses of RGB videos (:class:`sklav.PoseExtractor`) as ``encoder`` takes them.

    A model fitted with ``keypoint_layout`` gets that layout's keypoints in
    pixels; any other gets Penn Action's 13 joints ``(x, y, visible)``, a
    joint visible when its confidence is at least 0.5 (invisible ones at 0).
    Video files and frame folders are streamed; with ``fps`` they are
    resampled first (read whole).
    """
    import numpy as np

    from ..datasets.keypoints import CONFIDENCE_THRESHOLD
    from ..poses import PoseExtractor

    layout = getattr(encoder, "keypoint_layout", None)
    try:
        keypoints = PoseExtractor(layout=layout or "penn13").transform(
            paths if fps is None else read_videos(paths, fps=fps, same_shape=False))
    except (ImportError, OSError, ValueError) as exc:  # their messages name the file
        raise CLIError(f"--poses: {exc}") from None
    if layout is not None:
        return keypoints
    out = []
    for k in keypoints:
        visible = (k[..., 2] >= CONFIDENCE_THRESHOLD) & np.isfinite(k[..., :2]).all(-1)
        out.append(np.concatenate([np.where(visible[..., None], k[..., :2], 0), visible[..., None]], -1,
                                  dtype=np.float32))
    return out


def videos_for_model(paths, encoder, fps=None, lazy=False, poses=False):
    """Videos in the layout the model was fitted on (RGB resized to its frames).

    ``lazy=True`` reads them on demand (not with ``fps``, which needs every frame);
    ``poses=True`` extracts poses from RGB videos (:func:`extract_poses`).
    """
    size = tuple(encoder.frame_shape_[:2]) if encoder.frame_kind_ == "images" else None
    if poses:
        if encoder.frame_kind_ != "poses":
            raise CLIError(f"--poses extracts poses, but the model was fitted on {encoder.frame_kind_}.")
        videos = extract_poses(paths, encoder, fps=fps)
        if getattr(encoder, "keypoint_layout", None) is not None:
            return videos  # checked and converted by the encoder
    elif lazy and fps is None:
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
