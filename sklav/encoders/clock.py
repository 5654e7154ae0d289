"""ClockEncoder: the untrained "clock" baseline, embedding each frame by its time.

A frame's embedding is where it sits in its video, nothing about what it
shows. On datasets whose clips are trimmed so that phases sit at similar
fractions of the video (Penn Action), this clock scores well on the standard
protocol; it is the row that tells what a protocol measures (alignment of
content, or the clock). See :mod:`sklav.evaluation.protocols` for re-timed
protocols that a clock does not pass.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..datasets import open_video
from ..utils import check_videos
from ..utils.param_validation import StrOptions


class ClockEncoder(TransformerMixin, BaseEstimator):
    """Baseline encoder: frame ``t`` of a ``T``-frame video embedded as ``t / T``.

    It looks at no pixel and learns nothing: ``fit`` only records the
    per-frame shape, so that the clock refuses the videos a
    :class:`~sklav.LAVEncoder` fitted on the same data would refuse, and can
    replace it in a :class:`~sklearn.pipeline.Pipeline`. It is the baseline
    any alignment method must beat on a protocol that measures alignment
    (see the user guide's evaluation page): where it wins, the protocol
    rewards knowing the time, not matching content.

    Parameters
    ----------
    unit : {'fraction', 'frame'}, default='fraction'
        ``'fraction'``: ``t / T`` for ``t = 0, ..., T - 1`` (in ``[0, 1)``);
        ``'frame'``: the absolute frame index ``t``.

    Attributes
    ----------
    frame_shape_ : tuple
        Per-frame shape seen in ``fit``; ``transform`` requires it.

    See Also
    --------
    sklav.LAVEncoder : the learned encoder it stands in for.
    sklav.evaluation.evaluate : its ``protocol`` re-times videos, which a
        clock does not survive.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders import ClockEncoder
    >>> videos = [np.zeros((4, 13, 3)), np.ones((5, 13, 3))]
    >>> clock = ClockEncoder().fit(videos)
    >>> clock.transform(videos)[0].ravel()
    array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    >>> ClockEncoder(unit="frame").fit_transform(videos)[1].ravel()
    array([0., 1., 2., 3., 4.], dtype=float32)

    In a pipeline, in place of a :class:`~sklav.LAVEncoder`:

    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.svm import SVC
    >>> from sklav import PhaseClassifier
    >>> labels = [np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1, 1])]
    >>> model = Pipeline([("enc", ClockEncoder()), ("svm", PhaseClassifier(SVC()))])
    >>> model.fit(videos, labels).score(videos, labels)
    1.0
    """

    _parameter_constraints = {"unit": [StrOptions({"fraction", "frame"})]}

    def __init__(self, *, unit="fraction"):
        self.unit = unit

    def _check_videos(self, X, fitting):
        # Paths are opened lazily: only their length is read, never a frame.
        kwargs = dict(frame_ndim=(1, 2, 3), split_arrays=False, open_path=open_video)
        if not fitting:
            kwargs["frame_shape"] = self.frame_shape_
        return check_videos(X, **kwargs)

    def fit(self, X, y=None):
        """Record the per-frame shape of the videos; nothing is learned.

        Parameters
        ----------
        X : list, tuple or 1-D object array of arrays or paths
            Videos, as for :meth:`sklav.LAVEncoder.fit`: frames ``(T, H, W,
            3)``, poses ``(T, J, C)`` or features ``(T, D)``.
        y : None
            Ignored; accepted for pipelines.

        Returns
        -------
        self : ClockEncoder
        """
        self._validate_params()
        videos = self._check_videos(X, fitting=True)
        self.frame_shape_ = tuple(videos[0].shape[1:])
        return self

    def transform(self, X):
        """The time of every frame of each video.

        Parameters
        ----------
        X : list, tuple or 1-D object array of arrays or paths
            Videos with the per-frame shape seen in ``fit``.

        Returns
        -------
        embeddings : list of ndarray of shape (T_i, 1), float32
            ``t / T_i`` (``unit='fraction'``) or ``t`` (``unit='frame'``).
        """
        check_is_fitted(self, "frame_shape_")
        videos = self._check_videos(X, fitting=False)
        return [self._times(len(v)) for v in videos]

    def _times(self, n_frames):
        times = np.arange(n_frames, dtype=np.float64)
        if self.unit == "fraction":
            times /= n_frames  # in float64, then rounded once to float32
        return times.astype(np.float32)[:, None]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False  # a list of videos, never one stacked array
        tags.target_tags.required = False
        tags.non_deterministic = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # float32 whatever the input
        return tags
