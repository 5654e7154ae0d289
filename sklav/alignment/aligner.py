"""The :class:`Aligner` estimator: a reference and normal executions, fitted once.

It aligns new videos to the reference and scores their frames' deviation
(definitions in :mod:`sklav.alignment.align`, computed in ``_deviation``).
"""

from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from ..utils import embed
from ..utils.embedding import PASSTHROUGH
from ..utils.param_validation import Integral, Interval, StrOptions
from ._deviation import _Normals
from .align import _CONTAMINATION_CONSTRAINT, _ENCODER_CONSTRAINT, _GAMMA_CONSTRAINT, Alignment

__all__ = ["Aligner"]


def _is_passthrough(encoder):
    return encoder is None or (isinstance(encoder, str) and encoder in PASSTHROUGH)


def _fitted_encoder(encoder, X):
    """``encoder`` if it is fitted (or cannot be fitted), else a clone fitted on ``X``."""
    if _is_passthrough(encoder) or not hasattr(encoder, "fit"):
        return encoder
    try:
        check_is_fitted(encoder)
    except NotFittedError:
        return clone(encoder).fit(X)
    return encoder


class Aligner(BaseEstimator):
    """Align videos to a reference through their embeddings; flag deviating frames.

    ``fit(X)`` embeds the videos ``X`` with the encoder: ``X[reference]``, or
    with ``reference='barycenter'`` their Soft-DTW barycenter, is the
    reference that new videos are aligned to, and all of ``X`` are *normal*
    executions of the activity that calibrate the deviation score.
    ``align(video)`` returns an :class:`Alignment` of ``video`` with the
    reference.

    The encoder. A fitted encoder is used as it is; an unfitted one (e.g.
    ``LAVEncoder(max_epochs=30)``) is cloned and fitted on ``X`` in
    :meth:`fit`, so that ``Aligner(encoder=LAVEncoder(...))`` is one
    estimator whose encoder parameters a search can tune
    (``encoder__lr``...). :func:`~sklearn.base.clone`, which every
    cross-validation and search calls, drops the fitting of a fitted
    encoder: wrap a pre-trained encoder in
    :class:`sklearn.frozen.FrozenEstimator` to keep it, never refitted, in
    every clone (see the examples).

    Deviation. For each frame ``j`` of a video, ``normal_cost[j]`` is its
    alignment cost against the nearest normal execution: every normal video
    ``c`` is aligned to the video by hard DTW, frame ``j`` gets the squared
    distance to its matched frame of ``c``, and the minimum over ``c`` is
    kept. Since the cost is taken along a monotone path, frames that no
    normal execution shows and steps done in the wrong order both cost much.
    ``r`` gathers the ``normal_cost`` of every frame of every normal video,
    each scored against the *other* normal videos, and::

        deviation[j] = (normal_cost[j] - median(r)) / scale,
        scale = max(1.4826 * MAD(r), floor)

    with ``MAD(r) = median(|r - median(r)|)`` (if it is 0, the mean absolute
    deviation stands in for ``1.4826 * MAD(r)``): a robust z-score. The
    ``floor`` is ``1e-3`` times the variance of the normal videos' embedded
    frames (and at least ``1e3`` machine epsilons times their mean squared
    norm): costs are squared distances, so it scales with them, and it sits
    far below the spread of real executions (0.4 to 1 times that variance on
    Penn Action joints) but far above rounding noise, which is all that
    separates normal executions that coincide. Costs are skewed, so normal
    frames exceed 3 more often than a normal distribution would;
    ``threshold_`` is therefore the ``1 - contamination`` quantile of the
    normal frames' own deviations, and at least ``3 * floor / scale``: a
    frame within three floors of the median cost is never flagged.

    Barycenter. With ``reference='barycenter'`` the reference is a template
    averaged over all of ``X`` in time, :func:`soft_dtw_barycenter` of the
    embedded videos (length: their median; smoothing ``gamma`` relative to
    the variance of their frames, so that it does not depend on the
    embedding's scale). Frames are then scored against it alone:
    ``normal_cost`` is ``cost``, each normal video's ``r`` is its cost
    against the barycenter of the *other* normal videos, and new videos cost
    one alignment instead of one per normal video. The nearest normal
    execution suits normal executions that vary in distinct ways; the
    barycenter, a reference that no single execution's quirks shape.

    With a single video in ``X`` (the reference alone) there is no normal
    variation to learn from: ``normal_cost`` is ``cost`` and ``r`` is the
    aligned video's own ``cost``, so the score flags the frames that align
    much worse than the rest of that video (which works when they are a
    minority), with ``threshold_ = 3``.

    Parameters
    ----------
    encoder : transformer, FrozenEstimator, Pipeline or None, default=None
        Maps a list of videos to a list of ``(T_i, D)`` embeddings (a
        :class:`~sklav.LAVEncoder`, a Pipeline of transformers ending in one,
        or a Pipeline whose last step does not transform, which embeds with
        its other steps); fitted on ``X`` if it is not fitted (see above).
        None or ``'passthrough'`` when the videos already are per-frame
        embeddings.
    gamma : float, default=0.1
        Soft-DTW smoothing of the soft alignment (> 0), and of the barycenter
        with ``reference='barycenter'``.
    reference : int or 'barycenter', default=0
        Index in ``X`` of the reference video, or ``'barycenter'`` for the
        Soft-DTW barycenter of all of ``X`` (see above).
    contamination : float, default=0.01
        Expected fraction of deviating frames among normal ones, in
        ``(0, 0.5)``: sets ``threshold_``, as in scikit-learn's outlier
        detectors.

    Attributes
    ----------
    encoder_ : transformer or None
        The encoder used: ``encoder`` itself if it was fitted, else its
        fitted clone; None for videos that are embeddings.
    reference_embedding_ : ndarray of shape (n, D)
        The embedded reference video, or the barycenter.
    normal_embeddings_ : list of ndarray
        The embedded videos of ``X``.
    normal_costs_ : ndarray or None
        ``r``, the leave-one-out ``normal_cost`` of every normal frame; None
        for a single video.
    cost_location_, cost_scale_ : float or None
        ``median(r)`` and ``scale``.
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

    Against the barycenter of the normal executions:

    >>> template = Aligner(reference="barycenter").fit(normal[:3])
    >>> template.reference_embedding_.shape  # the median length
    (30, 2)
    >>> template.align(odd).flagged()
    array([10, 11, 12])

    A pre-trained encoder, kept through the clones of a cross-validation
    (any fitted transformer does; a :class:`~sklav.LAVEncoder` is used the
    same way):

    >>> from sklearn.base import clone
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> encoder = FunctionTransformer(lambda X: [3 * x for x in X]).fit(normal)  # say, a LAVEncoder
    >>> aligner = Aligner(encoder=FrozenEstimator(encoder))
    >>> clone(aligner).encoder.estimator is encoder
    True
    >>> def mean_deviation(aligner, X, y=None):
    ...     return -float(np.mean(np.concatenate(aligner.deviation(X))))
    >>> cross_val_score(aligner, normal, cv=2, scoring=mean_deviation).shape
    (2,)
    """

    _parameter_constraints = {
        "encoder": _ENCODER_CONSTRAINT,
        "gamma": _GAMMA_CONSTRAINT,
        "reference": [Interval(Integral, 0, None, closed="left"), StrOptions({"barycenter"})],
        "contamination": _CONTAMINATION_CONSTRAINT,
    }

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
            reference (or their barycenter).
        y : None
            Ignored.

        Returns
        -------
        self : Aligner
        """
        self._validate_params()
        encoder = _fitted_encoder(self.encoder, X)
        embedded = embed(encoder, X, name="X")
        contamination = float(self.contamination)
        if self.reference == "barycenter":
            self._normals = _Normals.barycenter(embedded, float(self.gamma), contamination)
        elif self.reference < len(embedded):
            self._normals = _Normals.nearest(embedded, int(self.reference), contamination)
        else:
            raise ValueError(
                f"reference={self.reference!r} is not an index of the {len(embedded)} videos of X."
            )
        self.encoder_ = None if _is_passthrough(encoder) else encoder
        self.reference_embedding_ = self._normals.reference
        self.normal_embeddings_ = self._normals.videos
        self.normal_costs_ = self._normals.costs
        self.cost_location_ = self._normals.location
        self.cost_scale_ = self._normals.scale
        self.threshold_ = self._normals.threshold
        return self

    def _alignments(self, X, name):
        check_is_fitted(self, "reference_embedding_")
        return [
            Alignment(**self._normals.align(B, float(self.gamma)))
            for B in embed(self.encoder_, X, name=name)
        ]

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
        return self._alignments([video], "video")[0]

    def predict(self, X):
        """Matched reference frame of every frame of each video (``index_map``).

        Parameters
        ----------
        X : list of videos

        Returns
        -------
        index_maps : list of ndarray of shape (T_i,), int64
        """
        return [alignment.index_map for alignment in self._alignments(X, "X")]

    def deviation(self, X):
        """Per-frame deviation score of each video.

        Parameters
        ----------
        X : list of videos

        Returns
        -------
        deviations : list of ndarray of shape (T_i,), float64
        """
        return [alignment.deviation for alignment in self._alignments(X, "X")]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of videos: a 2-D array is refused (it would be one video).
        tags.input_tags.two_d_array = False
        # as deterministic as the encoder
        encoder = self.encoder
        tags.non_deterministic = hasattr(encoder, "__sklearn_tags__") and get_tags(encoder).non_deterministic
        return tags

