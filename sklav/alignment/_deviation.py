"""Per-frame deviation scores of a video against normal executions.

The definitions are those of :mod:`sklav.alignment.align`: a frame's
``normal_cost`` is its hard-DTW alignment cost against the nearest normal
execution (or against their Soft-DTW barycenter), and its ``deviation`` the
robust z-score of that cost against the normal videos' own, leave-one-out,
costs. ``_Normals`` holds the reference and the normal videos, calibrates the
score once and scores new videos for :class:`~sklav.alignment.Aligner` and
:func:`~sklav.alignment.align`.
"""

import numpy as np
import torch

from .barycenter import soft_dtw_barycenter
from .dtw import _hard_alignment, squared_distances
from .softdtw import soft_alignment

#: Turns a median absolute deviation into a standard deviation (normal data).
MAD_TO_STD = 1.4826
#: Flagging threshold on ``deviation`` when no calibration video sets one.
DEFAULT_THRESHOLD = 3.0
#: Least deviation scale, as a fraction of the normal embeddings' variance.
SCALE_FLOOR = 1e-3
#: Least deviation scale, as a multiple of the rounding error of a squared
#: distance (machine epsilon times the mean squared norm of the frames).
ROUNDING_FLOOR = 1e3 * np.finfo(np.float64).eps


def _frame_costs(A, B):
    """``cost`` of every frame of ``B`` aligned to ``A``."""
    return _hard_alignment(squared_distances(A, B))[2]


def _nearest_normal_costs(B, normals):
    """``normal_cost``: per frame of ``B``, the least ``cost`` over ``normals``."""
    return np.min([_frame_costs(A, B) for A in normals], axis=0)


def _frame_variance(videos):
    """Mean squared distance of the videos' frames to their mean frame."""
    frames = np.concatenate(videos)
    return float(np.mean(np.sum((frames - frames.mean(0)) ** 2, axis=1)))


def _scale_floor(videos):
    """Least deviation scale for these normal videos (embedded frames).

    ``SCALE_FLOOR`` times the variance of their frames (the mean squared
    distance of a frame to the mean frame), and at least ``ROUNDING_FLOOR``
    times the mean squared norm of the frames. Costs are squared distances
    between frames, so both terms scale as they do: the deviation stays
    invariant to rescaling the embedding. Normal variation between real
    executions gives scales near the variance (0.4 to 1 times it for Penn
    Action joints), far above the floor, which only binds when the normal
    executions (nearly) coincide: there the spread of the costs is rounding
    noise (about 1e-16 times the squared norm), and without the floor it
    would turn into deviations of 1e12.
    """
    frames = np.concatenate(videos)
    mean_square = float(np.mean(np.sum(frames**2, axis=1)))
    return max(SCALE_FLOOR * _frame_variance(videos), ROUNDING_FLOOR * mean_square)


def _robust_z(values, reference, floor):
    """``(values - median) / scale`` of ``reference``; location, scale.

    ``scale = max(1.4826 * MAD, floor)``; the mean absolute deviation stands
    in for a zero MAD, and 1 for a zero scale (all frames at one point).
    """
    location = float(np.median(reference))
    scale = MAD_TO_STD * float(np.median(np.abs(reference - location)))
    if not scale > 0:  # over half the reference costs are equal
        scale = float(np.mean(np.abs(reference - location)))
    scale = max(scale, floor) or 1.0
    return (values - location) / scale, location, scale


def _check_features(videos, reference):
    for k, e in enumerate(videos):
        if e.shape[1] != reference.shape[1]:
            raise ValueError(
                f"video {k} embeds to {e.shape[1]} features and the reference to "
                f"{reference.shape[1]}; they must agree."
            )


def _leave_one_out(videos):
    """The videos without video ``k``, for each ``k``."""
    return [videos[:k] + videos[k + 1:] for k in range(len(videos))]


def _barycenter(videos, gamma, spread, init=None):
    """Soft-DTW barycenter of ``videos / spread``, times ``spread``.

    With ``spread`` the frames' standard deviation, ``gamma`` is relative to
    their squared distances, and neither the barycenter nor L-BFGS-B's stopping
    rule (absolute on the gradient) depends on the embedding's scale.
    """
    init = None if init is None else init / spread
    return spread * soft_dtw_barycenter([video / spread for video in videos], gamma, init=init)


class _Normals:
    """The reference, the normal videos and the calibrated deviation scale.

    A new video's ``normal_cost`` is its cost against the nearest of
    ``templates``; normal video ``k``'s, against the nearest of
    ``held_out[k]``, templates built without it.
    """

    def __init__(self, reference, videos, templates, held_out, contamination):
        self.reference = reference
        self.videos = videos
        self.templates = templates
        self.floor = _scale_floor(videos)
        self.costs = self.location = self.scale = None
        self.threshold = DEFAULT_THRESHOLD
        if len(videos) > 1:
            self.costs = np.concatenate([
                _nearest_normal_costs(video, others) for video, others in zip(videos, held_out)
            ])
            z, self.location, self.scale = _robust_z(self.costs, self.costs, self.floor)
            # No flag for a cost within DEFAULT_THRESHOLD floors of the median
            # (binds only when the scale is the floor: normal videos that coincide).
            self.threshold = max(
                float(np.quantile(z, 1.0 - contamination)), DEFAULT_THRESHOLD * self.floor / self.scale
            )

    @classmethod
    def nearest(cls, embedded, reference, contamination):
        """Scored against the nearest normal video; ``embedded[reference]`` the reference."""
        _check_features(embedded, embedded[reference])
        return cls(embedded[reference], embedded, embedded, _leave_one_out(embedded), contamination)

    @classmethod
    def barycenter(cls, embedded, gamma, contamination):
        """Scored against the Soft-DTW barycenter of the normal videos, the reference."""
        _check_features(embedded, embedded[0])
        spread = np.sqrt(_frame_variance(embedded)) or 1.0
        barycenter = _barycenter(embedded, gamma, spread)
        held_out = None
        if len(embedded) > 1:  # warm-started: one video moves the barycenter little
            held_out = [
                [_barycenter(others, gamma, spread, init=barycenter)] for others in _leave_one_out(embedded)
            ]
        return cls(barycenter, embedded, [barycenter], held_out, contamination)

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
            deviation = _robust_z(cost, cost, self.floor)[0]
        else:
            normal_cost = _nearest_normal_costs(B, self.templates)
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

