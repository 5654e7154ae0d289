"""Fine-grained frame retrieval: precision of the K nearest frames (AP@K)."""

import numbers

import numpy as np

from ..utils import check_frame_labels
from ._checks import check_embeddings, check_metric, check_positive_int
from ._neighbors import StackedFrames


def _check_ks(k):
    if isinstance(k, numbers.Integral) and not isinstance(k, bool):
        return np.array([check_positive_int(k, "k")]), True
    ks = [check_positive_int(value, "k") for value in np.ravel(k)]
    if not ks:
        raise ValueError("k is empty; give an integer or a sequence of integers.")
    return np.array(ks), False


def _check_support_size(stacked, k_max):
    support = len(stacked.frames) - stacked.lengths
    smallest = int(support.argmin())
    if k_max > support[smallest]:
        raise ValueError(
            f"k={k_max} is larger than the support set of query video {smallest}: "
            f"the other videos have {support[smallest]} frames in all."
        )


def frame_retrieval_ap(embeddings, labels, k=5, *, metric="sqeuclidean"):
    """Fine-grained frame retrieval score AP@K (LAV, Haresh et al. 2021, Sec. 5.4).

    Definition. Each video ``i`` in turn is the query video and the frames of
    all *other* videos form the support set. For every query frame ``q`` of
    video ``i``, take its ``K`` nearest support frames under ``metric``
    (ties at the ``K``-th distance broken arbitrarily) and the fraction of
    them whose phase label equals the label of ``q``::

        AP@K = (1 / N) * sum over all N query frames q of
               |{r in kNN_K(q) : label(r) == label(q)}| / K

    i.e. precision at ``K`` averaged over every frame of every video (each
    frame weighs the same, so longer videos weigh more). The support never
    contains frames of the query's own video.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings, one array per video (at least 2, no empty video).
    labels : list of array-like of shape (T_i,)
        Per-frame phase labels (ints or strings), one array per video.
    k : int or sequence of int, default=5
        Number of retrieved frames; a sequence gives one score per value from
        a single neighbour search. Must not exceed the frames of the smallest
        support set.
    metric : str or callable, default='sqeuclidean'
        Frame distance, as for :func:`scipy.spatial.distance.cdist`.

    Returns
    -------
    ap : float, or ndarray of shape (len(k),) if ``k`` is a sequence

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.metrics import frame_retrieval_ap
    >>> X = [np.array([[0.0], [1.0], [5.0]]), np.array([[0.1], [5.1], [5.2]])]
    >>> y = [np.array([0, 0, 1]), np.array([0, 1, 1])]
    >>> frame_retrieval_ap(X, y, k=1)
    1.0
    >>> frame_retrieval_ap(X, y, k=[1, 2])
    array([1.        , 0.66666667])
    """
    videos = check_embeddings(embeddings, min_videos=2)
    labels = check_frame_labels(labels, videos, name="labels", videos_name="embeddings")
    ks, single = _check_ks(k)
    stacked = StackedFrames(videos, metric=check_metric(metric))
    _check_support_size(stacked, ks.max())
    _, codes = np.unique(np.concatenate(labels), return_inverse=True)
    neighbours = stacked.k_nearest_outside_video(ks.max())
    cumulative_hits = np.cumsum(codes[neighbours] == codes[:, None], axis=1)
    ap = cumulative_hits[:, ks - 1].mean(axis=0) / ks
    return float(ap[0]) if single else ap
