"""Per-frame deviation scores of a video against normal executions.

The definitions are those of :mod:`sklav.alignment.align`: a frame's
``normal_cost`` is its hard-DTW alignment cost against the nearest normal
execution, and its ``deviation`` the robust z-score of that cost against the
normal videos' own, leave-one-out, costs. ``_Normals`` holds the reference
and the normal videos, calibrates the score once and scores new videos for
:class:`~sklav.alignment.Aligner` and :func:`~sklav.alignment.align`.
"""

import numpy as np
import torch

from .dtw import _hard_alignment, squared_distances
from .softdtw import soft_alignment

#: Turns a median absolute deviation into a standard deviation (normal data).
MAD_TO_STD = 1.4826
#: Flagging threshold on ``deviation`` when no calibration video sets one.
DEFAULT_THRESHOLD = 3.0


def _frame_costs(A, B):
    """``cost`` of every frame of ``B`` aligned to ``A``."""
    return _hard_alignment(squared_distances(A, B))[2]


def _nearest_normal_costs(B, normals):
    """``normal_cost``: per frame of ``B``, the least ``cost`` over ``normals``."""
    return np.min([_frame_costs(A, B) for A in normals], axis=0)


def _robust_z(values, reference):
    """``(values - median) / (1.4826 * MAD)`` of ``reference``; location, scale."""
    location = float(np.median(reference))
    scale = MAD_TO_STD * float(np.median(np.abs(reference - location)))
    if not scale > 0:  # over half the reference costs are equal
        scale = float(np.mean(np.abs(reference - location))) or float(np.mean(reference)) or 1.0
    return (values - location) / scale, location, scale


class _Normals:
    """The reference, the normal videos and the calibrated deviation scale."""

    def __init__(self, embedded, reference, contamination):
        self.reference = embedded[reference]
        self.videos = embedded
        for k, e in enumerate(embedded):
            if e.shape[1] != self.reference.shape[1]:
                raise ValueError(
                    f"video {k} embeds to {e.shape[1]} features and the reference to "
                    f"{self.reference.shape[1]}; they must agree."
                )
        self.costs = self.location = self.scale = None
        self.threshold = DEFAULT_THRESHOLD
        if len(embedded) > 1:
            self.costs = np.concatenate([
                _nearest_normal_costs(video, embedded[:k] + embedded[k + 1:])
                for k, video in enumerate(embedded)
            ])
            z, self.location, self.scale = _robust_z(self.costs, self.costs)
            self.threshold = float(np.quantile(z, 1.0 - contamination))

    def align(self, B, gamma):
        """The fields of the :class:`~sklav.alignment.Alignment` of ``B`` with the reference."""
        A = self.reference
        if B.shape[1] != A.shape[1]:
            raise ValueError(
                f"the video embeds to {B.shape[1]} features and the reference to {A.shape[1]}."
            )
        D = squared_distances(A, B)
        path, index_map, cost, total = _hard_alignment(D)
        E = soft_alignment(torch.from_numpy(A), torch.from_numpy(B), gamma=gamma).numpy()
        column = E.sum(0)
        soft_index = (np.arange(len(A)) @ E) / np.where(column > 0, column, 1.0)
        if self.costs is None:
            normal_cost = cost
            deviation = _robust_z(cost, cost)[0]
        else:
            normal_cost = _nearest_normal_costs(B, self.videos)
            deviation = (normal_cost - self.location) / self.scale
        return dict(
            path=[(int(i), int(j)) for i, j in path],
            index_map=index_map,
            soft=E,
            soft_index=soft_index,
            cost=cost,
            normal_cost=normal_cost,
            deviation=deviation,
            threshold=self.threshold,
            distances=D,
            total_cost=total,
        )

