"""Plots of embedded videos, alignments, few-shot curves and retrieved poses.

matplotlib (a dependency of sklav) is imported when a function is called,
so ``import sklav.plotting`` stays light.

- :func:`plot_distance_matrix`: squared distances between the frames of two
  embedded videos (the paper's Fig. 4).
- :func:`plot_alignment_path`: a DTW path drawn over such a matrix.
- :func:`plot_deviation`: per-frame deviation scores with flagged frames.
- :func:`plot_alignment`: the three above for one
  :class:`~sklav.alignment.Alignment`, in one figure.
- :func:`plot_few_shot_curves`: phase accuracy against labelled videos.
- :func:`plot_pose`, :func:`plot_retrieval`: Penn Action skeletons, and a
  query frame with its nearest frames in other videos (found by
  :func:`sklav.metrics.nearest_frames`).

``import sklav.plotting`` imports neither torch nor numba; the alignment
plots import :mod:`sklav.alignment` when called.
"""

from .alignment import plot_alignment, plot_alignment_path, plot_deviation, plot_distance_matrix
from .curves import plot_few_shot_curves
from .poses import PENN_ACTION_EDGES, plot_pose, plot_retrieval

__all__ = [
    "plot_distance_matrix",
    "plot_alignment_path",
    "plot_deviation",
    "plot_alignment",
    "plot_few_shot_curves",
    "plot_pose",
    "plot_retrieval",
    "PENN_ACTION_EDGES",
]
