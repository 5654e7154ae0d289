"""sklav.alignment.align, Aligner and dtw_path."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import KFold, cross_validate
from sklearn.utils.validation import check_is_fitted

from sklav import LAVEncoder
from sklav.alignment import Aligner, Alignment, align, dtw_path, soft_dtw_barycenter
from sklav.datasets import load_penn_action
from sklav.metrics import kendalls_tau
from sklav.utils.param_validation import InvalidParameterError


def _brute_force_dtw(cost):
    """Least total cost over all monotone continuous paths, by enumeration."""
    n, m = cost.shape
    best = np.inf

    def walk(i, j, total):
        nonlocal best
        total += cost[i, j]
        if (i, j) == (n - 1, m - 1):
            best = min(best, total)
            return
        for di, dj in ((1, 1), (1, 0), (0, 1)):
            if i + di < n and j + dj < m:
                walk(i + di, j + dj, total)

    walk(0, 0, 0.0)
    return best


def _warp(T, power=1.5):
    """A monotone time warp of a T-frame video onto T frames: index t -> round(...)."""
    t = np.arange(T)
    return np.round((T - 1) * (t / (T - 1)) ** power).astype(int)


@pytest.fixture(scope="module")
def golf():
    return load_penn_action(actions="golf_swing", split="val")


def _flat(video):
    return video.reshape(len(video), -1)


# --------------------------------------------------------------------------
# dtw_path


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1), (3, 5), (5, 4)])
def test_dtw_path_is_optimal_and_valid(shape):
    rng = np.random.default_rng(sum(shape))
    cost = rng.random(shape)
    path, total = dtw_path(cost)
    n, m = shape
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (n - 1, m - 1)
    steps = np.diff(path, axis=0)
    assert all(tuple(s) in {(1, 1), (1, 0), (0, 1)} for s in steps)
    assert total == pytest.approx(cost[path[:, 0], path[:, 1]].sum())
    assert total == pytest.approx(_brute_force_dtw(cost))


def test_dtw_path_rejects_bad_costs():
    with pytest.raises(ValueError, match="2-D"):
        dtw_path(np.zeros(3))
    with pytest.raises(ValueError, match="NaN or inf"):
        dtw_path(np.array([[0.0, np.nan]]))


# --------------------------------------------------------------------------
# align on real Penn Action swings


def test_align_recovers_a_time_warp_of_raw_joints(golf):
    for video in golf.videos[:5]:
        warp = _warp(len(video))
        result = align(None, _flat(video), _flat(video[warp]))
        assert np.abs(result.index_map - warp).mean() <= 2
        assert np.abs(result.soft_index - warp).mean() <= 2


def test_align_recovers_a_shortening_warp(golf):
    video = _flat(golf.videos[0])
    T = len(video)
    m = int(0.7 * T)
    warp = np.round((T - 1) * (np.arange(m) / (m - 1)) ** 1.5).astype(int)
    result = align(None, video, video[warp])
    assert result.shape == (T, m)
    np.testing.assert_array_equal(result.index_map, warp)
    assert result.cost.max() < 1e-5  # exact matches, up to rounding


@pytest.mark.slow
def test_align_recovers_a_time_warp_through_a_trained_encoder(golf):
    train = load_penn_action(actions="golf_swing", split="train")
    params = dict(num_frames=16, lr=1e-3, random_state=0)
    encoder = LAVEncoder(max_epochs=3, **params).fit(train.videos[:16])
    untrained = LAVEncoder(max_epochs=0, **params).fit(train.videos[:16])  # same initial weights
    for model in (encoder, untrained):
        errors = []
        for video in golf.videos[:4]:
            warp = _warp(len(video))
            result = align(model, video, video[warp])
            errors.append(np.abs(result.index_map - warp).mean())
        assert max(errors) <= 2, errors
    # A copy's frames are the original's, so even random weights map them to
    # matching embeddings and recover the warp (above): that tests the
    # plumbing. What training adds is alignment *across* videos: the nearest
    # frames of other swings come in temporal order (Kendall's tau, on videos
    # not trained on; measured 0.52 against 0.27 for the untrained encoder).
    held_out = golf.videos[:10]
    trained_tau = kendalls_tau(encoder.transform(held_out))
    untrained_tau = kendalls_tau(untrained.transform(held_out))
    assert trained_tau > untrained_tau + 0.1, (trained_tau, untrained_tau)


def test_alignment_fields_are_consistent(golf):
    a, b = _flat(golf.videos[0]), _flat(golf.videos[1])
    result = align(None, a, b, gamma=0.5)
    n, m = len(a), len(b)
    assert isinstance(result, Alignment)
    assert result.soft.shape == result.distances.shape == (n, m)
    assert result.path[0] == (0, 0) and result.path[-1] == (n - 1, m - 1)
    path = np.array(result.path)
    for j in range(m):
        rows = path[path[:, 1] == j, 0]
        assert result.index_map[j] in rows
        assert result.cost[j] == pytest.approx(result.distances[rows, j].min())
    assert result.total_cost == pytest.approx(result.distances[path[:, 0], path[:, 1]].sum())
    np.testing.assert_allclose(result.soft.sum(0) >= 1 - 1e-9, True)
    assert result.deviation.shape == result.normal_cost.shape == (m,)
    np.testing.assert_array_equal(result.normal_cost, result.cost)  # no calibration
    assert result.threshold == 3.0
    assert "Alignment(n_frames_a=" in repr(result)


def test_align_takes_an_encoder_or_a_pipeline(golf):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    flatten = FunctionTransformer(lambda videos: [_flat(v) for v in videos])
    a, b = golf.videos[0], golf.videos[1]
    direct = align(None, _flat(a), _flat(b))
    piped = align(Pipeline([("flat", flatten)]), a, b)
    np.testing.assert_array_equal(direct.index_map, piped.index_map)


# --------------------------------------------------------------------------
# deviation


def _corrupted(video, start, length):
    """Frames start..start+length-1 replaced by the video's last frames."""
    out = video.copy()
    out[start : start + length] = video[-length:]
    return out


def test_aligner_flags_frames_out_of_order():
    t = np.linspace(0, 1, 40)
    normal = [np.c_[np.sin(3 * t**p), np.cos(3 * t**p), t**p] for p in (1.0, 1.1, 0.9, 1.2, 0.8)]
    new = _corrupted(normal[2], 10, 5)
    aligner = Aligner(contamination=0.01).fit(normal[:2] + normal[3:])
    result = aligner.align(new)
    assert set(range(10, 15)) <= set(result.flagged().tolist())
    assert len(aligner.align(normal[2]).flagged()) <= 2
    assert aligner.normal_costs_.shape == (sum(len(v) for v in normal) - len(normal[2]),)
    assert aligner.threshold_ > 0
    np.testing.assert_array_equal(aligner.predict([new])[0], result.index_map)
    np.testing.assert_array_equal(aligner.deviation([new])[0], result.deviation)


@pytest.mark.parametrize("reference", [0, "barycenter"])
def test_aligner_on_real_joints_scores_inserted_frames_highest(golf, reference):
    normal = [_flat(v) for v in golf.videos[:12]]
    aligner = Aligner(reference=reference).fit(normal)
    video = _flat(golf.videos[20])
    start = len(video) // 3
    result = aligner.align(_corrupted(video, start, 8))
    inside = result.deviation[start : start + 8]
    outside = np.r_[result.deviation[:start], result.deviation[start + 8 :]]
    assert np.median(inside) > np.median(outside)


# --------------------------------------------------------------------------
# a barycenter as the reference


def _motions(powers, lengths):
    """One 3-D motion, time-warped by ``t ** p``, sampled at the given lengths."""
    return [np.c_[np.sin(3 * t**p), np.cos(3 * t**p), t**p] for p, t in
            ((p, np.linspace(0, 1, n)) for p, n in zip(powers, lengths))]


def test_barycenter_reference_scores_a_warped_copy_below_a_corrupted_one():
    normal = _motions((1.0, 1.1, 0.9, 1.2, 0.8), (36, 44, 40, 38, 42))
    aligner = Aligner(reference="barycenter").fit(normal)
    assert aligner.reference_embedding_.shape == (40, 3)  # the median length
    warped = _motions((1.05,), (41,))[0]
    corrupted = _corrupted(warped, 10, 5)
    good, bad = aligner.align(warped), aligner.align(corrupted)
    assert len(good.flagged()) == 0
    assert set(range(10, 15)) <= set(bad.flagged().tolist())
    assert good.deviation.mean() < bad.deviation.mean()
    np.testing.assert_array_equal(bad.normal_cost, bad.cost)  # scored against the barycenter alone


def test_barycenter_reference_is_the_scale_free_soft_dtw_barycenter():
    normal = _motions((1.0, 1.3, 0.7), (30, 30, 30))
    aligner = Aligner(gamma=0.05, reference="barycenter").fit(normal)
    frames = np.concatenate(normal)
    spread = np.sqrt(np.mean(np.sum((frames - frames.mean(0)) ** 2, axis=1)))
    expected = spread * soft_dtw_barycenter([v / spread for v in normal], gamma=0.05)
    np.testing.assert_allclose(aligner.reference_embedding_, expected)


def test_barycenter_calibration_leaves_each_video_out(golf):
    normal = [_flat(v) for v in golf.videos[:6]]
    aligner = Aligner(reference="barycenter").fit(normal)
    in_sample = np.concatenate([aligner.align(v).cost for v in normal])
    assert aligner.normal_costs_.shape == in_sample.shape
    # the barycenter is pulled towards every video it averages: in-sample costs
    # would understate a new video's (measured: 5.1 against 3.1)
    assert aligner.normal_costs_.mean() > 1.3 * in_sample.mean()


def test_barycenter_of_a_single_video_scores_against_its_own_costs():
    video = _motions((1.0,), (40,))[0]
    aligner = Aligner(reference="barycenter").fit([video])
    assert aligner.normal_costs_ is None and aligner.threshold_ == 3.0
    assert len(aligner.align(video).flagged()) == 0
    odd = video.copy()
    odd[20:23] += 1.0
    # the barycenter of one video is a smoothed copy: neighbours may stand out too
    assert {20, 21, 22} <= set(aligner.align(odd).flagged().tolist())


def test_align_with_calibration_matches_aligner(golf):
    videos = [_flat(v) for v in golf.videos[:5]]
    via_function = align(None, videos[0], videos[1], calibration=videos[2:])
    via_aligner = Aligner().fit([videos[0]] + videos[2:]).align(videos[1])
    np.testing.assert_allclose(via_function.deviation, via_aligner.deviation)
    assert via_function.threshold == via_aligner.threshold


def test_single_reference_deviation_is_a_robust_z_score_of_its_own_costs():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 3))
    b = a + rng.normal(scale=0.05, size=a.shape)
    b[12] += 5.0
    result = align(None, a, b)
    cost = result.cost
    median = np.median(cost)
    mad = np.median(np.abs(cost - median))
    np.testing.assert_allclose(result.deviation, (cost - median) / (1.4826 * mad))
    assert result.deviation.argmax() == 12 and 12 in result.flagged()


# --------------------------------------------------------------------------
# errors


def test_align_errors():
    x = np.zeros((5, 3))
    with pytest.raises(TypeError, match="encoder"):
        align(object(), x, x)
    with pytest.raises(ValueError, match=r"must be \(T, D\)"):
        align(None, np.zeros((5, 3, 2)), np.zeros((5, 3, 2)))
    with pytest.raises(ValueError, match="per-frame shape"):
        align(None, x, np.zeros((5, 4)))
    with pytest.raises(ValueError, match="gamma"):
        align(None, x, x, gamma=0)
    with pytest.raises(ValueError, match="contamination"):
        align(None, x, x, calibration=[x], contamination=0.7)
    with pytest.raises(ValueError, match="reference=3"):
        Aligner(reference=3).fit([x, x])
    with pytest.raises(AttributeError, match="not fitted"):
        Aligner().align(x)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(gamma=0), "'gamma' parameter of Aligner"),
        (dict(gamma=float("nan")), "'gamma' parameter of Aligner"),
        (dict(reference=-1), "'reference' parameter of Aligner"),
        (dict(reference=True), "'reference' parameter of Aligner"),
        (dict(reference="medoid"), "'reference' parameter of Aligner"),
        (dict(contamination=0.5), "'contamination' parameter of Aligner"),
        (dict(encoder=object()), "'encoder' parameter of Aligner"),
    ],
)
def test_aligner_validates_its_parameters(params, match):
    x = np.zeros((5, 3))
    with pytest.raises(InvalidParameterError, match=match):
        Aligner(**params).fit([x, x])


# --------------------------------------------------------------------------
# the encoder: fitted inside fit, or frozen


FAST = dict(num_frames=4, max_epochs=1, hidden_dim=8, embedding_dim=4, batch_size=2, random_state=0)


def _walks(n=4, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(size=(10 + 2 * i, dim)), 0).astype(np.float32) for i in range(n)]


def _mean_deviation(aligner, X, y=None):
    return -float(np.mean(np.concatenate(aligner.deviation(X))))


def test_aligner_fits_a_clone_of_an_unfitted_encoder():
    videos = _walks()
    aligner = Aligner(LAVEncoder(**FAST)).fit(videos)
    check_is_fitted(aligner.encoder_)
    assert aligner.encoder_ is not aligner.encoder
    with pytest.raises(NotFittedError):
        aligner.encoder.transform(videos)
    np.testing.assert_allclose(aligner.reference_embedding_, aligner.encoder_.transform(videos[:1])[0], rtol=1e-6)


def test_aligner_keeps_a_frozen_encoder_through_cross_validation():
    videos = _walks(6)
    encoder = LAVEncoder(**FAST).fit(videos)
    before = {k: v.clone() for k, v in encoder.module_.state_dict().items()}
    result = cross_validate(Aligner(FrozenEstimator(encoder)), videos, cv=KFold(3),
                            scoring=_mean_deviation, return_estimator=True)
    for fitted, (train, test) in zip(result["estimator"], KFold(3).split(videos)):
        assert fitted.encoder_.estimator is encoder  # never refitted, never copied
        expected = Aligner().fit(encoder.transform([videos[i] for i in train]))
        tested = [videos[i] for i in test]
        for got, want in zip(fitted.deviation(tested), expected.deviation(encoder.transform(tested))):
            np.testing.assert_allclose(got, want, rtol=1e-6)
    for name, value in encoder.module_.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_aligner_with_a_fitted_encoder_refits_it_in_cross_validation():
    # clone drops the fitting: each fold fits its own encoder on its training videos
    videos = _walks(6)
    encoder = LAVEncoder(**FAST).fit(videos)
    result = cross_validate(Aligner(encoder), videos, cv=KFold(3), scoring=_mean_deviation,
                            return_estimator=True)
    assert np.isfinite(result["test_score"]).all()
    assert all(fitted.encoder_ is not encoder for fitted in result["estimator"])
    assert Aligner(encoder).fit(videos).encoder_ is encoder  # not cloned: used as given


# --------------------------------------------------------------------------
# no deviation from rounding noise


@pytest.mark.parametrize("offset", [0.0, 1e3])
@pytest.mark.parametrize("seed", range(3))
def test_identical_videos_flag_nothing(seed, offset):
    b = np.random.default_rng(seed).normal(size=(50, 8)) + offset
    result = align(None, b, b)
    assert len(result.flagged()) == 0
    assert np.abs(result.deviation).max() < 1e-6


def test_aligner_on_identical_normals_has_a_floor_and_flags_only_real_deviations():
    t = np.linspace(0, 1, 50)
    video = np.c_[np.sin(3 * t), np.cos(3 * t), t]
    aligner = Aligner().fit([video, video.copy()])
    variance = np.mean(np.sum((video - video.mean(0)) ** 2, axis=1))
    assert aligner.cost_scale_ == pytest.approx(1e-3 * variance)
    assert aligner.threshold_ >= 3.0
    rng = np.random.default_rng(0)
    noisy = video + rng.normal(scale=1e-3, size=video.shape)
    assert len(aligner.align(video).flagged()) == 0
    assert len(aligner.align(noisy).flagged()) == 0
    assert aligner.align(noisy).deviation.max() < 1.0
    odd = noisy.copy()
    odd[20:23] += 0.5
    np.testing.assert_array_equal(aligner.align(odd).flagged(), [20, 21, 22])


@pytest.mark.parametrize("reference", [0, "barycenter"])
def test_deviation_does_not_depend_on_the_embedding_scale(reference):
    t = np.linspace(0, 1, 40)
    normal = [np.c_[np.sin(3 * t**p), np.cos(3 * t**p), t**p] for p in (1.0, 1.1, 0.9)]
    new = normal[1][::-1].copy()
    for videos in ([normal[0], normal[0]], normal):
        base = Aligner(reference=reference).fit(videos).align(new)
        scaled = Aligner(reference=reference).fit([1e4 * v for v in videos]).align(1e4 * new)
        np.testing.assert_allclose(scaled.deviation, base.deviation, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n, m", list(itertools.product([1, 2, 7], [1, 3])))
def test_align_handles_tiny_videos(n, m):
    rng = np.random.default_rng(n * 10 + m)
    result = align(None, rng.normal(size=(n, 2)), rng.normal(size=(m, 2)))
    assert result.index_map.shape == (m,)
    assert np.isfinite(result.deviation).all()
