"""Validation of ragged video inputs: videos, embeddings, labels and parameters.

- :func:`check_videos`, :func:`check_embeddings`: lists of videos, of
  per-frame embeddings ``(T_i, D)``.
- :func:`check_frame_labels`, :func:`check_label_list`: per-frame labels,
  with or without their videos.
- :func:`check_metric`, :func:`check_positive_int`: metric and count parameters.

A *video* is an array whose first axis is time: ``(T, H, W, 3)`` RGB frames,
``(T, J, C)`` poses or ``(T, D)`` features. A collection of videos is a list,
a tuple or a 1-D object array of such arrays (numpy arrays or torch tensors);
their lengths ``T`` may differ, their per-frame shapes may not. A video may
also be read on demand: an object with ``shape``, ``dtype``, ``ndim``,
``len()`` and indexing (such as :class:`sklav.datasets.VideoFile`) is kept as
it is, never loaded whole.
"""

import numbers
import os

import numpy as np
from scipy.spatial.distance import cdist


def _to_numpy(video):
    if hasattr(video, "detach") and hasattr(video, "cpu"):  # a torch tensor
        return video.detach().cpu().numpy()
    return np.asarray(video)


def _is_lazy(video):
    """A video read on demand: array-like metadata and indexing, but not an array or tensor."""
    if isinstance(video, np.ndarray) or hasattr(video, "detach"):
        return False
    return all(hasattr(video, name) for name in ("shape", "dtype", "ndim", "__getitem__", "__len__"))


def _open(video, where, open_path):
    if open_path is None:
        raise TypeError(
            f"{where} is the path {str(video)!r}; open it first (sklav.datasets.open_video) or pass arrays."
        )
    try:
        return open_path(video)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{where} ({str(video)!r}) cannot be read as a video: {exc}") from None


def _single_array_error(name, shape):
    return ValueError(
        f"{name} is a single {len(shape)}-D array of shape {shape}; pass a list "
        f"of videos, e.g. [{name}] for one video of {shape[0]} frames."
    )


def _as_video_list(X, name, split_arrays=True):
    if isinstance(X, (str, os.PathLike)):
        raise TypeError(f"{name} must be a list, tuple or 1-D object array of videos or paths, got the "
                        f"single path {str(X)!r}; e.g. [{name}] for one video.")
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2 or (X.ndim > 2 and not split_arrays):
            raise _single_array_error(name, X.shape)
        if X.ndim < 2:
            raise ValueError(f"{name} must be a list of videos, got an array of shape {X.shape}.")
        return list(X)
    if isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise ValueError(f"{name} as an object array must be 1-D, got shape {X.shape}.")
        return list(X)
    if isinstance(X, (list, tuple)):
        return list(X)
    if hasattr(X, "detach"):
        if X.dim() > 2 and not split_arrays:
            raise _single_array_error(name, tuple(X.shape))
        if X.dim() <= 2:
            raise ValueError(
                f"{name} is a single tensor of shape {tuple(X.shape)}; pass a list of videos."
            )
        return list(X)
    raise TypeError(
        f"{name} must be a list, tuple or 1-D object array of videos, got {type(X).__name__}."
    )


def check_videos(
    X,
    *,
    name="X",
    min_videos=1,
    min_frames=1,
    frame_ndim=None,
    frame_shape=None,
    dtype=None,
    allow_nan=False,
    split_arrays=True,
    open_path=None,
):
    """Validate a ragged collection of videos and return them as numpy arrays.

    Parameters
    ----------
    X : list, tuple or 1-D object array of array-like
        The videos, each with time on the first axis.
    name : str, default="X"
        Name used in error messages.
    min_videos : int, default=1
        Fewest videos accepted.
    min_frames : int, default=1
        Fewest frames accepted in every video.
    frame_ndim : int or tuple of int, optional
        Accepted number(s) of per-frame dimensions (1 for features, 2 for poses,
        3 for images).
    frame_shape : tuple, optional
        Required per-frame shape (e.g. the one seen in ``fit``).
    dtype : numpy dtype, optional
        Cast every video to this dtype (after the checks).
    allow_nan : bool, default=False
        Accept NaN and inf values.
    split_arrays : bool, default=True
        Read a 3-D or higher array as a stack of equal-length videos. False
        refuses it as a single video, as 2-D arrays always are (for inputs
        whose videos may themselves be 3-D or 4-D).
    open_path : callable or None, default=None
        Turns a path (str or os.PathLike) in ``X`` into a video, e.g.
        :func:`sklav.datasets.open_video`; a path it cannot read raises a
        ValueError naming the video's index and path. None refuses paths.

    Returns
    -------
    videos : list of ndarray
        One array per video, in the input order; videos read on demand (and
        the videos ``open_path`` makes of paths) are returned as they are:
        neither loaded, cast, nor checked for NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.utils import check_videos
    >>> videos = check_videos([np.zeros((5, 3)), np.ones((7, 3))])
    >>> [v.shape for v in videos]
    [(5, 3), (7, 3)]
    >>> check_videos([np.zeros((5, 3)), np.ones((7, 4))])
    Traceback (most recent call last):
    ...
    ValueError: X[1] has per-frame shape (4,), but X[0] has (3,); all videos must share the per-frame shape.
    """
    videos = _as_video_list(X, name, split_arrays)
    if len(videos) < min_videos:
        raise ValueError(
            f"{name} has {len(videos)} video(s); at least {min_videos} are required."
        )
    if isinstance(frame_ndim, numbers.Integral):
        frame_ndim = (frame_ndim,)
    out = []
    for i, video in enumerate(videos):
        where = f"{name}[{i}]"
        if isinstance(video, (str, os.PathLike)):
            video = _open(video, where, open_path)
        lazy = _is_lazy(video)
        if not lazy:
            video = _to_numpy(video)
        if video.dtype == object or not (
            np.issubdtype(video.dtype, np.number) or video.dtype == bool
        ):
            raise TypeError(f"{where} has dtype {video.dtype}; a numeric array is required.")
        if video.dtype == bool or np.issubdtype(video.dtype, np.complexfloating):
            raise TypeError(f"{where} has dtype {video.dtype}; a real numeric array is required.")
        if video.ndim < 2:
            raise ValueError(
                f"{where} has shape {video.shape}; a video needs a time axis and at "
                "least one per-frame axis, e.g. (T, D)."
            )
        if 0 in video.shape[1:]:
            raise ValueError(
                f"{where} has shape {video.shape}: its frames hold no values (a per-frame "
                "axis of size 0)."
            )
        if frame_ndim is not None and video.ndim - 1 not in frame_ndim:
            raise ValueError(
                f"{where} has shape {video.shape}: {video.ndim - 1} per-frame axes, "
                f"expected {' or '.join(map(str, frame_ndim))}."
            )
        if video.shape[0] < min_frames:
            raise ValueError(
                f"{where} has {video.shape[0]} frame(s); at least {min_frames} are required."
            )
        reference = frame_shape if frame_shape is not None else (out[0].shape[1:] if out else None)
        if reference is not None and tuple(video.shape[1:]) != tuple(reference):
            against = "the fitted data has" if frame_shape is not None else f"{name}[0] has"
            raise ValueError(
                f"{where} has per-frame shape {video.shape[1:]}, but {against} "
                f"{tuple(reference)}; all videos must share the per-frame shape."
            )
        if lazy:
            out.append(video)
            continue
        if not allow_nan and np.issubdtype(video.dtype, np.floating) and not np.isfinite(video).all():
            raise ValueError(f"{where} contains NaN or inf.")
        out.append(video.astype(dtype, copy=False) if dtype is not None else video)
    return out


def check_frame_labels(y, videos, *, name="y", videos_name="X"):
    """Validate per-frame labels: one 1-D array per video, of matching length.

    Parameters
    ----------
    y : list of array-like
        Per-frame labels (ints or strings) or targets, one array per video.
    videos : list of ndarray
        The validated videos the labels belong to.

    Returns
    -------
    labels : list of ndarray
        One 1-D array per video.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.utils import check_frame_labels
    >>> check_frame_labels([[0, 0, 1]], [np.zeros((3, 2))])
    [array([0, 0, 1])]
    """
    if y is None:
        raise ValueError(f"{name} is required: one array of per-frame labels per video.")
    if isinstance(y, np.ndarray) and y.dtype != object and y.ndim == 2:
        y = list(y)
    if not isinstance(y, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be a list of per-frame label arrays, got {type(y).__name__}.")
    if len(y) != len(videos):
        raise ValueError(
            f"{name} has {len(y)} label arrays but {videos_name} has {len(videos)} videos."
        )
    labels = []
    for i, (lab, video) in enumerate(zip(y, videos)):
        lab = _to_numpy(lab)
        if lab.ndim != 1:
            raise ValueError(f"{name}[{i}] must be 1-D (one label per frame), got shape {lab.shape}.")
        if len(lab) != len(video):
            raise ValueError(
                f"{name}[{i}] has {len(lab)} labels but {videos_name}[{i}] has {len(video)} frames."
            )
        labels.append(lab)
    return labels


def check_embeddings(embeddings, *, name="embeddings", min_videos=1, n_features=None):
    """Validate a list of per-frame embeddings ``(T_i, D)`` as float64 arrays.

    :func:`check_videos` with one per-frame axis, cast to float64.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        One array per video.
    name : str, default="embeddings"
        Name used in error messages.
    min_videos : int, default=1
        Fewest videos accepted.
    n_features : int, optional
        The required ``D`` (e.g. the one seen in ``fit``).

    Returns
    -------
    embeddings : list of ndarray of shape (T_i, D), float64

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.utils import check_embeddings
    >>> [e.dtype for e in check_embeddings([np.zeros((4, 2), dtype=np.float32)])]
    [dtype('float64')]
    """
    return check_videos(
        embeddings,
        name=name,
        min_videos=min_videos,
        frame_ndim=1,
        frame_shape=None if n_features is None else (n_features,),
        dtype=np.float64,
    )


# cdist metrics whose default parameters are estimated from the compared arrays.
_DATA_DEPENDENT_METRICS = ("seuclidean", "mahalanobis")


def check_metric(metric):
    """Accept a :func:`scipy.spatial.distance.cdist` metric name or a callable.

    Metrics that estimate their scaling from the data (``'seuclidean'``,
    ``'mahalanobis'``) are refused: the neighbour search computes distances
    in blocks, and each block would be scaled differently.

    Parameters
    ----------
    metric : str or callable

    Returns
    -------
    metric : str or callable
        ``metric`` itself.

    Examples
    --------
    >>> from sklav.utils import check_metric
    >>> check_metric("cosine")
    'cosine'
    >>> check_metric("no-such-metric")
    Traceback (most recent call last):
    ...
    ValueError: metric='no-such-metric' is not a metric known to scipy.spatial.distance.cdist.
    """
    if callable(metric):
        return metric
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string or a callable, got {type(metric).__name__}.")
    if metric in _DATA_DEPENDENT_METRICS:
        raise ValueError(
            f"metric={metric!r} estimates its scaling from the data it is given, which "
            "would differ between blocks of frames; standardise or whiten the embeddings "
            "and use 'sqeuclidean', or pass a callable."
        )
    try:
        cdist(np.zeros((1, 1)), np.ones((1, 1)), metric=metric)
    except ValueError as exc:
        raise ValueError(
            f"metric={metric!r} is not a metric known to scipy.spatial.distance.cdist."
        ) from exc
    return metric


def check_positive_int(value, name):
    """``value`` as an int if it is a positive integer (bools are refused).

    Examples
    --------
    >>> from sklav.utils import check_positive_int
    >>> check_positive_int(3, "k")
    3
    >>> check_positive_int(0, "k")
    Traceback (most recent call last):
    ...
    ValueError: k must be a positive integer, got 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_label_list(y, name="y"):
    """Validate a list of 1-D per-frame label arrays (at least one, none empty).

    Unlike :func:`check_frame_labels`, no videos are needed: the labels are
    checked on their own (e.g. true against predicted labels).

    Parameters
    ----------
    y : list of array-like of shape (T_i,)
        Per-frame labels, one array per video.
    name : str, default="y"
        Name used in error messages.

    Returns
    -------
    labels : list of ndarray of shape (T_i,)

    Examples
    --------
    >>> from sklav.utils import check_label_list
    >>> check_label_list([[0, 1], [1]])
    [array([0, 1]), array([1])]
    """
    if isinstance(y, np.ndarray) and y.dtype != object:
        if y.ndim == 1:
            raise ValueError(
                f"{name} is a single 1-D array; pass a list of per-frame label arrays, "
                f"e.g. [{name}] for one video."
            )
        y = list(y)
    if not isinstance(y, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be a list of per-frame label arrays, got {type(y).__name__}.")
    if len(y) == 0:
        raise ValueError(f"{name} is empty; at least one video is required.")
    labels = []
    for i, lab in enumerate(y):
        lab = np.asarray(lab)
        if lab.ndim != 1:
            raise ValueError(
                f"{name}[{i}] must be 1-D (one label per frame), got shape {lab.shape}."
            )
        if len(lab) == 0:
            raise ValueError(f"{name}[{i}] is empty; every video needs at least one frame.")
        labels.append(lab)
    return labels
