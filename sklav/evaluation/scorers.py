"""Scorers ``(estimator, X, y)`` for model selection on embeddings.

They embed the videos with the estimator (its ``transform``; for a Pipeline
ending in a classifier or regressor, all steps but the last) and apply a
functional metric of :mod:`sklav.metrics`, so they work with encoders, with
pipelines ending in one, and with :class:`~sklearn.model_selection.GridSearchCV`.
"""

from ..metrics import frame_retrieval_ap, kendalls_tau, phase_agreement
from ..utils import embed


class _EmbeddingScorer:
    """A scorer with named parameters and a readable repr."""

    _param_names = ()

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._param_names}

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class KendallTauScorer(_EmbeddingScorer):
    """Scorer: Kendall's tau alignment of the embedded videos; needs no labels.

    For every ordered pair of videos ``(i, j)``, ``i != j``: the nearest frame
    of (strided) video ``j`` to each strided frame of video ``i``; Kendall's
    tau-b between frame index and neighbour index; the mean over pairs,
    undefined pairs left out (see :func:`sklav.metrics.kendalls_tau` for the
    exact definition, after TCC). Higher is better, at most 1.

    Parameters
    ----------
    stride : int, default=1
        Keep every ``stride``-th frame of every video.
    metric : str or callable, default='sqeuclidean'
        Frame distance, as for :func:`scipy.spatial.distance.cdist`.

    Notes
    -----
    Call it as ``scorer(estimator, X)`` or ``scorer(estimator, X, y)`` (``y``
    is ignored), with ``X`` a list of at least 2 videos; ``estimator`` may be
    ``None`` when ``X`` already holds embeddings. It is the score for
    self-supervised model selection:
    ``GridSearchCV(encoder, grid, scoring=KendallTauScorer(), cv=KFold(3)).fit(videos)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav import KendallTauScorer
    >>> videos = [np.arange(n, dtype=float)[:, None] for n in (10, 12)]
    >>> KendallTauScorer()(None, videos)
    1.0
    """

    _param_names = ("stride", "metric")

    def __init__(self, stride=1, metric="sqeuclidean"):
        self.stride = stride
        self.metric = metric

    def __call__(self, estimator, X, y=None, **kwargs):
        return kendalls_tau(embed(estimator, X), stride=self.stride, metric=self.metric)


class FrameRetrievalAP(_EmbeddingScorer):
    """Scorer: fine-grained frame retrieval AP@K of the embedded videos.

    Each video in turn is the query and all other videos the support set;
    for every query frame, the fraction of its ``k`` nearest support frames
    that share its phase label, averaged over all query frames (paper Sec.
    5.4; see :func:`sklav.metrics.frame_retrieval_ap`). Higher is better, at
    most 1.

    Parameters
    ----------
    k : int, default=5
        Number of retrieved frames (the paper reports 5, 10 and 15).
    metric : str or callable, default='sqeuclidean'
        Frame distance, as for :func:`scipy.spatial.distance.cdist`.

    Notes
    -----
    Call it as ``scorer(estimator, X, y)`` with ``y`` the per-frame phase
    labels of the videos ``X`` (at least 2 videos); ``estimator`` may be
    ``None`` when ``X`` already holds embeddings.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav import FrameRetrievalAP
    >>> X = [np.array([[0.0], [1.0], [5.0]]), np.array([[0.1], [5.1], [5.2]])]
    >>> y = [np.array([0, 0, 1]), np.array([0, 1, 1])]
    >>> FrameRetrievalAP(k=1)(None, X, y)
    1.0
    """

    _param_names = ("k", "metric")

    def __init__(self, k=5, metric="sqeuclidean"):
        self.k = k
        self.metric = metric

    def __call__(self, estimator, X, y=None, **kwargs):
        if y is None:
            raise ValueError(
                "FrameRetrievalAP needs y, the per-frame phase labels of the videos X."
            )
        return frame_retrieval_ap(embed(estimator, X), y, k=self.k, metric=self.metric)


class PhaseAgreementScorer(_EmbeddingScorer):
    """Scorer: phase agreement of cross-video frame matches of the embedded videos.

    For every ordered pair of videos ``(i, j)``, each frame of ``i`` is
    matched into ``j`` (its nearest frame, or along the DTW path); the
    fraction of frames of ``i`` whose match has the same phase label,
    averaged over pairs (see :func:`sklav.metrics.phase_agreement` for the
    exact definition). Unlike Kendall's tau it needs labels, and a clock
    embedding does not pass it on re-timed videos. Higher is better, at most 1.

    Parameters
    ----------
    match : {'nearest', 'dtw'}, default='nearest'
        How frames are matched.

    Notes
    -----
    Call it as ``scorer(estimator, X, y)`` with ``y`` the per-frame phase
    labels of the videos ``X`` (at least 2 videos); ``estimator`` may be
    ``None`` when ``X`` already holds embeddings.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav import PhaseAgreementScorer
    >>> X = [np.array([[0.0], [1.0], [5.0]]), np.array([[0.1], [5.1], [5.2]])]
    >>> y = [np.array([0, 0, 1]), np.array([0, 1, 1])]
    >>> PhaseAgreementScorer()(None, X, y)
    1.0
    """

    _param_names = ("match",)

    def __init__(self, match="nearest"):
        self.match = match

    def __call__(self, estimator, X, y=None, **kwargs):
        if y is None:
            raise ValueError(
                "PhaseAgreementScorer needs y, the per-frame phase labels of the videos X."
            )
        return phase_agreement(embed(estimator, X), y, match=self.match)
