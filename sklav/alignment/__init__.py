"""Alignment of embedded videos: Soft-DTW, DTW paths, frame correspondences.

- :func:`soft_dtw`, :func:`soft_dtw_from_cost`, :class:`SoftDTW`: the Soft-DTW
  discrepancy, batched, differentiable, exact to float32 rounding.
- :func:`soft_alignment`: the expected alignment matrix (its gradient).
- :func:`soft_dtw_barycenter`: the average of videos in time, a template.
- :func:`dtw_path`, :func:`align`, :class:`Aligner`, :class:`Alignment`:
  hard frame correspondences and per-frame deviation scores.

The training objectives built on Soft-DTW live in :mod:`sklav.losses`.
"""

from .align import Alignment, align
from .aligner import Aligner
from .barycenter import soft_dtw_barycenter
from .dtw import dtw_path
from .softdtw import SoftDTW, soft_alignment, soft_dtw, soft_dtw_from_cost

__all__ = [
    "SoftDTW",
    "soft_dtw",
    "soft_dtw_from_cost",
    "soft_alignment",
    "soft_dtw_barycenter",
    "align",
    "Aligner",
    "Alignment",
    "dtw_path",
]
