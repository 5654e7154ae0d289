"""Temporal alignment metric: Kendall's tau of cross-video nearest neighbours."""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from ..utils import check_embeddings, check_metric, check_positive_int
from ._neighbors import StackedFrames, parallel_map

# Largest number of frame pairs compared at once in ``tau_b_against_time``.
_MAX_PAIR_BLOCK = 2**22


def tau_b_against_time(sequences):
    """Kendall's tau-b between the frame index and each row of ``sequences``.

    Row ``r`` gives ``tau_b(arange(m), sequences[r])``, equal to
    :func:`scipy.stats.kendalltau` (its default ``variant='b'``): with
    ``S = sum_{a<b} sign(s_b - s_a)``, ``n0 = m (m - 1) / 2`` and ``u`` the
    number of pairs ``a < b`` with ``s_a == s_b``,
    ``tau_b = S / sqrt(n0 (n0 - u))`` (the index itself has no ties). It is
    NaN where undefined: fewer than 2 columns, or a constant row.

    Parameters
    ----------
    sequences : array-like of shape (n_rows, m)
        Integer or real sequences, one per row.

    Returns
    -------
    tau : ndarray of shape (n_rows,)

    Examples
    --------
    >>> from sklav.metrics.temporal import tau_b_against_time
    >>> tau_b_against_time([[0, 1, 2], [2, 1, 0], [0, 0, 1], [3, 3, 3]])
    array([ 1.        , -1.        ,  0.81649658,         nan])
    """
    sequences = np.asarray(sequences)
    if sequences.ndim != 2:
        raise ValueError(f"sequences must be 2-D, got shape {sequences.shape}.")
    n_rows, m = sequences.shape
    tau = np.full(n_rows, np.nan)
    if m < 2:
        return tau
    if np.issubdtype(sequences.dtype, np.integer):  # small ints: less memory traffic
        low = int(sequences.min()) if sequences.size else 0
        span = int(sequences.max()) - low if sequences.size else 0
        sequences = (sequences - low).astype(np.int16 if span < 2**15 else np.int64)
    first, second = np.triu_indices(m, 1)
    n0 = len(first)
    rows_per_block = max(1, _MAX_PAIR_BLOCK // n0)
    for start in range(0, n_rows, rows_per_block):
        block = sequences[start : start + rows_per_block]
        diff = block[:, second] - block[:, first]
        concordant = np.count_nonzero(diff > 0, axis=1)
        discordant = np.count_nonzero(diff < 0, axis=1)
        score = concordant - discordant
        ties = n0 - concordant - discordant
        defined = ties < n0
        denominator = np.sqrt(n0 * (n0 - ties[defined].astype(np.float64)))
        tau[start : start + len(block)][defined] = score[defined] / denominator
    return tau


def pairwise_kendalls_tau(embeddings, stride=1, metric="sqeuclidean"):
    """Kendall's tau for every ordered pair of videos.

    See :func:`kendalls_tau` for the definition.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings, one array per video (at least 2).
    stride : int, default=1
        Keep every ``stride``-th frame of every video.
    metric : str or callable, default='sqeuclidean'
        Frame distance, as for :func:`scipy.spatial.distance.cdist`.

    Returns
    -------
    taus : ndarray of shape (n_videos, n_videos)
        ``taus[i, j]`` uses the frames of video ``i`` as queries and video
        ``j`` as candidates. NaN on the diagonal and for undefined pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.metrics.temporal import pairwise_kendalls_tau
    >>> t = np.arange(4.0)[:, None]
    >>> pairwise_kendalls_tau([t, t[::-1], t + 0.25])
    array([[nan, -1.,  1.],
           [-1., nan, -1.],
           [ 1., -1., nan]])
    """
    videos = check_embeddings(embeddings, min_videos=2)
    stride = check_positive_int(stride, "stride")
    metric = check_metric(metric)
    nearest = StackedFrames([v[::stride] for v in videos], metric=metric).nearest_in_each_video()
    taus = np.stack(parallel_map(tau_b_against_time, nearest))
    np.fill_diagonal(taus, np.nan)
    return taus


def kendalls_tau(embeddings, stride=1, metric="sqeuclidean"):
    """Mean Kendall's tau of cross-video nearest neighbours (TCC's alignment score).

    Definition (Dwibedi et al., "Temporal Cycle-Consistency Learning", 2019,
    Sec. 5.2, and their evaluation code). Keep every ``stride``-th frame of
    every video: ``U_i = embeddings[i][::stride]`` (both the query and the
    candidate video are strided, as in TCC). For every ordered pair of videos
    ``(i, j)``, ``i != j``:

    1. for each frame ``t`` of ``U_i``, ``nn_ij(t) = argmin_s d(U_i[t], U_j[s])``
       with ``d`` the ``metric`` (the first ``s`` on exact ties);
    2. ``tau_ij`` is Kendall's **tau-b** between ``t = 0, 1, ...`` and
       ``nn_ij(t)``, equal to :func:`scipy.stats.kendalltau` (tau-b corrects
       for the ties that repeated neighbours create).

    The score is the mean of ``tau_ij`` over the ``n (n - 1)`` ordered pairs.
    A pair is undefined when ``U_i`` has fewer than 2 frames or all its frames
    share one neighbour in ``U_j``; undefined pairs are left out of the mean and
    counted in an :class:`~sklearn.exceptions.UndefinedMetricWarning` (NaN when
    all pairs are undefined). 1 means every video is matched to every other in
    the same order, -1 in reverse order, about 0 no temporal structure.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings, one array per video (at least 2, no empty video).
    stride : int, default=1
        Keep every ``stride``-th frame of every video.
    metric : str or callable, default='sqeuclidean'
        Frame distance, as for :func:`scipy.spatial.distance.cdist`.
        ``'sqeuclidean'`` (TCC's choice) and ``'euclidean'`` use fast matrix
        products.

    Returns
    -------
    tau : float
        In ``[-1, 1]``, or NaN if no pair is defined.

    See Also
    --------
    pairwise_kendalls_tau : the tau of every pair.
    sklav.KendallTauScorer : the same score as a scorer for model selection.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.metrics import kendalls_tau
    >>> time = [np.arange(20.0)[:, None] + shift for shift in (0.0, 0.1, 0.3)]
    >>> kendalls_tau(time)
    1.0
    >>> kendalls_tau([time[0], time[1][::-1]])
    -1.0
    >>> slower = np.repeat(time[0], 2, axis=0)  # its pairs of frames tie: (1 + 0.9871) / 2
    >>> round(kendalls_tau([time[0], slower]), 4)
    0.9935
    """
    taus = pairwise_kendalls_tau(embeddings, stride=stride, metric=metric)
    off_diagonal = taus[~np.eye(len(taus), dtype=bool)]
    n_undefined = int(np.isnan(off_diagonal).sum())
    if n_undefined:
        warnings.warn(
            f"Kendall's tau is undefined for {n_undefined} of {len(off_diagonal)} "
            "video pairs (fewer than 2 strided frames, or all frames matched to one "
            "frame); they are left out of the mean.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    if n_undefined == len(off_diagonal):
        return float("nan")
    return float(np.nanmean(off_diagonal))
