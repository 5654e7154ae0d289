"""Argument checks shared by the functional metrics."""

import numbers

import numpy as np
from scipy.spatial.distance import cdist

from ..utils import check_videos


def check_embeddings(embeddings, *, name="embeddings", min_videos=1, n_features=None):
    """Validate a list of per-frame embeddings ``(T_i, D)`` as float64 arrays.

    ``n_features``, if given, is the required ``D`` (e.g. the one seen in ``fit``).
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
    """Accept a :func:`scipy.spatial.distance.cdist` metric name or a callable."""
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
    """A positive integer (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_label_list(y, name="y"):
    """A list of 1-D per-frame label arrays (at least one, none empty)."""
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
