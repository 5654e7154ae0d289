"""Shared input handling: embedding videos with an encoder, train/val splits."""

import numpy as np
from sklearn.pipeline import Pipeline

from ..metrics._checks import check_embeddings
from ..utils import check_frame_labels, check_videos

__all__ = ["IDENTITY", "check_embeddings", "check_split", "embed", "split_by_video"]

#: Values of ``encoder`` meaning "the videos already are per-frame embeddings".
IDENTITY = (None, "identity", "passthrough")


def embed(estimator, X):
    """Per-frame embeddings of videos ``X`` from a fitted ``estimator``.

    ``estimator.transform(X)`` if it transforms; for a
    :class:`~sklearn.pipeline.Pipeline` whose last step does not (e.g. ends in
    a :class:`PhaseClassifier`), the transform of all steps but the last; ``X``
    itself for ``None``, ``'identity'`` or ``'passthrough'``.
    """
    if estimator is None or (isinstance(estimator, str) and estimator in IDENTITY):
        return X
    if hasattr(estimator, "transform"):
        return estimator.transform(X)
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return estimator[:-1].transform(X)
    raise TypeError(
        f"{type(estimator).__name__} has no transform method, so it cannot embed videos; "
        "give an encoder, a Pipeline ending in one or in a PhaseClassifier/ProgressRegressor, "
        "or None for precomputed embeddings."
    )


def check_split(split, name, min_videos=1):
    """A ``(videos, per-frame labels)`` pair, validated; returns two lists."""
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise TypeError(
            f"{name} must be a pair (videos, labels): a list of videos and a list of "
            "per-frame phase label arrays."
        )
    videos, labels = split
    videos = check_videos(videos, name=f"{name}[0]", min_videos=min_videos)
    labels = check_frame_labels(labels, videos, name=f"{name}[1]", videos_name=f"{name}[0]")
    return videos, labels


def split_by_video(values, lengths):
    """Split stacked per-frame ``values`` back into one array per video."""
    return np.split(values, np.cumsum(lengths)[:-1])
