"""Shared helpers: input validation for ragged lists of videos."""

from .validation import check_frame_labels, check_videos

__all__ = ["check_videos", "check_frame_labels"]
