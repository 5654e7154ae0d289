"""Shared helpers: input validation for ragged lists of videos, pose normalisation."""

from .poses import normalize_poses
from .validation import check_frame_labels, check_videos

__all__ = ["check_videos", "check_frame_labels", "normalize_poses"]
