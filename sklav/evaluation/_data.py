"""Shared input handling of the evaluation protocols: train/val splits."""

import numpy as np

from ..utils import check_frame_labels, check_videos

__all__ = ["check_split", "split_by_video"]


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
