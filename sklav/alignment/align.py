"""Frame correspondences between two videos, and per-frame deviation scores.

- :func:`align`: align video ``b`` to a reference video ``a`` through their
  per-frame embeddings; returns an :class:`Alignment`.
- :class:`~sklav.alignment.Aligner` (in :mod:`sklav.alignment.aligner`):
  fitted once on a reference and other normal executions of
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
- ``deviation[j] = (normal_cost[j] - median(r)) / max(1.4826 * MAD(r), floor)``:
  a robust z-score against ``r``, the ``normal_cost`` of the normal videos'
  own frames, each normal video scored against the others (leave one out).
  With the reference alone, ``r`` is ``b``'s own ``cost``. The ``floor``
  (``1e-3`` times the variance of the normal embedded frames) keeps
  rounding noise from scoring as deviation; see :class:`Aligner`.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from ..utils import embed
from ..utils.embedding import PASSTHROUGH
from ..utils.param_validation import HasMethods, Interval, Real, StrOptions, validate_params
from ._deviation import _Normals

# Re-exported: sklav.plotting and older imports still take these names from here.
from ._deviation import DEFAULT_THRESHOLD, MAD_TO_STD  # noqa: F401
from .dtw import dtw_path, squared_distances  # noqa: F401

__all__ = ["align", "Alignment", "dtw_path"]


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
        itself without calibration videos, or against a barycenter
        reference, ``Aligner(reference='barycenter')``).
    deviation : ndarray of shape (m,), float64
        Robust z-score of ``normal_cost`` against the normal costs ``r``:
        ``(normal_cost - median(r)) / scale``, ``scale`` at least a floor (see
        :class:`Aligner`). High for frames that no normal execution matches
        well, or that come in the wrong order.
    threshold : float
        ``deviation`` above which a frame is flagged (:meth:`flagged`):
        calibrated by :class:`Aligner` (its ``threshold_``), else 3.
    distances : ndarray of shape (n, m), float64
        Squared Euclidean distances ``D`` of the embedded frames.
    total_cost : float
        Sum of ``distances`` along ``path`` (the DTW discrepancy).

    Examples
    --------
    A video ``b`` that repeats the reference's second frame, whose last frame
    is off the reference's path:

    >>> import numpy as np
    >>> from sklav.alignment import align
    >>> a = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> b = np.array([[0.0], [1.0], [1.0], [2.0], [5.0]])
    >>> result = align(None, a, b)
    >>> result
    Alignment(n_frames_a=4, n_frames_b=5, path_length=5, total_cost=4, n_flagged=1)
    >>> result.index_map, result.cost
    (array([0, 1, 1, 2, 3]), array([0., 0., 0., 0., 4.]))
    >>> result.flagged()
    array([4])
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


_ENCODER_CONSTRAINT = [
    None,
    StrOptions({p for p in PASSTHROUGH if p is not None}),
    HasMethods(["transform"]),
    Pipeline,  # ending in a PhaseClassifier, say: embeds with its other steps
]
_GAMMA_CONSTRAINT = [Interval(Real, 0, None, closed="neither")]
_CONTAMINATION_CONSTRAINT = [Interval(Real, 0, 0.5, closed="neither")]


# --------------------------------------------------------------------------
# the function


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
    validate_params(
        {"encoder": _ENCODER_CONSTRAINT, "gamma": _GAMMA_CONSTRAINT,
         "contamination": _CONTAMINATION_CONSTRAINT},
        {"encoder": encoder, "gamma": gamma, "contamination": contamination},
        "align",
    )
    gamma, contamination = float(gamma), float(contamination)
    calibration = [] if calibration is None else list(calibration)
    A, B, *others = embed(encoder, [video_a, video_b] + calibration, name="videos")
    return Alignment(**_Normals.nearest([A] + others, 0, contamination).align(B, gamma))
