"""sklav.alignment.soft_dtw_barycenter, against tslearn's softdtw_barycenter."""

import numpy as np
import pytest
import torch

from sklav.alignment import soft_dtw, soft_dtw_barycenter
from sklav.utils.param_validation import InvalidParameterError


def _ragged(seed=0, lengths=(5, 7, 9, 6), d=3):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(T, d)) for T in lengths]


def _objective(Z, videos, weights, gamma):
    """``sum_i w_i sdtw(Z, X_i)``, one soft_dtw call per video."""
    Z = torch.from_numpy(Z)[None]
    return sum(
        w * soft_dtw(Z, torch.from_numpy(video)[None], gamma).item() for w, video in zip(weights, videos)
    )


# The same objective (tslearn's weights normalised as ours are), the same start
# and the same L-BFGS-B: the two take the same steps, apart from float64
# rounding in the soft-DTW recursion and gradient (~1e-15 relative), which the
# iterations amplify; the largest difference measured over these cases is
# 3e-11, the tolerance leaves a factor 300.
@pytest.mark.parametrize("tol", [1e-3, 1e-9])
@pytest.mark.parametrize("gamma", [1.0, 0.1])
@pytest.mark.parametrize("seed", range(3))
def test_matches_tslearn_on_ragged_videos(seed, gamma, tol):
    barycenters = pytest.importorskip("tslearn.barycenters")
    videos = _ragged(seed)
    rng = np.random.default_rng(100 + seed)
    init = rng.normal(size=(6, 3))
    weights = rng.uniform(0.5, 2.0, size=len(videos))
    ours = soft_dtw_barycenter(videos, gamma, weights=weights, init=init, tol=tol, max_iter=100)
    theirs = barycenters.softdtw_barycenter(
        videos, gamma=gamma, weights=weights / weights.sum(), init=init.copy(), tol=tol, max_iter=100
    )
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-8)
    normalised = weights / weights.sum()
    assert _objective(ours, videos, normalised, gamma) == pytest.approx(
        _objective(theirs, videos, normalised, gamma), rel=1e-9
    )


def test_default_init_matches_tslearn_on_equal_lengths():
    barycenters = pytest.importorskip("tslearn.barycenters")
    videos = _ragged(lengths=(8, 8, 8))
    theirs = barycenters.softdtw_barycenter(np.stack(videos), weights=np.full(3, 1 / 3))
    np.testing.assert_allclose(soft_dtw_barycenter(videos), theirs, rtol=0, atol=1e-8)
    np.testing.assert_allclose(soft_dtw_barycenter(videos, max_iter=0), np.mean(videos, axis=0))


def test_default_init_is_the_mean_of_videos_resampled_to_the_median_length():
    ramp = np.arange(4.0)[:, None]
    videos = [np.linspace(0, 3, T)[:, None] for T in (2, 4, 7, 10)]
    np.testing.assert_allclose(soft_dtw_barycenter(videos, max_iter=0), ramp)  # lower median: 4


@pytest.mark.parametrize("gamma", [1.0, 0.1])
def test_lowers_the_objective_from_its_start(gamma):
    videos = _ragged(1)
    weights = np.full(len(videos), 1 / len(videos))
    start = soft_dtw_barycenter(videos, gamma, max_iter=0)
    barycenter = soft_dtw_barycenter(videos, gamma)
    assert _objective(barycenter, videos, weights, gamma) < _objective(start, videos, weights, gamma)


def test_identical_videos_give_that_video_back():
    t = np.linspace(0, 1, 12)
    video = np.c_[np.sin(3 * t), np.cos(3 * t)]
    # exact only as gamma -> 0: soft alignment blends neighbouring frames
    barycenter = soft_dtw_barycenter([video] * 3, gamma=0.01, init=video + 0.05, max_iter=200, tol=1e-9)
    np.testing.assert_allclose(barycenter, video, atol=1e-3)


def test_a_weight_concentrated_on_one_video_moves_the_barycenter_to_it():
    videos = _ragged(2, lengths=(8, 8, 8))
    start = np.mean(videos, axis=0)
    for k in range(3):
        weights = np.full(3, 1e-6)
        weights[k] = 1.0
        barycenter = soft_dtw_barycenter(videos, 0.01, weights=weights, init=start, max_iter=200, tol=1e-9)
        distances = [np.abs(barycenter - video).max() for video in videos]
        assert np.argmin(distances) == k and distances[k] < 1e-3


def test_a_zero_weight_video_is_ignored():
    videos = _ragged(3)
    init = np.zeros((6, 3))
    with_zero = soft_dtw_barycenter(videos + [100 + videos[0]], weights=[1, 1, 1, 1, 0], init=init)
    np.testing.assert_allclose(with_zero, soft_dtw_barycenter(videos, init=init), atol=1e-10)


def test_takes_tensors_and_float32():
    videos = _ragged(4)
    expected = soft_dtw_barycenter(videos)
    result = soft_dtw_barycenter([torch.from_numpy(v) for v in videos])
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, expected)
    single = soft_dtw_barycenter([v.astype(np.float32) for v in videos])
    np.testing.assert_allclose(single, expected, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(videos=[np.zeros((3, 2)), np.zeros((0, 2))]), ValueError, r"videos\[1\] has 0 frame"),
        (dict(videos=[np.zeros((3, 2)), np.zeros((4, 3))]), ValueError, r"videos\[1\] has per-frame shape"),
        (dict(videos=[np.zeros((3, 2)), np.full((4, 2), np.nan)]), ValueError, r"videos\[1\] contains NaN"),
        (dict(videos=[np.zeros(3)]), ValueError, r"videos\[0\] has shape \(3,\)"),
        (dict(videos=[]), ValueError, "at least 1"),
        (dict(videos=np.zeros((3, 2))), ValueError, "single 2-D array"),
        (dict(weights=[1.0, -1.0]), ValueError, "non-negative"),
        (dict(weights=[1.0, np.nan]), ValueError, "finite"),
        (dict(weights=[0.0, 0.0]), ValueError, "all zero"),
        (dict(weights=[1.0]), ValueError, r"one weight per video, \(2,\)"),
        (dict(init=np.zeros((4, 3))), ValueError, r"init has shape \(4, 3\)"),
        (dict(init=np.zeros(4)), ValueError, r"init has shape \(4,\)"),
        (dict(init=np.zeros((0, 2))), ValueError, "T >= 1"),
        (dict(init=np.full((3, 2), np.inf)), ValueError, "init contains NaN or inf"),
        (dict(gamma=0.0), InvalidParameterError, "'gamma' parameter of soft_dtw_barycenter"),
        (dict(max_iter=-1), InvalidParameterError, "'max_iter' parameter"),
        (dict(max_iter=2.5), InvalidParameterError, "'max_iter' parameter"),
        (dict(tol=0), InvalidParameterError, "'tol' parameter"),
    ],
)
def test_bad_inputs_raise(kwargs, error, match):
    kwargs = {"videos": [np.zeros((3, 2)), np.ones((4, 2))], **kwargs}
    with pytest.raises(error, match=match):
        soft_dtw_barycenter(**kwargs)
