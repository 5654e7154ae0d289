"""PoseExtractor: videos (files, frame folders or RGB arrays) to per-frame keypoints.

Frames are read in chunks (:meth:`sklav.datasets.VideoFile.iter_chunks` for
files and folders, slices for arrays), so a long video is never held whole
in memory, and go one by one, in order, through one opened backend
(:mod:`sklav.poses._backends`) per video; the keypoints are then mapped to
the asked layout with :func:`sklav.datasets.convert_keypoints`.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin

from ..datasets import KEYPOINT_LAYOUTS, VideoFile, convert_keypoints, open_video
from ..utils.param_validation import Interval, StrOptions
from ._backends import BACKENDS

__all__ = ["PoseExtractor", "PoseWarning", "missing_frames"]

LAYOUTS = ("penn13", "blazepose33", "coco17")


class PoseWarning(UserWarning):
    """Frames of a video where the pose backend found no person."""


def missing_frames(keypoints):
    """The number of frames without a person (every confidence 0) in each keypoint array.

    Parameters
    ----------
    keypoints : list of array-like of shape (T, J, 3)
        What :meth:`PoseExtractor.transform` returns.

    Returns
    -------
    counts : list of int

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.poses import missing_frames
    >>> k = np.ones((4, 13, 3), dtype=np.float32)
    >>> k[1:3, :, 2] = 0
    >>> missing_frames([k])
    [2]
    """
    return [int((np.asarray(k)[..., 2] == 0).all(-1).sum()) for k in keypoints]


class PoseExtractor(TransformerMixin, BaseEstimator):
    """Per-frame 2D keypoints of one person per video, from RGB videos.

    A scikit-learn transformer to put in front of an encoder on poses:
    ``make_pipeline(PoseExtractor(), encoder)`` embeds video files. It learns
    nothing: ``fit`` only checks the parameters.

    Parameters
    ----------
    layout : {'penn13', 'blazepose33', 'coco17'}, default='penn13'
        The joints returned (:data:`sklav.datasets.KEYPOINT_LAYOUTS`).
        ``'penn13'``: Penn Action's 13 joints, with Penn's side convention
        (its "left" joints are the person's right ones); the head is the
        mean of the visible face points.
    backend : {'mediapipe', 'mediapipe-tasks', 'keypointrcnn'}, default='mediapipe'
        ``'mediapipe'``: MediaPipe's legacy pose solution (BlazePose,
        ``model_complexity=1``, the model bundled in the 0.10.21 wheels; no
        network needed), in video mode. ``'mediapipe-tasks'``: MediaPipe
        Tasks' PoseLandmarker with the ``.task`` file ``model_path``.
        ``'keypointrcnn'``: torchvision's Keypoint R-CNN (``weights``).
    model_path : str, path-like or None, default=None
        The ``.task`` model of ``backend='mediapipe-tasks'`` (required there).
    weights : str or None, default='DEFAULT'
        Keypoint R-CNN's weights (``backend='keypointrcnn'``): a
        ``KeypointRCNN_ResNet50_FPN_Weights`` name, read from torchvision's
        cache or downloaded; offline without the file, ``transform`` raises
        a RuntimeError naming the file to copy. None: random weights
        (nothing downloaded; for tests).
    min_confidence : float in [0, 1], default=0.5
        The backend's person detection (and tracking) threshold.
    fps : float, default=30.0
        Frame rate used for MediaPipe Tasks' timestamps (video mode).
    chunk_size : int, default=64
        Frames decoded at a time: memory is bounded by one chunk per job.
    n_jobs : int or None, default=None
        Videos processed in parallel (joblib); each job opens its own backend.
    verbose : int, default=0
        A tqdm progress bar per video (frames) when positive.

    Notes
    -----
    One person per video: MediaPipe detects a person in the first frame
    where it finds one, then tracks that person's landmarks from frame to
    frame and detects again only when the track is lost (with several people
    it may switch after a loss); Keypoint R-CNN takes the highest-scoring
    person, then the one whose box overlaps the last box most. A frame
    without a person is kept, with NaN coordinates and confidence 0 (as
    :func:`~sklav.datasets.convert_keypoints` marks missing joints); a
    :class:`PoseWarning` names each video with such frames and their
    count, and :func:`missing_frames` counts them in the output.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.poses import PoseExtractor, missing_frames
    >>> blank = np.zeros((3, 64, 64, 3), dtype=np.uint8)  # nobody there
    >>> poses = PoseExtractor().fit_transform([blank])  # doctest: +SKIP
    >>> poses[0].shape, missing_frames(poses)  # doctest: +SKIP
    ((3, 13, 3), [3])
    """

    _parameter_constraints = {
        "layout": [StrOptions(set(LAYOUTS))],
        "backend": [StrOptions(set(BACKENDS))],
        "model_path": [None, str, os.PathLike],
        "weights": [None, str],
        "min_confidence": [Interval(Real, 0, 1, closed="both")],
        "fps": [Interval(Real, 0, None, closed="neither")],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
    }

    def __init__(self, *, layout="penn13", backend="mediapipe", model_path=None, weights="DEFAULT",
                 min_confidence=0.5, fps=30.0, chunk_size=64, n_jobs=None, verbose=0):
        self.layout = layout
        self.backend = backend
        self.model_path = model_path
        self.weights = weights
        self.min_confidence = min_confidence
        self.fps = fps
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X=None, y=None):
        """Check the parameters; nothing is learned.

        Parameters
        ----------
        X, y : ignored
            Accepted for pipelines.

        Returns
        -------
        self : PoseExtractor
        """
        self._validate_params()
        if self.backend == "mediapipe-tasks" and self.model_path is None:
            raise ValueError("backend='mediapipe-tasks' needs model_path, a pose_landmarker .task file.")
        return self

    def transform(self, X):
        """The keypoints of every frame of each video.

        Parameters
        ----------
        X : list, tuple or 1-D object array
            Videos: paths of video files, frame folders or ``.npy`` arrays
            (read with :func:`sklav.datasets.open_video`), :class:`~sklav.datasets.VideoFile`
            objects, or ``(T, H, W, 3)`` uint8 RGB arrays.

        Returns
        -------
        keypoints : list of ndarray of shape (T_i, J, 3), float32
            Pixel ``x``, ``y`` and the backend's confidence, per frame of
            each video (``J`` the layout's joints); NaN and 0 where missing.
        """
        self.fit()
        videos = _check_input(X)
        factory = (self.backend, self._backend_params())
        jobs = (delayed(_extract)(video, name, factory, self.layout, self.chunk_size, self.verbose)
                for name, video in videos)
        results = Parallel(n_jobs=self.n_jobs)(jobs)
        for (name, _), (_, n_missing, n_frames) in zip(videos, results):
            if n_missing:
                warnings.warn(f"PoseExtractor: no person found in {n_missing} of {n_frames} frames of "
                              f"{name} (kept, confidence 0).", PoseWarning, stacklevel=3)
        return [keypoints for keypoints, _, _ in results]

    def _backend_params(self):
        params = dict(min_confidence=self.min_confidence)
        if self.backend == "mediapipe-tasks":
            params.update(model_path=self.model_path, fps=self.fps)
        if self.backend == "keypointrcnn":
            params.update(weights=self.weights)
        return params

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False  # a list of videos
        tags.requires_fit = False
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _check_input(X):
    """``(name, video)`` for each video of ``X``: paths opened lazily, arrays checked."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        raise TypeError("X must be a list of videos, not one array; wrap a single video in a list.")
    if isinstance(X, (str, os.PathLike)) or not hasattr(X, "__len__") or len(X) == 0:
        raise TypeError(f"X must be a non-empty list of videos (paths or (T, H, W, 3) arrays), got {X!r}.")
    out = []
    for i, video in enumerate(X):
        name = f"X[{i}]"
        if isinstance(video, (str, os.PathLike)):
            name = repr(str(video))
            video = open_video(video)
        elif not isinstance(video, VideoFile):
            video = np.asarray(video)
        if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
            raise ValueError(f"{name} must be RGB frames of shape (T, H, W, 3), uint8; got shape "
                             f"{video.shape} and dtype {video.dtype}.")
        out.append((name, video))
    return out


def _chunks(video, chunk_size):
    if isinstance(video, VideoFile):
        yield from video.iter_chunks(chunk_size)
        return
    for start in range(0, len(video), chunk_size):
        yield np.asarray(video[start:start + chunk_size])


def _extract(video, name, factory, layout, chunk_size, verbose):
    """One video's keypoints in ``layout``, its frames without a person, its frame count."""
    from tqdm.auto import tqdm

    backend_name, params = factory
    frames = []
    with BACKENDS[backend_name](**params) as backend, \
            tqdm(total=len(video), desc=name, unit="frame", disable=not verbose) as bar:
        for chunk in _chunks(video, chunk_size):
            frames.extend(backend.process(frame) for frame in chunk)
            bar.update(len(chunk))
    native = (np.stack(frames) if frames else np.empty((0, backend.n_joints, 3), np.float32))
    keypoints = native if layout == backend.layout else convert_keypoints(native, backend.layout, layout)
    keypoints = keypoints.astype(np.float32, copy=False)
    n_missing = missing_frames([keypoints])[0]
    assert keypoints.shape[1] == len(KEYPOINT_LAYOUTS[layout])
    return keypoints, n_missing, len(frames)
