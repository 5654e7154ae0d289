"""Tests of sklav.evaluation: estimators, scorers, few-shot protocol, report."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, LinearSVC

import sklav
from sklav.evaluation import (
    FrameRetrievalAP,
    KendallTauScorer,
    PhaseAgreementScorer,
    PhaseClassifier,
    ProgressRegressor,
    ScoreTable,
    evaluate,
    few_shot_scores,
)
from sklav.metrics import (
    frame_retrieval_ap,
    kendalls_tau,
    phase_accuracy,
    phase_agreement,
    phase_progress_targets,
)


class FrameProjection(TransformerMixin, BaseEstimator):
    """Stand-in encoder: a random per-frame linear projection of lists of videos.

    ``scale`` multiplies the nuisance (non-progress) input dimensions, so a grid
    over it changes how well videos align.
    """

    def __init__(self, n_components=3, scale=1.0, random_state=0):
        self.n_components = n_components
        self.scale = scale
        self.random_state = random_state

    def fit(self, X, y=None):
        dim = np.asarray(X[0]).shape[1]
        rng = np.random.default_rng(self.random_state)
        self.components_ = rng.standard_normal((dim, self.n_components))
        self.components_[0] = 3.0  # keep the progress dimension
        self.components_[1:] *= self.scale
        return self

    def transform(self, X):
        return [np.asarray(video) @ self.components_ for video in X]


def make_videos(n_videos, seed, dim=5, n_phases=3, noise=0.05):
    """Videos whose first dimension is progress (0 to 1) plus noise; phases from it."""
    rng = np.random.default_rng(seed)
    videos, labels = [], []
    for length in rng.integers(25, 40, n_videos):
        progress = np.linspace(0, 1, length)
        video = np.column_stack([progress, 0.2 * rng.standard_normal((length, dim - 1))])
        video[:, 0] += noise * rng.standard_normal(length)
        videos.append(video)
        labels.append(np.minimum((progress * n_phases).astype(int), n_phases - 1))
    return videos, labels


@pytest.fixture(scope="module")
def data():
    return make_videos(12, seed=0)


@pytest.fixture(scope="module")
def val_data():
    return make_videos(6, seed=1)


# --------------------------------------------------------------------------
# PhaseClassifier


def test_phase_classifier_fit_predict_score(data, val_data):
    X, y = data
    clf = PhaseClassifier().fit(X, y)
    assert isinstance(clf.estimator_, SVC)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_features_in_ == 5
    predicted = clf.predict(val_data[0])
    assert [p.shape for p in predicted] == [(len(v),) for v in val_data[0]]
    score = clf.score(*val_data)
    assert score == phase_accuracy(val_data[1], predicted)
    assert score > 0.8


def test_phase_classifier_accuracy_counts_every_frame():
    # Hand example: 1-NN on a 1-D embedding; 5 frames, 4 right.
    from sklearn.neighbors import KNeighborsClassifier

    X = [np.array([[0.0], [1.0], [2.0]])]
    y = [np.array(["a", "a", "b"])]
    clf = PhaseClassifier(KNeighborsClassifier(1)).fit(X, y)
    X_test = [np.array([[0.1], [1.9]]), np.array([[1.2], [2.2], [0.4]])]
    y_test = [np.array(["a", "b"]), np.array(["b", "b", "a"])]
    assert [p.tolist() for p in clf.predict(X_test)] == [["a", "b"], ["a", "b", "a"]]
    assert clf.score(X_test, y_test) == pytest.approx(4 / 5)


def test_phase_classifier_string_labels_and_clone(data):
    X, y = data
    names = np.array(["reach", "grasp", "lift"])
    clf = PhaseClassifier(LinearSVC()).fit(X, [names[lab] for lab in y])
    assert set(clf.classes_) == set(names)
    assert clf.predict(X[:1])[0].dtype.kind == "U"
    assert clone(clf).get_params()["estimator"].__class__ is LinearSVC


def test_phase_classifier_bad_input(data):
    X, y = data
    with pytest.raises(ValueError, match=r"y\[1\] has 3 labels but X\[1\] has"):
        PhaseClassifier().fit(X[:2], [y[0], y[1][:3]])
    with pytest.raises(NotFittedError):
        PhaseClassifier().predict(X)
    clf = PhaseClassifier().fit(X, y)
    with pytest.raises(ValueError, match=r"label\(s\) \[7\] that are not in classes_"):
        clf.score(X[:1], [np.full(len(X[0]), 7)])
    with pytest.raises(ValueError, match="per-frame shape"):
        clf.predict([np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"X\[0\] has 0 frame"):
        clf.predict([np.zeros((0, 5))])
    with pytest.raises(ValueError, match="2 label arrays but X has 3"):
        PhaseClassifier().fit(X[:3], y[:2])


def test_phase_classifier_in_pipeline_with_svc(data, val_data):
    pipe = Pipeline([("encoder", FrameProjection()), ("clf", PhaseClassifier(SVC()))])
    pipe.fit(*data)
    assert pipe.score(*val_data) > 0.8
    assert len(pipe.predict(val_data[0])) == len(val_data[0])


def test_phase_classifier_grid_search_group_kfold(data):
    X, y = data
    pipe = Pipeline([("encoder", FrameProjection()), ("clf", PhaseClassifier(SVC()))])
    groups = np.repeat(np.arange(4), 3)  # e.g. 4 subjects, 3 videos each
    search = GridSearchCV(
        pipe, {"clf__estimator__C": [0.01, 10.0]}, cv=GroupKFold(n_splits=4), error_score="raise"
    ).fit(X, y, groups=groups)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert search.best_params_ == {"clf__estimator__C": 10.0}
    # An integer cv means KFold over videos (the head is not a classifier to sklearn).
    assert np.isfinite(cross_val_score(pipe, X, y, cv=3, error_score="raise")).all()


def test_sklearn_string_scorer_cannot_read_frame_labels(data):
    # Documented pitfall: scoring='accuracy' does not understand per-frame label lists.
    X, y = data
    with pytest.warns(UserWarning):
        scores = cross_val_score(PhaseClassifier(), X, y, cv=3, scoring="accuracy")
    assert np.isnan(scores).all()


# --------------------------------------------------------------------------
# ProgressRegressor


def test_progress_regressor_matches_manual_per_event_fit(data, val_data):
    X, y = data
    reg = ProgressRegressor().fit(X, y)
    assert len(reg.estimators_) == 2  # 3 phases -> 2 key events
    assert reg.target_kind_ == "phases"
    np.testing.assert_array_equal(reg.phases_, [0, 1, 2])
    targets, val_targets = phase_progress_targets(y), phase_progress_targets(val_data[1])
    frames, val_frames = np.concatenate(X), np.concatenate(val_data[0])
    expected = np.mean(
        [
            r2_score(
                np.concatenate(val_targets)[:, e],
                LinearRegression().fit(frames, np.concatenate(targets)[:, e]).predict(val_frames),
            )
            for e in range(2)
        ]
    )
    assert reg.score(*val_data) == pytest.approx(expected)
    assert expected > 0.8
    assert [p.shape for p in reg.predict(val_data[0])] == [(len(v), 2) for v in val_data[0]]


def test_progress_regressor_explicit_targets(data):
    X, _ = data
    progress = [np.linspace(0, 1, len(v)) for v in X]
    reg = ProgressRegressor(Ridge(alpha=1e-6)).fit(X, progress)
    assert reg.target_kind_ == "progress" and reg.phases_ is None
    assert reg.predict(X[:2])[0].shape == (len(X[0]),)
    assert reg.score(X, progress) > 0.95
    two_columns = [np.column_stack([p, 1 - p]) for p in progress]
    reg2 = ProgressRegressor().fit(X, two_columns)
    assert len(reg2.estimators_) == 2 and reg2.predict(X[:1])[0].shape == (len(X[0]), 2)
    with pytest.raises(ValueError, match="fitted on 2"):
        reg2.score(X, progress)
    # Float-coded phase labels, read as phases on request.
    floats = [np.floor(p * 2.999) for p in progress]
    assert ProgressRegressor(target="phases").fit(X, floats).target_kind_ == "phases"


def test_progress_regressor_string_phases_and_errors(data):
    X, y = data
    names = np.array(["c_end", "b_mid", "a_start"])  # alphabetical order is not temporal
    named = [names[lab] for lab in y]
    reg = ProgressRegressor(phases=["c_end", "b_mid", "a_start"]).fit(X, named)
    assert reg.score(X, named) == pytest.approx(ProgressRegressor().fit(X, y).score(X, y))
    with pytest.raises(ValueError, match="not in phases_"):
        reg.score(X[:1], [np.full(len(X[0]), "z")])
    with pytest.raises(ValueError, match="mixes float arrays"):
        ProgressRegressor().fit(X[:2], [np.zeros(len(X[0])), np.zeros(len(X[1]), dtype=int)])
    with pytest.raises(ValueError, match="at least 2 phases"):
        ProgressRegressor().fit(X[:2], [np.zeros(len(v), dtype=int) for v in X[:2]])
    with pytest.raises(ValueError, match=r"y\[0\] has shape"):
        ProgressRegressor().fit(X[:1], [np.zeros(3)])
    with pytest.raises(ValueError, match="'target' parameter of ProgressRegressor"):
        ProgressRegressor(target="bad").fit(X, y)


def test_progress_regressor_in_grid_search(data):
    X, y = data
    pipe = Pipeline([("encoder", FrameProjection()), ("reg", ProgressRegressor(Ridge()))])
    search = GridSearchCV(
        pipe, {"reg__estimator__alpha": [0.1, 100.0]}, cv=KFold(3), error_score="raise"
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# --------------------------------------------------------------------------
# Scorers


def test_kendall_tau_scorer_equals_functional(data):
    X, _ = data
    encoder = FrameProjection().fit(X)
    scorer = KendallTauScorer(stride=2)
    assert scorer(encoder, X) == kendalls_tau(encoder.transform(X), stride=2)
    assert scorer(None, X, None) == kendalls_tau(X, stride=2)
    assert repr(scorer) == "KendallTauScorer(stride=2, metric='sqeuclidean')"


def test_kendall_tau_scorer_is_the_only_scoring_without_labels(data):
    X, _ = data
    pipe = Pipeline([("encoder", FrameProjection())])
    search = GridSearchCV(
        pipe,
        {"encoder__scale": [0.0, 3.0]},
        scoring=KendallTauScorer(),
        cv=KFold(3),
        error_score="raise",
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert search.best_params_ == {"encoder__scale": 0.0}  # nuisance-free aligns best
    # A bare encoder (no score method) works the same way.
    search = GridSearchCV(
        FrameProjection(),
        {"scale": [0.0, 3.0]},
        scoring=KendallTauScorer(),
        cv=KFold(3),
        error_score="raise",
    ).fit(X)
    assert search.best_params_ == {"scale": 0.0}


def test_frame_retrieval_ap_scorer(data):
    X, y = data
    encoder = FrameProjection().fit(X)
    scorer = FrameRetrievalAP(k=10)
    assert scorer(encoder, X, y) == frame_retrieval_ap(encoder.transform(X), y, k=10)
    with pytest.raises(ValueError, match="needs y"):
        scorer(encoder, X)
    with pytest.raises(TypeError, match="no transform method"):
        scorer(PhaseClassifier().fit(X, y), X, y)


@pytest.mark.parametrize("match", ["nearest", "dtw"])
def test_phase_agreement_scorer(data, match):
    X, y = data
    encoder = FrameProjection().fit(X)
    scorer = PhaseAgreementScorer(match=match)
    assert scorer(encoder, X, y) == phase_agreement(encoder.transform(X), y, match=match)
    assert repr(scorer) == f"PhaseAgreementScorer(match={match!r})"
    with pytest.raises(ValueError, match="needs y"):
        scorer(encoder, X)


def test_scorers_on_pipeline_ending_in_classifier_multimetric(data):
    X, y = data
    pipe = Pipeline([("encoder", FrameProjection()), ("clf", PhaseClassifier(SVC()))])
    scoring = {
        "tau": KendallTauScorer(),
        "ap5": FrameRetrievalAP(5),
        "agreement": PhaseAgreementScorer(),
        "accuracy": lambda estimator, X, y: estimator.score(X, y),
    }
    search = GridSearchCV(
        pipe,
        {"encoder__scale": [0.0, 3.0]},
        scoring=scoring,
        refit="ap5",
        cv=GroupKFold(3),
        error_score="raise",
    ).fit(X, y, groups=np.arange(12) % 3)
    for name in scoring:
        assert np.isfinite(search.cv_results_[f"mean_test_{name}"]).all()


# --------------------------------------------------------------------------
# Few-shot protocol


def test_few_shot_scores_protocol(data, val_data):
    table = few_shot_scores(
        data, val_data, settings=(0.1, 0.5, 1.0, 1, 2), n_episodes=3, random_state=0
    )
    assert table.names() == [0.1, 0.5, 1.0, 1, 2]
    assert [row["n_labelled"] for row in table] == [1, 6, 12, 1, 2]
    assert table[1.0]["n_episodes"] == 1 and table[1.0]["std"] == 0.0
    row = table[2]
    assert row["n_episodes"] == 3 and len(row["scores"]) == 3
    assert row["mean"] == pytest.approx(np.mean(row["scores"]))
    assert row["std"] == pytest.approx(np.std(row["scores"]))
    # Each episode is exactly a PhaseClassifier fitted on the drawn videos.
    drawn = row["episodes"][0]
    clf = PhaseClassifier().fit([data[0][i] for i in drawn], [data[1][i] for i in drawn])
    assert row["scores"][0] == phase_accuracy(val_data[1], clf.predict(val_data[0]))
    assert table[1.0]["mean"] == PhaseClassifier().fit(*data).score(*val_data)


def test_few_shot_scores_deterministic_and_train_scores(data, val_data):
    kwargs = dict(settings=(1, 3), n_episodes=4, estimator=LinearSVC(), random_state=3)
    first = few_shot_scores(data, val_data, **kwargs, return_train_score=True)
    second = few_shot_scores(data, val_data, **kwargs, return_train_score=True)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a["scores"], b["scores"])
        assert a["train_mean"] == b["train_mean"]
    assert first.columns[-2:] == ["train_mean", "train_std"]


@pytest.mark.parametrize(
    "settings, error, match",
    [
        ((0.0,), ValueError, "outside"),
        ((1.5,), ValueError, "outside"),
        ((13,), ValueError, "outside"),
        (("a",), TypeError, "fractions"),
        ((True,), TypeError, "fractions"),
    ],
)
def test_few_shot_scores_bad_settings(data, val_data, settings, error, match):
    with pytest.raises(error, match=match):
        few_shot_scores(data, val_data, settings=settings)


# --------------------------------------------------------------------------
# One-call report


def test_evaluate_table(data, val_data):
    report = evaluate(None, data, val_data, n_episodes=2, random_state=0)
    assert report.names() == [
        "classification@0.1",
        "classification@0.5",
        "classification@1.0",
        "progress_r2",
        "kendalls_tau",
        "phase_agreement",
        "ap@5",
        "ap@10",
        "ap@15",
    ]
    assert report.columns == ["metric", "val", "val_std"]
    assert report["kendalls_tau"]["val"] == kendalls_tau(val_data[0])
    assert report["phase_agreement"]["val"] == phase_agreement(*val_data)
    assert report["ap@10"]["val"] == frame_retrieval_ap(*val_data, k=10)
    assert report["progress_r2"]["val"] == ProgressRegressor().fit(*data).score(*val_data)
    assert report["classification@1.0"]["val"] == PhaseClassifier().fit(*data).score(*val_data)
    assert report["progress_r2"]["val_std"] is None
    text = report.to_rst()
    assert text.splitlines()[1].split() == ["metric", "val", "val_std"]
    assert "classification@0.5" in str(report)
    assert set(report.to_dict()["ap@5"]) == {"val", "val_std"}


def test_evaluate_with_encoder_deterministic_and_train_apart(data, val_data):
    encoder = FrameProjection().fit(data[0])
    kwargs = dict(n_episodes=2, random_state=1, return_train_score=True, classifier=LinearSVC())
    report = evaluate(encoder, data, val_data, **kwargs)
    assert report.to_dict() == evaluate(encoder, data, val_data, **kwargs).to_dict()
    assert report["kendalls_tau"]["train"] == kendalls_tau(encoder.transform(data[0]))
    # Val labels never reach a fitted head: corrupting them leaves every train score unchanged.
    shuffled = [np.roll(lab, len(lab) // 2) for lab in val_data[1]]
    corrupted = evaluate(encoder, data, (val_data[0], shuffled), **kwargs)
    for name in report.names():
        assert corrupted[name]["train"] == report[name]["train"]
    assert corrupted["classification@1.0"]["val"] < report["classification@1.0"]["val"]


def test_evaluate_bad_input(data, val_data):
    with pytest.raises(ValueError, match=r"val\[0\] has 1 video"):
        evaluate(None, data, (val_data[0][:1], val_data[1][:1]))
    with pytest.raises(TypeError, match="pair"):
        evaluate(None, data, val_data[0])
    with pytest.raises(ValueError, match=r"train\[1\]\[0\] has"):
        evaluate(None, (data[0], [lab[:-1] for lab in data[1]]), val_data)
    with pytest.raises(ValueError, match="not in phases_"):
        evaluate(None, data, (val_data[0], [lab + 5 for lab in val_data[1]]), n_episodes=1)


def test_evaluate_protocol_none_is_the_default_table(data, val_data):
    kwargs = dict(n_episodes=2, random_state=3, return_train_score=True)
    assert evaluate(None, data, val_data, protocol="none", **kwargs).to_dict() == evaluate(
        None, data, val_data, **kwargs).to_dict()


@pytest.mark.parametrize("protocol", ["crop", "warp"])
def test_evaluate_retimed_scores_the_retimed_videos(data, val_data, protocol):
    from sklearn.utils import check_random_state

    from sklav.evaluation.protocols import retime

    report = evaluate(None, data, val_data, n_episodes=2, random_state=4, protocol=protocol)
    assert report.to_dict() == evaluate(None, data, val_data, n_episodes=2, random_state=4,
                                        protocol=protocol).to_dict()
    assert report.to_dict() != evaluate(None, data, val_data, n_episodes=2, random_state=5,
                                        protocol=protocol).to_dict()
    # the documented stream: one generator re-times train, then val
    rng = check_random_state(4)
    train, val = retime(*data, protocol, random_state=rng), retime(*val_data, protocol, random_state=rng)
    assert report["kendalls_tau"]["val"] == kendalls_tau(val.videos)
    assert report["phase_agreement"]["val"] == phase_agreement(val.videos, val.labels)
    assert report["ap@5"]["val"] == frame_retrieval_ap(val.videos, val.labels, k=5)
    # progress: regressed on, and scored against, the original videos' targets at the kept frames
    original = [phase_progress_targets(labels, phases=[0, 1, 2]) for labels in (data[1], val_data[1])]
    targets = [[t[k] for t, k in zip(o, r.frame_indices)] for o, r in zip(original, (train, val))]
    expected = ProgressRegressor(target="progress").fit(train.videos, targets[0]).score(val.videos, targets[1])
    assert report["progress_r2"]["val"] == pytest.approx(expected, abs=1e-12)
    # an already re-timed split is taken as it is
    again = evaluate(None, train, val, n_episodes=2, random_state=4)
    for name in ("progress_r2", "kendalls_tau", "phase_agreement", "ap@5"):
        assert again[name]["val"] == report[name]["val"], name
    with pytest.raises(ValueError, match="already re-timed"):
        evaluate(None, train, val, protocol=protocol)


def test_evaluate_fit_encoder_fits_a_clone_on_the_retimed_train_videos(data, val_data):
    from sklearn.utils import check_random_state

    from sklav.evaluation.protocols import retime

    encoder = FrameProjection(random_state=2)
    report = evaluate(encoder, data, val_data, n_episodes=1, random_state=0, protocol="crop", fit_encoder=True)
    assert not hasattr(encoder, "components_")  # the given encoder is left untouched
    rng = check_random_state(0)
    train, val = retime(*data, "crop", random_state=rng), retime(*val_data, "crop", random_state=rng)
    fitted = clone(encoder).fit(train.videos)
    assert report["kendalls_tau"]["val"] == kendalls_tau(fitted.transform(val.videos))
    with pytest.raises(ValueError, match="needs an encoder"):
        evaluate(None, data, val_data, fit_encoder=True)
    with pytest.raises(ValueError, match="protocol"):
        evaluate(None, data, val_data, protocol="shuffle")


def test_score_table_lookup():
    table = ScoreTable([{"s": 1, "v": 0.5}, {"s": 1.0, "v": 0.25}], ["s", "v"])
    assert table[1]["v"] == 0.5 and table[1.0]["v"] == 0.25
    with pytest.raises(KeyError):
        table[2]


def test_public_names_reexported():
    assert sklav.PhaseClassifier is PhaseClassifier
    assert sklav.ProgressRegressor is ProgressRegressor
    assert sklav.KendallTauScorer is KendallTauScorer
    assert sklav.FrameRetrievalAP is FrameRetrievalAP


def test_score_takes_per_frame_sample_weight():
    from sklav import PhaseClassifier, ProgressRegressor

    X = [np.array([[0.0], [1.0], [5.0], [6.0]])] * 2
    y = [np.array([0, 0, 1, 1])] * 2
    clf = PhaseClassifier().fit(X, y)
    wrong = [np.array([1, 0, 1, 1]), np.array([0, 0, 1, 1])]
    assert clf.score(X, wrong) == pytest.approx(7 / 8)
    weights = [np.array([3.0, 1, 1, 1]), np.ones(4)]
    assert clf.score(X, wrong, sample_weight=weights) == pytest.approx(7 / 10)
    reg = ProgressRegressor().fit(X, y)
    assert reg.score(X, y, sample_weight=[np.ones(4)] * 2) == pytest.approx(reg.score(X, y))
