"""Fine-grained frame retrieval across videos.

- :func:`frame_retrieval_ap`: precision of the K nearest frames of other
  videos (AP@K), averaged over all frames.
- :func:`nearest_frames`: the K nearest frames of other videos to one query
  frame (what :func:`sklav.plotting.plot_retrieval` draws).

Both search with :class:`~sklav.metrics._neighbors.StackedFrames`.
"""

import numbers

import numpy as np

from ..utils import check_embeddings, check_frame_labels, check_metric, check_positive_int
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


def _check_index(value, name, size, of):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if not 0 <= value < size:
        raise ValueError(f"{name}={value} is out of range for {of}.")
    return int(value)


def nearest_frames(embeddings, video, frame, k=5):
    """The ``k`` frames of the *other* videos nearest to one query frame.

    The retrieval of :func:`frame_retrieval_ap` for a single query: squared
    Euclidean distance, the query's own video left out of the support set,
    ties broken by video then frame order.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings, one array per video (at least 2).
    video, frame : int
        The query: frame ``frame`` of video ``video``.
    k : int, default=5
        Number of frames retrieved; at most the number of frames of the
        other videos.

    Returns
    -------
    neighbours : list of (int, int, float)
        ``(video, frame, squared distance)``, nearest first.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.metrics import nearest_frames
    >>> X = [np.array([[0.0], [1.0]]), np.array([[0.9], [3.0]]), np.array([[0.2]])]
    >>> [(v, t) for v, t, _ in nearest_frames(X, video=0, frame=0, k=2)]
    [(2, 0), (1, 0)]
    """
    videos = check_embeddings(embeddings, min_videos=2)
    video = _check_index(video, "video", len(videos), f"{len(videos)} videos")
    frame = _check_index(
        frame, "frame", len(videos[video]), f"video {video} of {len(videos[video])} frames"
    )
    stacked = StackedFrames(videos, metric="sqeuclidean")
    n_support = len(stacked.frames) - stacked.lengths[video]
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= n_support:
        raise ValueError(f"k={k} must lie in [1, {n_support}] (the support set's frames).")
    query = stacked.offsets[video] + frame
    distances = stacked.distances(slice(query, query + 1), slice(0, len(stacked.frames)))[0]
    np.maximum(distances, 0.0, out=distances)  # rounding can make |q|^2 - 2q.c + |c|^2 < 0
    distances[stacked.offsets[video] : stacked.offsets[video + 1]] = np.inf
    order = np.argsort(distances, kind="stable")[:k]
    owners = np.searchsorted(stacked.offsets, order, side="right") - 1
    return [
        (int(v), int(i - stacked.offsets[v]), float(distances[i])) for v, i in zip(owners, order)
    ]
