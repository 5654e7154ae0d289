"""scikit-learn's checks and their ports to lists of videos, on every public estimator.

Add a new estimator to ``ESTIMATORS`` (with small videos it takes); the last
test fails until every public ``BaseEstimator`` of sklav is listed.
"""

import importlib
import pkgutil

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

import sklav
from sklav import ClockEncoder, LAVEncoder, PhaseClassifier, ProgressRegressor
from sklav.alignment import Aligner
from sklav.utils import estimator_checks
from sklav.utils.estimator_checks import sklearn_checks, video_checks


def _walks(n=4, dim=3, seed=0):
    """Random-walk videos of different lengths, float32."""
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(size=(9 + 2 * i, dim)), 0).astype(np.float32) for i in range(n)]


def _phases(videos):
    """Two phases per video: the first and the second half."""
    return [(np.arange(len(v)) >= len(v) // 2).astype(np.int64) for v in videos]


_VIDEOS = _walks()

_FAST = dict(num_frames=4, max_epochs=1, hidden_dim=8, embedding_dim=4, batch_size=2, context_stride=2)

#: (estimator, X, y): every public estimator, with small data it fits fast on.
ESTIMATORS = [
    (LAVEncoder(random_state=0, **_FAST), _VIDEOS, None),
    (ClockEncoder(), _VIDEOS, None),
    (PhaseClassifier(), _VIDEOS, _phases(_VIDEOS)),
    (ProgressRegressor(), _VIDEOS, _phases(_VIDEOS)),
    (Aligner(), _VIDEOS, None),
    (Aligner(reference="barycenter"), _VIDEOS, None),
]

#: Public BaseEstimator subclasses that are not estimators on videos, with why.
NOT_VIDEO_ESTIMATORS = {
    "LAVNet": "the skorch net inside LAVEncoder, fitted on pair datasets; checked through LAVEncoder",
    "PoseExtractor": "needs a pose model (MediaPipe, or Keypoint R-CNN weights); its transformer "
    "contract is checked in tests/test_pose_extraction.py",
}

#: (estimator, check): known failures, each with its cause.
XFAIL = {}  # (estimator, check) -> the reason a known defect makes the check fail


def _id(case):
    return type(case[0]).__name__


def _sklearn_params():
    for estimator, _, _ in ESTIMATORS:
        for check_name, check, reason in sklearn_checks(estimator):
            marks = [] if check is not None else [pytest.mark.skip(reason=reason)]
            yield pytest.param(check, id=f"{type(estimator).__name__}-{check_name}", marks=marks)


def _video_params():
    for estimator, X, y in ESTIMATORS:
        name = type(estimator).__name__
        for _, check in video_checks(estimator, X, y):
            check_name = check.func.__name__
            reason = XFAIL.get((name, check_name))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            yield pytest.param(check, id=f"{name}-{check_name}", marks=marks)


@pytest.mark.parametrize("check", list(_sklearn_params()))
def test_sklearn_check(check):
    check()


@pytest.mark.parametrize("check", list(_video_params()))
def test_video_check(check):
    check()


def test_fit_does_not_mutate_parameter_objects():
    from skorch.callbacks import EarlyStopping

    encoder = LAVEncoder(callbacks=[EarlyStopping(monitor="train_loss", patience=1)], random_state=0, **_FAST)
    estimator_checks.check_params_not_mutated("LAVEncoder", encoder, _VIDEOS)


@pytest.mark.parametrize("case", ESTIMATORS, ids=_id)
def test_tags_tell_the_truth_about_input(case):
    estimator, X, y = case
    tags = estimator.__sklearn_tags__()
    assert not tags.input_tags.two_d_array  # a 2-D array would be one video
    assert tags.target_tags.required == (y is not None)


def test_every_public_estimator_is_checked():
    # the public API: what sklav and its subpackages export
    packages = [sklav] + [
        importlib.import_module(info.name)
        for info in pkgutil.iter_modules(sklav.__path__, "sklav.") if info.ispkg
    ]
    public = set()
    for module in packages:
        for attribute in getattr(module, "__all__", []):
            value = getattr(module, attribute)
            if isinstance(value, type) and issubclass(value, BaseEstimator):
                public.add(value.__name__)
    public -= set(NOT_VIDEO_ESTIMATORS)
    assert public == {type(case[0]).__name__ for case in ESTIMATORS}


# --------------------------------------------------------------------------
# the checks can fail


class _Defective(BaseEstimator):
    """Centres every video on the mean frame of fit, with one defect at a time."""

    def __init__(self, defect=None):
        self.defect = defect

    def __sklearn_clone__(self):
        return self if self.defect == "clone" else super().__sklearn_clone__()

    def fit(self, X, y=None):
        if len(X) == 0 or any(np.asarray(v).size == 0 for v in X):
            raise ValueError("empty")
        self.mean_ = np.concatenate([np.asarray(v, dtype=float) for v in X]).mean(0)
        if self.defect == "mutates_X":
            X[0][0] = 0
        if self.defect == "public":
            self.fitted = True
        return None if self.defect == "returns_none" else self

    def transform(self, X):
        check_is_fitted(self)
        if self.defect == "dict":
            self.calls_ = getattr(self, "calls_", 0) + 1
        shift = 1.0 if self.defect == "order" else 0.0
        return [np.asarray(v, dtype=float) - self.mean_ + shift * i for i, v in enumerate(X)]


@pytest.mark.parametrize(
    "defect, check",
    [
        (None, None),
        ("clone", "check_clone"),
        ("returns_none", "check_fit_returns_self"),
        ("mutates_X", "check_input_not_mutated"),
        ("public", "check_dont_overwrite_parameters"),
        ("dict", "check_dict_unchanged"),
        ("order", "check_sample_order_invariance"),
        ("order", "check_subset_invariance"),
    ],
)
def test_the_checks_catch_defects(defect, check):
    videos = [v.astype(np.float64) for v in _walks(3)]
    if check is None:  # the sound estimator passes them all
        for name in ("check_clone", "check_fit_returns_self", "check_input_not_mutated",
                     "check_dont_overwrite_parameters", "check_dict_unchanged",
                     "check_sample_order_invariance", "check_subset_invariance"):
            getattr(estimator_checks, name)("_Defective", _Defective(), videos)
        return
    with pytest.raises(AssertionError):
        getattr(estimator_checks, check)("_Defective", _Defective(defect), videos)
