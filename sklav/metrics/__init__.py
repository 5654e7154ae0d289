"""Functional evaluation metrics on per-frame embeddings and phase labels.

Every function takes ragged lists: ``embeddings`` is a list of ``(T_i, D)``
arrays, one per video, and labels a list of ``(T_i,)`` arrays.

- :func:`kendalls_tau`: temporal alignment of cross-video nearest neighbours.
- :func:`frame_retrieval_ap`: fine-grained frame retrieval, AP@K.
- :func:`nearest_frames`: the nearest frames of other videos to one frame.
- :func:`phase_agreement`: how often cross-video frame matches share the phase.
- :func:`phase_accuracy`: per-frame phase classification accuracy.
- :func:`phase_progress_targets`: TCC's phase-progression regression targets.
"""

from .agreement import pairwise_phase_agreement, phase_agreement
from .phases import phase_accuracy, phase_progress_targets
from .retrieval import frame_retrieval_ap, nearest_frames
from .temporal import kendalls_tau, pairwise_kendalls_tau

__all__ = [
    "frame_retrieval_ap",
    "kendalls_tau",
    "nearest_frames",
    "pairwise_kendalls_tau",
    "pairwise_phase_agreement",
    "phase_accuracy",
    "phase_agreement",
    "phase_progress_targets",
]
