"""Re-timed evaluation protocols: videos cropped or warped in time, frames kept traceable.

On Penn Action an untrained clock (frame ``t`` of ``T`` embedded as ``t / T``,
:class:`sklav.encoders.ClockEncoder`) beats learned encoders on the standard
protocol, because the clips are trimmed so that phases sit at similar
fractions of every video. These protocols change the timing of every video
at random, so that knowing the time no longer tells the phase; an encoder
that aligns content keeps its scores, a clock does not.

- ``'none'``: the videos as they are.
- ``'crop'``: each video keeps a random contiguous window of 60% to 100% of
  its frames (:func:`crop_indices`).
- ``'warp'``: each video is re-timed by a random piecewise speed, 2 to 4
  segments each played at a speed drawn log-uniformly in ``[0.5, 2]``,
  frames repeated or skipped accordingly (:func:`warp_indices`).

:func:`retime` applies one to videos and their per-frame labels and returns a
:class:`RetimedVideos`, which records the original index of every kept
frame: progression targets are those of the original video at that index
(:meth:`RetimedVideos.progress_targets`), never recomputed from the re-timed
labels (a crop would otherwise move every key event).
"""

from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

from ..metrics import phase_progress_targets
from ..utils import check_frame_labels, check_videos
from ..utils.param_validation import StrOptions, validate_params

PROTOCOLS = ("none", "crop", "warp")

#: Fewest frames a crop keeps, as a fraction of the video.
CROP_MIN_FRACTION = 0.6
#: Fewest and most speed segments of a warp.
WARP_SEGMENTS = (2, 4)
#: Slowest and fastest speed of a warp segment.
WARP_SPEEDS = (0.5, 2.0)


def crop_indices(n_frames, random_state=None, *, min_fraction=CROP_MIN_FRACTION):
    """The original frame indices a random crop keeps: a contiguous window.

    Draws, from ``rng = check_random_state(random_state)``: the window length
    ``L = rng.randint(L_min, n_frames + 1)`` with ``L_min = ceil(min_fraction
    * n_frames)`` (at least 1), then its start ``rng.randint(0, n_frames - L
    + 1)``; every length and start are equally likely.

    Parameters
    ----------
    n_frames : int
        Frames of the original video (at least 1).
    random_state : int, RandomState instance or None, default=None
    min_fraction : float, default=0.6
        Fewest frames kept, as a fraction of ``n_frames`` (in ``(0, 1]``).

    Returns
    -------
    indices : ndarray of shape (L,), int64
        ``start, start + 1, ..., start + L - 1``.

    Examples
    --------
    >>> from sklav.evaluation.protocols import crop_indices
    >>> crop_indices(20, random_state=1)
    array([ 3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    """
    rng = check_random_state(random_state)
    # rounded first, so that 0.6 * 5 (3.0000000000000004) asks for 3 frames, not 4
    shortest = max(1, int(np.ceil(round(min_fraction * n_frames, 9))))
    length = rng.randint(shortest, n_frames + 1)
    start = rng.randint(0, n_frames - length + 1)
    return np.arange(start, start + length, dtype=np.int64)


def warp_indices(n_frames, random_state=None, *, n_segments=WARP_SEGMENTS, speeds=WARP_SPEEDS,
                 return_segments=False):
    """The original frame indices of a random piecewise-speed re-timing.

    Draws, from ``rng = check_random_state(random_state)``, in this order:

    1. the number of segments ``K = rng.randint(n_segments[0], n_segments[1]
       + 1)``, then ``K = min(K, n_frames)`` (a segment has a frame at least);
    2. the segment boundaries ``0 = b_0 < b_1 < ... < b_K = n_frames``, the
       inner ones ``sorted(rng.choice(arange(1, n_frames), K - 1,
       replace=False))``;
    3. the speeds ``s_k = exp(rng.uniform(log(speeds[0]), log(speeds[1]),
       size=K))``, log-uniform.

    Segment ``k`` holds ``d_k = b_{k+1} - b_k`` original frames and lasts
    ``n_k = max(1, floor(d_k / s_k + 1/2))`` new frames; its new frame ``m``
    (``0 <= m < n_k``) shows original frame ``b_k + floor(m d_k / n_k)``.
    Above speed 1 frames are skipped, below it repeated; the speed played,
    ``d_k / n_k``, stays in ``[speeds[0], speeds[1]]`` whenever
    ``speeds[0] >= 1/2`` and ``speeds[1] <= 2`` (``n_k`` rounds ``d_k /
    s_k``; the bounds survive the rounding), and every original frame of a
    speed-1-or-slower segment is shown.

    Parameters
    ----------
    n_frames : int
        Frames of the original video (at least 1).
    random_state : int, RandomState instance or None, default=None
    n_segments : (int, int), default=(2, 4)
        Fewest and most segments.
    speeds : (float, float), default=(0.5, 2.0)
        Slowest and fastest speed.
    return_segments : bool, default=False
        Also return the boundaries and the drawn speeds.

    Returns
    -------
    indices : ndarray of shape (sum n_k,), int64
        Non-decreasing original frame indices, from 0.
    boundaries : ndarray of shape (K + 1,), int64
        Only with ``return_segments``.
    drawn_speeds : ndarray of shape (K,)
        Only with ``return_segments``: the ``s_k``.

    Examples
    --------
    >>> from sklav.evaluation.protocols import warp_indices
    >>> indices, boundaries, drawn = warp_indices(8, random_state=1, return_segments=True)
    >>> boundaries, drawn.round(2)
    (array([0, 3, 6, 8]), array([2.  , 0.69, 0.87]))
    >>> indices  # 3 frames at speed 2 in 2, then 3 at 0.69 in 4, then 2 at 0.87 in 2
    array([0, 1, 3, 3, 4, 5, 6, 7])
    """
    rng = check_random_state(random_state)
    n_pieces = min(rng.randint(n_segments[0], n_segments[1] + 1), n_frames)
    inner = np.sort(rng.choice(np.arange(1, n_frames), n_pieces - 1, replace=False))
    boundaries = np.concatenate([[0], inner, [n_frames]]).astype(np.int64)
    drawn = np.exp(rng.uniform(np.log(speeds[0]), np.log(speeds[1]), size=n_pieces))
    pieces = []
    for start, stop, speed in zip(boundaries[:-1], boundaries[1:], drawn):
        span = int(stop - start)
        n_new = max(1, int(np.floor(span / speed + 0.5)))
        pieces.append(start + (np.arange(n_new, dtype=np.int64) * span) // n_new)  # integer floor
    indices = np.concatenate(pieces)
    return (indices, boundaries, drawn) if return_segments else indices


class RetimedVideos(NamedTuple):
    """Videos after a protocol, each frame traced to its original index.

    Attributes
    ----------
    videos : list of ndarray
        The re-timed videos, ``original[frame_indices[i]]``.
    labels : list of ndarray of shape (L_i,)
        Their per-frame labels, ``original_labels[i][frame_indices[i]]``.
    frame_indices : list of ndarray of shape (L_i,), int64
        For every kept frame, its index in the original video.
    original_labels : list of ndarray of shape (T_i,)
        The labels of the original videos (whose key events define the
        progression targets).

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.evaluation.protocols import RetimedVideos
    >>> labels = [np.array([0, 0, 1, 1])]
    >>> kept = RetimedVideos([np.zeros((2, 1))], [labels[0][2:]], [np.array([2, 3])], labels)
    >>> kept.progress_targets()[0].ravel()  # frames 2 and 3 of 4; phase 0 ended at frame 1
    array([0.25, 0.5 ])
    """

    videos: list
    labels: list
    frame_indices: list
    original_labels: list

    def progress_targets(self, phases=None):
        """TCC's progression targets of the original videos at the kept frames.

        :func:`sklav.metrics.phase_progress_targets` of ``original_labels``
        (``(t - t_e) / T`` for original frame ``t`` of a ``T``-frame video),
        indexed by ``frame_indices``.

        Parameters
        ----------
        phases : array-like, optional
            The phases in temporal order (default: the sorted labels).

        Returns
        -------
        targets : list of ndarray of shape (L_i, P - 1)
        """
        targets = phase_progress_targets(self.original_labels, phases=phases)
        return [target[kept] for target, kept in zip(targets, self.frame_indices)]


def retime(videos, labels, protocol="none", *, random_state=None):
    """Apply a re-timing protocol to videos and their per-frame labels.

    Videos are re-timed one after the other, all from one generator
    ``check_random_state(random_state)`` (see :func:`crop_indices` and
    :func:`warp_indices` for the draws); ``'none'`` draws nothing.

    Parameters
    ----------
    videos : list of array-like
        The videos (or their per-frame embeddings), time on the first axis.
    labels : list of array-like of shape (T_i,)
        Their per-frame phase labels.
    protocol : {'none', 'crop', 'warp'}, default='none'
        ``'crop'``: a random window of 60-100% of the frames; ``'warp'``: a
        random piecewise speed in ``[0.5, 2]``; ``'none'``: unchanged.
    random_state : int, RandomState instance or None, default=None
        An int makes the re-timing reproducible.

    Returns
    -------
    retimed : RetimedVideos
        The videos, labels and original frame indices after the protocol.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.evaluation.protocols import retime
    >>> videos = [np.arange(10.0)[:, None], np.arange(6.0)[:, None]]
    >>> labels = [np.repeat([0, 1], 5), np.repeat([0, 1], 3)]
    >>> cropped = retime(videos, labels, "crop", random_state=1)
    >>> cropped.frame_indices[1], cropped.labels[1]
    (array([1, 2, 3, 4]), array([0, 0, 1, 1]))
    >>> retime(videos, labels, "warp", random_state=1).frame_indices[0]
    array([0, 0, 1, 2, 3, 4, 6, 8])
    """
    validate_params({"protocol": [StrOptions(set(PROTOCOLS))]}, {"protocol": protocol}, "retime")
    videos = check_videos(videos, name="videos", allow_nan=True)
    labels = check_frame_labels(labels, videos, name="labels", videos_name="videos")
    if protocol == "none":
        kept = [np.arange(len(v), dtype=np.int64) for v in videos]
        return RetimedVideos(videos, labels, kept, labels)
    rng = check_random_state(random_state)
    draw = crop_indices if protocol == "crop" else warp_indices
    kept = [draw(len(v), rng) for v in videos]
    return RetimedVideos([v[k] for v, k in zip(videos, kept)], [lab[k] for lab, k in zip(labels, kept)],
                         kept, labels)
