"""Frame correspondences between two videos, and per-frame deviation scores.

- :func:`align`: align video ``b`` to a reference video ``a`` through their
  per-frame embeddings; returns an :class:`Alignment`.
- :class:`Aligner`: fitted once on a reference and other normal executions of
  the same activity, it aligns new videos to the reference and flags their
  deviating frames (LAV's motivation: spotting anomalies in repeated work).
- :func:`dtw_path`: exact dynamic time warping with backtracking (defined in
  :mod:`sklav.alignment.dtw`; the deviation scores are computed in
  ``_deviation``).

Definitions. ``A`` (``n`` frames) is the embedded reference, ``B`` (``m``
frames) the embedded video, ``D[i, j] = ||A_i - B_j||^2``:

- ``path``: the hard DTW path, the monotone, continuous sequence of pairs
  ``(i, j)`` from ``(0, 0)`` to ``(n - 1, m - 1)`` (steps ``(1, 1)``,
  ``(1, 0)``, ``(0, 1)``) of least total cost ``sum D[i, j]``;
- ``index_map[j]``: the frame of ``a`` matched with frame ``j`` of ``b``:
  among the path's pairs with second index ``j``, the one of least cost;
- ``soft``: the Soft-DTW expected alignment ``E`` (:func:`soft_alignment`);
- ``cost[j] = D[index_map[j], j]``: the per-frame alignment cost;
- ``normal_cost[j]``: the same cost against the *nearest* normal execution,
  ``min`` over the normal videos ``c`` (the reference and any calibration
  videos) of ``cost_c[j]``, each ``cost_c`` computed as ``cost`` with ``c``
  in place of ``a``;
- ``deviation[j] = (normal_cost[j] - median(r)) / (1.4826 * MAD(r))``: a
  robust z-score against ``r``, the ``normal_cost`` of the normal videos'
  own frames, each normal video scored against the others (leave one out).
  With the reference alone, ``r`` is ``b``'s own ``cost``.
"""

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..utils import embed
from ._deviation import _Normals

# Re-exported: sklav.plotting and older imports still take these names from here.
from ._deviation import DEFAULT_THRESHOLD, MAD_TO_STD  # noqa: F401
from .dtw import dtw_path, squared_distances  # noqa: F401

__all__ = ["align", "Aligner", "Alignment", "dtw_path"]


# --------------------------------------------------------------------------
# the result


@dataclass(repr=False, eq=False)
class Alignment:
    """Frame correspondence of a video ``b`` with a reference video ``a``.

    Attributes
    ----------
    path : list of (int, int)
        The hard DTW path, pairs ``(i, j)`` of a frame ``i`` of ``a`` and a
        frame ``j`` of ``b``, from ``(0, 0)`` to ``(n - 1, m - 1)``.
    index_map : ndarray of shape (m,), int64
        For each frame ``j`` of ``b``, its matched frame of ``a``: the
        least-cost pair of the path in column ``j``.
    soft : ndarray of shape (n, m), float64
        Soft-DTW expected alignment: ``soft[i, j]`` is the probability that
        ``a[i]`` and ``b[j]`` are matched (:func:`soft_alignment`).
    soft_index : ndarray of shape (m,), float64
        Expected matched frame of ``a`` under ``soft``:
        ``sum_i i * soft[i, j] / sum_i soft[i, j]``.
    cost : ndarray of shape (m,), float64
        Per-frame alignment cost of ``b``: ``distances[index_map[j], j]``.
    normal_cost : ndarray of shape (m,), float64
        Per-frame cost against the nearest normal execution: the minimum of
        ``cost`` over the reference and the calibration videos (``cost``
        itself without calibration videos).
    deviation : ndarray of shape (m,), float64
        Robust z-score of ``normal_cost`` against the normal costs ``r``:
        ``(normal_cost - median(r)) / (1.4826 * MAD(r))`` (see
        :class:`Aligner`). High for frames that no normal execution matches
        well, or that come in the wrong order.
    threshold : float
        ``deviation`` above which a frame is flagged (:meth:`flagged`):
        calibrated by :class:`Aligner` (its ``threshold_``), else 3.
    distances : ndarray of shape (n, m), float64
        Squared Euclidean distances ``D`` of the embedded frames.
    total_cost : float
        Sum of ``distances`` along ``path`` (the DTW discrepancy).
    """

    path: list
    index_map: np.ndarray
    soft: np.ndarray
    soft_index: np.ndarray
    cost: np.ndarray
    normal_cost: np.ndarray
    deviation: np.ndarray
    threshold: float
    distances: np.ndarray
    total_cost: float

    @property
    def shape(self):
        """``(n, m)``: frames of the reference and of the aligned video."""
        return self.distances.shape

    def flagged(self, threshold=None):
        """Frames of ``b`` whose deviation exceeds ``threshold``.

        Parameters
        ----------
        threshold : float, optional
            Default: the alignment's ``threshold``.

        Returns
        -------
        frames : ndarray of int64
        """
        threshold = self.threshold if threshold is None else threshold
        return np.flatnonzero(self.deviation > threshold)

    def __repr__(self):
        n, m = self.shape
        return (
            f"Alignment(n_frames_a={n}, n_frames_b={m}, path_length={len(self.path)}, "
            f"total_cost={self.total_cost:.4g}, n_flagged={len(self.flagged())})"
        )


# --------------------------------------------------------------------------
# helpers


def _check_gamma(gamma):
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not np.isfinite(gamma) or gamma <= 0:
        raise ValueError(f"gamma must be a positive float, got {gamma!r}.")
    return float(gamma)


def _check_contamination(contamination):
    if isinstance(contamination, bool) or not isinstance(contamination, numbers.Real) or not (
        0 < contamination < 0.5
    ):
        raise ValueError(f"contamination must be a float in (0, 0.5), got {contamination!r}.")
    return float(contamination)




# --------------------------------------------------------------------------
# the estimator and the function


class Aligner(BaseEstimator):
    """Align videos to a reference through their embeddings; flag deviating frames.

    ``fit(X)`` embeds the videos ``X`` with ``encoder`` (already fitted; it
    is never refitted): ``X[reference]`` is the reference that new videos are
    aligned to, and all of ``X`` are *normal* executions of the activity that
    calibrate the deviation score. ``align(video)`` returns an
    :class:`Alignment` of ``video`` with the reference.

    Deviation. For each frame ``j`` of a video, ``normal_cost[j]`` is its
    alignment cost against the nearest normal execution: every normal video
    ``c`` is aligned to the video by hard DTW, frame ``j`` gets the squared
    distance to its matched frame of ``c``, and the minimum over ``c`` is
    kept. Since the cost is taken along a monotone path, frames that no
    normal execution shows and steps done in the wrong order both cost much.
    ``r`` gathers the ``normal_cost`` of every frame of every normal video,
    each scored against the *other* normal videos, and::

        deviation[j] = (normal_cost[j] - median(r)) / (1.4826 * MAD(r))

    with ``MAD(r) = median(|r - median(r)|)`` (if it is 0, the mean absolute
    deviation, then ``mean(r)``, then 1 stand in for ``1.4826 * MAD(r)``):
    a robust z-score. Costs are skewed, so normal frames exceed 3 more often
    than a normal distribution would; ``threshold_`` is therefore the
    ``1 - contamination`` quantile of the normal frames' own deviations.

    With a single video in ``X`` (the reference alone) there is no normal
    variation to learn from: ``normal_cost`` is ``cost`` and ``r`` is the
    aligned video's own ``cost``, so the score flags the frames that align
    much worse than the rest of that video (which works when they are a
    minority), with ``threshold_ = 3``.

    Parameters
    ----------
    encoder : fitted transformer or None, default=None
        Maps a list of videos to a list of ``(T_i, D)`` embeddings (a fitted
        :class:`~sklav.LAVEncoder`, or a Pipeline of transformers ending in
        one); None when the videos already are per-frame embeddings.
    gamma : float, default=0.1
        Soft-DTW smoothing of the soft alignment.
    reference : int, default=0
        Index in ``X`` of the reference video.
    contamination : float, default=0.01
        Expected fraction of deviating frames among normal ones: sets
        ``threshold_``, as in scikit-learn's outlier detectors.

    Attributes
    ----------
    reference_embedding_ : ndarray of shape (n, D)
    normal_embeddings_ : list of ndarray
        The embedded videos of ``X``.
    normal_costs_ : ndarray or None
        ``r``, the leave-one-out ``normal_cost`` of every normal frame; None
        for a single video.
    cost_location_, cost_scale_ : float or None
        ``median(r)`` and ``1.4826 * MAD(r)``.
    threshold_ : float
        Deviation above which :meth:`Alignment.flagged` flags a frame.

    See Also
    --------
    align : one alignment, in one call.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.alignment import Aligner
    >>> t = np.linspace(0, 1, 30)
    >>> normal = [np.c_[np.sin(3 * t ** p), np.cos(3 * t ** p)] for p in (1.0, 1.2, 0.8, 1.1)]
    >>> odd = normal[3].copy()
    >>> odd[10:13] += 1.0  # three frames off the trajectory
    >>> aligner = Aligner().fit(normal[:3])
    >>> aligner.align(odd).flagged()
    array([10, 11, 12])
    >>> aligner.align(normal[3]).flagged()
    array([], dtype=int64)
    """

    def __init__(self, encoder=None, gamma=0.1, reference=0, contamination=0.01):
        self.encoder = encoder
        self.gamma = gamma
        self.reference = reference
        self.contamination = contamination

    def fit(self, X, y=None):
        """Embed the reference and the normal videos; calibrate the deviation.

        Parameters
        ----------
        X : list of videos
            Normal executions of one activity; ``X[reference]`` is the
            reference.
        y : None
            Ignored.

        Returns
        -------
        self : Aligner
        """
        _check_gamma(self.gamma)
        contamination = _check_contamination(self.contamination)
        embedded = embed(self.encoder, X, name="X")
        if isinstance(self.reference, bool) or not isinstance(self.reference, numbers.Integral) or not (
            0 <= self.reference < len(embedded)
        ):
            raise ValueError(
                f"reference={self.reference!r} is not an index of the {len(embedded)} videos of X."
            )
        self._normals = _Normals(embedded, int(self.reference), contamination)
        self.reference_embedding_ = self._normals.reference
        self.normal_embeddings_ = self._normals.videos
        self.normal_costs_ = self._normals.costs
        self.cost_location_ = self._normals.location
        self.cost_scale_ = self._normals.scale
        self.threshold_ = self._normals.threshold
        return self

    def _check_fitted(self):
        check_is_fitted(self, "reference_embedding_")

    def align(self, video):
        """Align one video to the reference.

        Parameters
        ----------
        video : array-like
            A video in the layout the encoder takes (``(T, D)`` embeddings
            when ``encoder`` is None).

        Returns
        -------
        alignment : Alignment
        """
        self._check_fitted()
        (B,) = embed(self.encoder, [video], name="video")
        return Alignment(**self._normals.align(B, self.gamma))

    def predict(self, X):
        """Matched reference frame of every frame of each video (``index_map``).

        Parameters
        ----------
        X : list of videos

        Returns
        -------
        index_maps : list of ndarray of shape (T_i,), int64
        """
        return [self.align(video).index_map for video in X]

    def deviation(self, X):
        """Per-frame deviation score of each video.

        Parameters
        ----------
        X : list of videos

        Returns
        -------
        deviations : list of ndarray of shape (T_i,), float64
        """
        return [self.align(video).deviation for video in X]


def align(encoder, video_a, video_b, *, gamma=0.1, calibration=None, contamination=0.01):
    """Align video ``b`` to the reference video ``a`` through learned embeddings.

    Both videos are embedded with ``encoder.transform``; with
    ``D[i, j] = ||A_i - B_j||^2`` the squared Euclidean distances of their
    frames, the result holds the hard DTW path on ``D``, the matched frame of
    ``a`` for every frame of ``b`` (``index_map``), the Soft-DTW expected
    alignment (``soft``), each frame's alignment cost and its deviation score
    (exact definitions in :class:`Aligner`).

    Parameters
    ----------
    encoder : fitted transformer or None
        A fitted :class:`~sklav.LAVEncoder` (or any transformer mapping a
        list of videos to ``(T_i, D)`` embeddings); None when ``video_a`` and
        ``video_b`` already are ``(T, D)`` embeddings.
    video_a : array-like
        The reference video.
    video_b : array-like
        The video to align to it.
    gamma : float, default=0.1
        Soft-DTW smoothing of ``soft``.
    calibration : list of videos, optional
        Other normal executions: with ``a``, they calibrate ``deviation``
        (:class:`Aligner` fitted on ``[a] + calibration``). Without them,
        ``deviation`` compares each frame of ``b`` with ``b``'s other frames.
    contamination : float, default=0.01
        Sets the flagging threshold when ``calibration`` is given.

    Returns
    -------
    alignment : Alignment
        ``path``, ``index_map``, ``soft``, ``soft_index``, ``cost``,
        ``normal_cost``, ``deviation``, ``threshold``, ``distances``,
        ``total_cost``.

    See Also
    --------
    Aligner : fit the reference and normal videos once, align many videos.
    sklav.plotting.plot_alignment : draw the result.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.alignment import align
    >>> a = np.linspace(0, 1, 20)[:, None]
    >>> warp = np.round(19 * np.linspace(0, 1, 15) ** 1.5).astype(int)
    >>> result = align(None, a, a[warp])  # b is a time-warped copy of a
    >>> bool((result.index_map == warp).all())
    True
    >>> float(result.cost.max())  # every frame of b has an exact match
    0.0
    """
    gamma = _check_gamma(gamma)
    contamination = _check_contamination(contamination)
    calibration = [] if calibration is None else list(calibration)
    A, B, *others = embed(encoder, [video_a, video_b] + calibration, name="videos")
    return Alignment(**_Normals([A] + others, 0, contamination).align(B, gamma))
