"""Shared helpers: input validation for ragged lists of videos.

The checks on torch tensors (alignment kernels, losses) live in
:mod:`sklav.utils.tensors`.
"""

from .validation import check_frame_labels, check_videos

__all__ = ["check_videos", "check_frame_labels"]
