"""Frame-level heads fitted on per-frame embeddings: phase classification and
phase progression (the paper's downstream tasks)."""

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.svm import SVC
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from ..metrics import phase_accuracy, phase_progress_targets
from ..metrics.phases import phase_order
from ..utils import check_embeddings, check_frame_labels
from ..utils.param_validation import HasMethods, StrOptions
from ._data import split_by_video


class _FrameHead(BaseEstimator):
    """Shared plumbing: a clone of ``estimator`` fitted on stacked frames."""

    def _check_X(self, X, fitting=False):
        if fitting:
            videos = check_embeddings(X, name="X")
            self.n_features_in_ = videos[0].shape[1]
            return videos
        check_is_fitted(self)
        return check_embeddings(X, name="X", n_features=self.n_features_in_)

    @staticmethod
    def _check_known_labels(labels, known, known_name):
        unseen = set(np.concatenate(labels).tolist()) - set(np.asarray(known).tolist())
        if unseen:
            raise ValueError(
                f"y has label(s) {sorted(unseen, key=repr)} that are not in "
                f"{known_name} = {np.asarray(known).tolist()}."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of (T_i, D) arrays: a 2-D array is refused (it would be one
        # video); no input tag describes a list of them.
        tags.input_tags.two_d_array = False
        tags.target_tags.required = True
        # as deterministic as the estimator fitted on the frames (SVC and
        # LinearRegression, the defaults, are)
        estimator = self.estimator
        tags.non_deterministic = hasattr(estimator, "__sklearn_tags__") and get_tags(estimator).non_deterministic
        return tags


class PhaseClassifier(_FrameHead):
    """Per-frame action-phase classifier on per-frame embeddings.

    The paper's fine-grained phase classification (Haresh et al. 2021, Sec.
    5.2, after TCC): a classifier (an SVM) is fitted on the embeddings of the
    training frames and predicts the phase of every frame of new videos.
    Unlike the official LAV code, training and test videos are kept apart.

    ``fit`` stacks the frames of all videos and fits a clone of
    ``estimator``; ``predict`` returns one label array per video; ``score``
    is the per-frame accuracy over all frames (:func:`sklav.metrics.phase_accuracy`).

    Parameters
    ----------
    estimator : classifier, default=None
        Any scikit-learn classifier; ``None`` means ``SVC()`` as in the paper.
        Tune it through ``estimator__<param>`` (pass it explicitly to do so).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : ndarray
        The phase labels seen in ``fit``.
    n_features_in_ : int
        Embedding dimension ``D``.

    See Also
    --------
    sklav.metrics.phase_accuracy : the score, as a function.
    sklav.evaluation.few_shot_scores : accuracy with few labelled videos.

    Notes
    -----
    ``X`` is a list of ``(T_i, D)`` arrays and ``y`` a list of ``(T_i,)``
    label arrays (ints or strings), so a *sample*, for model selection, is a
    video. Use ``GridSearchCV(..., scoring=None)`` (this ``score``) or the
    scorers of :mod:`sklav.evaluation`, and split with ``KFold`` or
    ``GroupKFold`` over videos. scikit-learn's string scorers such as
    ``scoring='accuracy'`` expect one label per sample and cannot read
    per-frame label lists: they fail, which ``GridSearchCV`` turns into NaN
    scores. The estimator does not declare itself a classifier, so that an
    integer ``cv`` means ``KFold`` over videos rather than a ``StratifiedKFold``
    that cannot stratify lists of label arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav import PhaseClassifier
    >>> X = [np.arange(6.0)[:, None], np.arange(8.0)[:, None] * 0.75]
    >>> y = [np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 0, 1, 1, 1, 1])]
    >>> clf = PhaseClassifier().fit(X, y)
    >>> clf.predict([np.array([[0.0], [5.0]])])
    [array([0, 1])]
    >>> clf.score(X, y)
    1.0
    """

    _parameter_constraints = {"estimator": [None, HasMethods(["fit", "predict"])]}

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        """Fit the classifier on the frames of all videos.

        Parameters
        ----------
        X : list of array-like of shape (T_i, D)
            Per-frame embeddings, one array per video.
        y : list of array-like of shape (T_i,)
            Per-frame phase labels.

        Returns
        -------
        self : PhaseClassifier
        """
        self._validate_params()
        videos = self._check_X(X, fitting=True)
        labels = check_frame_labels(y, videos)
        estimator = SVC() if self.estimator is None else self.estimator
        self.estimator_ = clone(estimator).fit(np.concatenate(videos), np.concatenate(labels))
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        """Predict the phase of every frame.

        Parameters
        ----------
        X : list of array-like of shape (T_i, D)

        Returns
        -------
        labels : list of ndarray of shape (T_i,)
        """
        videos = self._check_X(X)
        predicted = self.estimator_.predict(np.concatenate(videos))
        return split_by_video(predicted, [len(v) for v in videos])

    def score(self, X, y, sample_weight=None):
        """Per-frame accuracy over all frames of all videos.

        Parameters
        ----------
        X : list of array-like of shape (T_i, D)
        y : list of array-like of shape (T_i,)
            True phase labels; all must have been seen in ``fit``.
        sample_weight : list of array-like of shape (T_i,), optional
            Per-frame weights; accepted so that ``Pipeline.score`` works with
            metadata routing enabled.

        Returns
        -------
        accuracy : float
        """
        videos = self._check_X(X)
        labels = check_frame_labels(y, videos)
        self._check_known_labels(labels, self.classes_, "classes_")
        predicted = self.predict(videos)
        if sample_weight is None:
            return phase_accuracy(labels, predicted)
        weights = np.concatenate(check_frame_labels(sample_weight, videos, name="sample_weight"))
        correct = np.concatenate(labels) == np.concatenate(predicted)
        return float(np.average(correct, weights=weights))


class ProgressRegressor(_FrameHead):
    """Phase-progression regressor on per-frame embeddings (TCC's definition).

    Targets (:func:`sklav.metrics.phase_progress_targets`): with phases
    ordered ``p_0, ..., p_{P-1}`` there are ``P - 1`` key events, event ``e``
    being the last frame ``t_e`` of phase ``p_e``; the target of frame ``t``
    of a ``T``-frame video for event ``e`` is ``(t - t_e) / T``. One clone of
    ``estimator`` is fitted per key event on the stacked frames, and ``score``
    is the mean over key events of the coefficient of determination R^2 over
    all frames (Dwibedi et al. 2019, Sec. 5.1).

    Explicit progress targets are accepted too: float arrays of shape
    ``(T_i,)`` or ``(T_i, E)``, one regressor per column.

    Parameters
    ----------
    estimator : regressor, default=None
        Any scikit-learn single-output regressor; ``None`` means
        ``LinearRegression()`` as in TCC.
    phases : array-like, default=None
        The phase labels in temporal order; ``None`` means sorted (right for
        integer phases ``0, 1, ...``; give it for string labels).
    target : {'auto', 'phases', 'progress'}, default='auto'
        What ``y`` holds: phase labels, or explicit progress targets. ``'auto'``
        reads float arrays as progress targets and anything else as phases.

    Attributes
    ----------
    estimators_ : list of regressors
        One fitted clone per key event (or target column).
    phases_ : ndarray or None
        The phase order used (``None`` for explicit targets).
    target_kind_ : {'phases', 'progress'}
        How ``y`` was read.
    n_features_in_ : int
        Embedding dimension ``D``.

    See Also
    --------
    sklav.metrics.phase_progress_targets : the targets, as a function.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav import ProgressRegressor
    >>> X = [np.arange(6.0)[:, None], np.arange(4.0)[:, None]]
    >>> y = [np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 1])]
    >>> reg = ProgressRegressor().fit(X, y)
    >>> len(reg.estimators_)  # one key event: the end of phase 0
    1
    >>> round(reg.score(X, y), 3)
    0.827
    """

    _parameter_constraints = {
        "estimator": [None, HasMethods(["fit", "predict"])],
        "phases": [None, "array-like"],
        "target": [StrOptions({"auto", "phases", "progress"})],
    }

    def __init__(self, estimator=None, *, phases=None, target="auto"):
        self.estimator = estimator
        self.phases = phases
        self.target = target

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # (T_i, E) targets: one regressor per column
        return tags

    def _resolve_target_kind(self, y):
        if self.target != "auto":
            return self.target
        if y is None:
            raise ValueError("y is required: per-frame phase labels or progress targets.")
        floating = [np.issubdtype(np.asarray(v).dtype, np.floating) for v in y]
        if all(floating):
            return "progress"
        if any(floating):
            raise ValueError(
                "y mixes float arrays (progress targets) with label arrays; set "
                "target='phases' or target='progress'."
            )
        return "phases"

    def _targets(self, y, videos):
        if self.target_kind_ == "phases":
            labels = check_frame_labels(y, videos)
            self._check_known_labels(labels, self.phases_, "phases_")
            return phase_progress_targets(labels, phases=self.phases_)
        return _check_progress_targets(y, videos)

    def fit(self, X, y):
        """Fit one regressor per key event on the frames of all videos.

        Parameters
        ----------
        X : list of array-like of shape (T_i, D)
            Per-frame embeddings, one array per video.
        y : list of array-like of shape (T_i,) or (T_i, E)
            Per-frame phase labels, or explicit progress targets.

        Returns
        -------
        self : ProgressRegressor
        """
        self._validate_params()
        videos = self._check_X(X, fitting=True)
        self.target_kind_ = self._resolve_target_kind(y)
        self.phases_ = None
        if self.target_kind_ == "phases":
            labels = check_frame_labels(y, videos)
            self.phases_ = phase_order(labels) if self.phases is None else np.asarray(self.phases)
        targets = self._targets(y, videos)
        self._flat_targets_ = targets[0].ndim == 1
        frames = np.concatenate(videos)
        stacked = np.concatenate(targets).reshape(len(frames), -1)
        estimator = LinearRegression() if self.estimator is None else self.estimator
        self.estimators_ = [clone(estimator).fit(frames, column) for column in stacked.T]
        return self

    def predict(self, X):
        """Predict the progress of every frame towards every key event.

        Parameters
        ----------
        X : list of array-like of shape (T_i, D)

        Returns
        -------
        progress : list of ndarray of shape (T_i, E)
            ``(T_i,)`` when fitted on 1-D explicit targets.
        """
        videos = self._check_X(X)
        frames = np.concatenate(videos)
        predicted = np.column_stack([est.predict(frames) for est in self.estimators_])
        if self._flat_targets_:
            predicted = predicted[:, 0]
        return split_by_video(predicted, [len(v) for v in videos])

    def score(self, X, y, sample_weight=None):
        """Mean over key events of R^2 over all frames.

        Parameters
        ----------
        X : list of array-like of shape (T_i, D)
        y : list of array-like
            Phase labels (from the fitted phases) or progress targets, as in ``fit``.
        sample_weight : list of array-like of shape (T_i,), optional
            Per-frame weights of the R^2.

        Returns
        -------
        r2 : float
        """
        videos = self._check_X(X)
        n_frames = sum(len(v) for v in videos)
        true = np.concatenate(self._targets(y, videos)).reshape(n_frames, -1)
        if true.shape[1] != len(self.estimators_):
            raise ValueError(
                f"y has {true.shape[1]} progress target(s) per frame; the model was fitted "
                f"on {len(self.estimators_)}."
            )
        predicted = np.concatenate(self.predict(videos)).reshape(n_frames, -1)
        if sample_weight is not None:
            sample_weight = np.concatenate(check_frame_labels(sample_weight, videos, name="sample_weight"))
        return float(r2_score(true, predicted, sample_weight=sample_weight, multioutput="uniform_average"))


def _check_progress_targets(y, videos):
    if y is None:
        raise ValueError("y is required: per-frame progress targets, one array per video.")
    if len(y) != len(videos):
        raise ValueError(f"y has {len(y)} target arrays but X has {len(videos)} videos.")
    targets = []
    for i, (target, video) in enumerate(zip(y, videos)):
        target = np.asarray(target, dtype=np.float64)
        if target.ndim not in (1, 2) or len(target) != len(video):
            raise ValueError(
                f"y[{i}] has shape {target.shape}; expected ({len(video)},) or "
                f"({len(video)}, E): one progress value (per key event) per frame of X[{i}]."
            )
        if not np.isfinite(target).all():
            raise ValueError(f"y[{i}] contains NaN or inf.")
        if targets and target.shape[1:] != targets[0].shape[1:]:
            raise ValueError(f"y[{i}] has shape {target.shape}, unlike y[0] {targets[0].shape}.")
        targets.append(target)
    return targets
