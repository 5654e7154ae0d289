"""Phase agreement: do cross-video frame matches land in the same phase?

Kendall's tau asks whether matches keep their order, which a clock passes by
construction; phase agreement asks whether a frame is matched to a frame of
the same action phase, which needs the matches to be right, not only ordered.
"""

import numpy as np

from ..utils import check_embeddings, check_frame_labels
from ..utils.param_validation import StrOptions, validate_params
from ._neighbors import StackedFrames, parallel_map


def _pair_agreement_dtw(query, candidate, query_labels, candidate_labels):
    """Mean over the frames of ``query`` of the same-phase fraction of their DTW cells."""
    # Imported when used: sklav.metrics stays numpy-only at import time.
    from ..alignment import dtw_path
    from ..alignment.dtw import squared_distances

    path, _ = dtw_path(squared_distances(query, candidate))
    same = (query_labels[path[:, 0]] == candidate_labels[path[:, 1]]).astype(np.float64)
    cells = np.bincount(path[:, 0], minlength=len(query))
    return float(np.mean(np.bincount(path[:, 0], weights=same, minlength=len(query)) / cells))


def pairwise_phase_agreement(embeddings, phases, *, match="nearest"):
    """Phase agreement of every ordered pair of videos.

    See :func:`phase_agreement` for the definition.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings, one array per video (at least 2).
    phases : list of array-like of shape (T_i,)
        Per-frame phase labels.
    match : {'nearest', 'dtw'}, default='nearest'
        How frames are matched.

    Returns
    -------
    agreement : ndarray of shape (n_videos, n_videos)
        ``agreement[i, j]``: frames of video ``i`` matched into video ``j``;
        NaN on the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.metrics import pairwise_phase_agreement
    >>> X = [np.array([[0.0], [1.0]]), np.array([[0.0], [1.0], [2.0]])]
    >>> y = [np.array([0, 1]), np.array([0, 0, 1])]
    >>> pairwise_phase_agreement(X, y)
    array([[       nan, 0.5       ],
           [0.66666667,        nan]])
    """
    validate_params({"match": [StrOptions({"nearest", "dtw"})]}, {"match": match}, "phase_agreement")
    videos = check_embeddings(embeddings, min_videos=2)
    labels = check_frame_labels(phases, videos, name="phases", videos_name="embeddings")
    n = len(videos)
    agreement = np.full((n, n), np.nan)
    if match == "nearest":
        nearest = StackedFrames(videos).nearest_in_each_video()
        for i in range(n):
            for j in range(n):
                if i != j:
                    agreement[i, j] = np.mean(labels[i] == labels[j][nearest[i][j]])
        return agreement
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    values = parallel_map(lambda p: _pair_agreement_dtw(videos[p[0]], videos[p[1]], labels[p[0]], labels[p[1]]),
                          pairs)
    for (i, j), value in zip(pairs, values):
        agreement[i, j] = value
    return agreement


def phase_agreement(embeddings, phases, *, match="nearest"):
    """Mean fraction of frames matched to a frame of the same phase in another video.

    Definition. For every ordered pair of distinct videos ``(i, j)``, each
    frame ``t`` of video ``i`` is matched into video ``j``:

    - ``match='nearest'``: to its nearest frame ``nn_ij(t) = argmin_s
      ||e_i[t] - e_j[s]||^2`` (squared Euclidean distance, the first ``s`` on
      exact ties, as :func:`kendalls_tau`); the agreement of frame ``t`` is 1
      if ``phases[j][nn_ij(t)] == phases[i][t]``, else 0;
    - ``match='dtw'``: along the DTW path of the squared Euclidean cost
      matrix (:func:`sklav.alignment.dtw_path`), which matches frame ``t``
      to one or several frames of ``j``; the agreement of frame ``t`` is the
      fraction of its path cells ``(t, s)`` with ``phases[j][s] ==
      phases[i][t]`` (every frame of ``i`` weighs the same, however many
      frames of ``j`` it is matched to).

    ``agreement_ij`` is the mean over the frames of ``i``; the score is the
    mean of ``agreement_ij`` over the ``n (n - 1)`` ordered pairs. 1: every
    match lands in the right phase. Unlike Kendall's tau it is not passed by
    matching in order alone: a clock embedding (frame ``t`` as ``t / T``)
    scores high only where phases sit at the same fractions of every video.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings, one array per video (at least 2, no empty video).
    phases : list of array-like of shape (T_i,)
        Per-frame phase labels (compared with ``==``).
    match : {'nearest', 'dtw'}, default='nearest'
        Match each frame to its nearest frame, or along the DTW path (which
        imports :mod:`sklav.alignment`, hence torch and numba).

    Returns
    -------
    agreement : float
        In ``[0, 1]``.

    See Also
    --------
    pairwise_phase_agreement : the agreement of every pair.
    sklav.evaluation.PhaseAgreementScorer : the same score as a scorer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.metrics import phase_agreement
    >>> X = [np.array([[0.0], [1.0]]), np.array([[0.0], [1.0], [2.0]])]
    >>> y = [np.array([0, 1]), np.array([0, 0, 1])]
    >>> round(phase_agreement(X, y), 4)  # (1/2 + 2/3) / 2
    0.5833
    >>> round(phase_agreement(X, y, match="dtw"), 4)  # frame 1 of X[0] on 2 cells: ((1 + 1/2) / 2 + 2/3) / 2
    0.7083
    """
    agreement = pairwise_phase_agreement(embeddings, phases, match=match)
    return float(np.mean(agreement[~np.eye(len(agreement), dtype=bool)]))
