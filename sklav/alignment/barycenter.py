"""Soft-DTW barycenters: a template sequence averaged over videos in time.

:func:`soft_dtw_barycenter` minimises the weighted mean Soft-DTW
discrepancy to a set of ragged videos (Cuturi and Blondel, 2017), as
tslearn's ``softdtw_barycenter`` does, with the objective and its gradient
computed by one batched :func:`~sklav.alignment.soft_dtw` call per step.
"""

import numpy as np
import torch
from scipy.optimize import minimize

from ..utils import check_embeddings
from ..utils.param_validation import Integral, Interval, Real, validate_params
from .softdtw import soft_dtw

__all__ = ["soft_dtw_barycenter"]


def _check_weights(weights, n_videos):
    """Non-negative weights, one per video, normalised to sum to 1 (uniform if None)."""
    if weights is None:
        return np.full(n_videos, 1.0 / n_videos)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_videos,):
        raise ValueError(
            f"weights has shape {weights.shape}; one weight per video, ({n_videos},), is required."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"weights must be finite and non-negative, got {weights}.")
    if not weights.sum() > 0:
        raise ValueError("weights are all zero; at least one video must weigh.")
    return weights / weights.sum()


def _check_init(init, n_features):
    init = np.array(init.detach().cpu() if hasattr(init, "detach") else init, dtype=np.float64)
    if init.ndim != 2 or init.shape[1] != n_features or len(init) == 0:
        raise ValueError(
            f"init has shape {init.shape}; a (T, {n_features}) sequence with T >= 1, "
            "the videos' number of features, is required."
        )
    if not np.isfinite(init).all():
        raise ValueError("init contains NaN or inf.")
    return init


def _resample(video, n_frames):
    """``video`` linearly interpolated at ``n_frames`` evenly spaced times."""
    position = np.linspace(0, len(video) - 1, n_frames)
    before = np.floor(position).astype(int)
    after = np.minimum(before + 1, len(video) - 1)
    fraction = (position - before)[:, None]
    return (1 - fraction) * video[before] + fraction * video[after]


def _euclidean_init(videos, weights):
    """The weighted mean frame by frame of the videos resampled to their median length.

    The median is the lower one (an actual video's length) for an even
    number of videos.
    """
    n_frames = sorted(len(video) for video in videos)[(len(videos) - 1) // 2]
    return np.tensordot(weights, [_resample(video, n_frames) for video in videos], axes=1)


def _objective(videos, weights, gamma, shape):
    """``Z -> (sum_i w_i sdtw(Z, X_i), gradient)`` on flat float64 arrays, for scipy."""
    lengths = [len(video) for video in videos]
    padded = np.zeros((len(videos), max(lengths), shape[1]))
    for i, video in enumerate(videos):
        padded[i, : len(video)] = video
    padded = torch.from_numpy(padded)
    weights = torch.from_numpy(weights)

    def value_and_gradient(flat):
        Z = torch.tensor(flat.reshape(shape), requires_grad=True)
        value = weights @ soft_dtw(Z.expand(len(videos), -1, -1), padded, gamma, y_lengths=lengths)
        value.backward()
        return value.item(), Z.grad.numpy().ravel()

    return value_and_gradient


def soft_dtw_barycenter(videos, gamma=1.0, *, weights=None, init=None, max_iter=50, tol=1e-3):
    """Soft-DTW barycenter of videos: the sequence nearest to all of them in time.

    Minimises ``sum_i w_i soft_dtw(Z, videos[i])`` over sequences ``Z`` of
    a fixed length (Cuturi and Blondel, 2017) with L-BFGS-B in float64,
    from ``init``, as tslearn's ``softdtw_barycenter``; the squared
    Euclidean frame cost, so that each barycenter frame averages the frames
    it is softly aligned with. Used to build a template video in embedding
    space (:class:`Aligner` with ``reference='barycenter'``).

    Parameters
    ----------
    videos : list of array-like of shape (T_i, d)
        The sequences to average (e.g. embedded videos); their lengths may
        differ.
    gamma : float, default=1.0
        Soft-DTW smoothing (> 0), in the units of the squared distances
        between frames: smaller is closer to hard DTW and less smooth.
    weights : array-like of shape (n_videos,), optional
        Non-negative weight of each video, normalised to sum to 1 (the
        minimiser does not depend on their scale). Default: uniform.
    init : array-like of shape (T, d), optional
        The starting sequence, whose length ``T`` the barycenter keeps.
        Default: the weighted mean, frame by frame, of the videos linearly
        resampled to their median length (the Euclidean barycenter when all
        have the same length). tslearn resamples to the longest instead.
    max_iter : int, default=50
        Most L-BFGS-B iterations; 0 returns the initial sequence.
    tol : float, default=1e-3
        L-BFGS-B's ``tol`` (scipy's ``minimize``): it stops when the
        objective's relative decrease or the largest gradient entry falls
        below it.

    Returns
    -------
    barycenter : ndarray of shape (T, d), float64

    See Also
    --------
    soft_dtw : the discrepancy minimised.
    Aligner : scores deviations against a barycenter with ``reference='barycenter'``.

    Notes
    -----
    tslearn's objective is the weighted sum with the weights as given;
    passing it the normalised weights makes the two minimise the same
    function along the same L-BFGS-B steps.

    References
    ----------
    M. Cuturi and M. Blondel, "Soft-DTW: a Differentiable Loss Function for
    Time-Series", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.alignment import soft_dtw_barycenter
    >>> t = np.linspace(0, 1, 30)
    >>> videos = [np.sin(6 * t[:, None] ** p) for p in (0.5, 1.0, 2.0)]  # one motion, warped
    >>> barycenter = soft_dtw_barycenter(videos, gamma=0.1)
    >>> barycenter.shape
    (30, 1)
    >>> round(float(barycenter.max()), 2)  # the peak all videos reach, at different times
    0.95
    >>> frame_mean = soft_dtw_barycenter(videos, max_iter=0)  # the init, which blurs it
    >>> round(float(frame_mean.max()), 2)
    0.55
    """
    validate_params(
        {
            "gamma": [Interval(Real, 0, None, closed="neither")],
            "max_iter": [Interval(Integral, 0, None, closed="left")],
            "tol": [Interval(Real, 0, None, closed="neither")],
        },
        {"gamma": gamma, "max_iter": max_iter, "tol": tol},
        "soft_dtw_barycenter",
    )
    videos = check_embeddings(videos, name="videos")
    weights = _check_weights(weights, len(videos))
    start = _euclidean_init(videos, weights) if init is None else _check_init(init, videos[0].shape[1])
    if max_iter == 0:
        return start
    result = minimize(
        _objective(videos, weights, float(gamma), start.shape),
        start.ravel(),
        method="L-BFGS-B",
        jac=True,
        tol=tol,
        options={"maxiter": max_iter},
    )
    return result.x.reshape(start.shape)
