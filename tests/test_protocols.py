"""The ruler: the clock baseline and the re-timed protocols it must not pass.

Each piece is checked against a reference written here from its definition
(float64, plain Python loops): ClockEncoder, the crop and warp re-timings
(replaying the documented draws), and the progression targets of re-timed
frames. On the real Penn Action data, the clock keeps its Kendall's tau under
a crop but loses phase agreement.
"""

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils import check_random_state

import sklav
from sklav import LAVEncoder, PhaseClassifier
from sklav.encoders import ClockEncoder
from sklav.evaluation.protocols import (
    PROTOCOLS,
    RetimedVideos,
    crop_indices,
    retime,
    warp_indices,
)
from sklav.metrics import kendalls_tau, phase_agreement, phase_progress_targets

LENGTHS = [1, 2, 3, 7, 25, 40, 101]


def _videos(lengths=LENGTHS, seed=0):
    rng = np.random.default_rng(seed)
    videos = [rng.normal(size=(T, 13, 3)) for T in lengths]
    labels = [np.array([min(3 * t // T, 2) for t in range(T)]) for T in lengths]
    return videos, labels


# --------------------------------------------------------------------------
# ClockEncoder


def _clock_reference(T, unit):
    return [[float(t) / T if unit == "fraction" else float(t)] for t in range(T)]


@pytest.mark.parametrize("unit", ["fraction", "frame"])
def test_clock_matches_its_definition(unit):
    videos, _ = _videos()
    embeddings = ClockEncoder(unit=unit).fit(videos).transform(videos)
    for video, embedding in zip(videos, embeddings):
        assert embedding.dtype == np.float32 and embedding.shape == (len(video), 1)
        np.testing.assert_allclose(embedding.astype(np.float64), _clock_reference(len(video), unit),
                                   rtol=1e-7, atol=1e-9)  # float32: t/T rounded once
        expected = np.array(_clock_reference(len(video), unit), dtype=np.float32)
        np.testing.assert_array_equal(embedding, expected)


def test_clock_is_a_transformer_on_lists_of_videos(tmp_path):
    videos, labels = _videos([8, 12, 10])
    clock = ClockEncoder()
    assert clone(clock).get_params() == {"unit": "fraction"}
    with pytest.raises(NotFittedError):
        clock.transform(videos)
    with pytest.raises(TypeError):
        ClockEncoder("frame")  # keyword-only
    with pytest.raises(ValueError, match="unit"):
        ClockEncoder(unit="seconds").fit(videos)
    clock.fit(videos)
    assert clock.frame_shape_ == (13, 3) and not hasattr(clock, "n_features_in_")
    with pytest.raises(ValueError, match="shape"):
        clock.transform([np.zeros((4, 13, 2))])
    # paths are opened, not decoded
    path = tmp_path / "video.npy"
    np.save(path, videos[1])
    np.testing.assert_array_equal(clock.transform([str(path)])[0], clock.transform([videos[1]])[0])
    tags = clock.__sklearn_tags__()
    assert not tags.input_tags.two_d_array and not tags.target_tags.required
    assert sklav.ClockEncoder is ClockEncoder


def test_clock_in_a_pipeline_in_place_of_lav():
    videos, labels = _videos([8, 12, 10, 9])
    for encoder in (ClockEncoder(), LAVEncoder(max_epochs=0, random_state=0)):
        model = Pipeline([("enc", encoder), ("svm", PhaseClassifier(SVC()))]).fit(videos, labels)
        assert 0.0 <= model.score(videos, labels) <= 1.0
    assert model.set_params(enc=ClockEncoder()).fit(videos, labels).score(videos, labels) == 1.0


# --------------------------------------------------------------------------
# Re-timing: references replaying the documented draws, plain loops


def _crop_reference(T, rng):
    shortest = max(1, -(-3 * T // 5))  # ceil(0.6 T), in integers
    length = rng.randint(shortest, T + 1)
    start = rng.randint(0, T - length + 1)
    return [start + k for k in range(length)]


def _warp_reference(T, rng):
    K = min(rng.randint(2, 5), T)
    inner = sorted(int(b) for b in rng.choice(np.arange(1, T), K - 1, replace=False))
    speeds = [math.exp(u) for u in rng.uniform(math.log(0.5), math.log(2.0), size=K)]
    bounds = [0] + inner + [T]
    kept = []
    for k in range(K):
        span = bounds[k + 1] - bounds[k]
        n_new = max(1, math.floor(span / speeds[k] + 0.5))
        for m in range(n_new):
            kept.append(bounds[k] + math.floor(m * span / n_new + 1e-12))
    return kept, bounds, speeds


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_crop_and_warp_match_their_references(seed):
    videos, labels = _videos()
    for protocol, reference in (("crop", _crop_reference), ("warp", lambda T, r: _warp_reference(T, r)[0])):
        retimed = retime(videos, labels, protocol, random_state=seed)
        rng = check_random_state(seed)
        for i, (video, lab) in enumerate(zip(videos, labels)):
            kept = reference(len(video), rng)
            assert retimed.frame_indices[i].tolist() == kept, (protocol, i)
            np.testing.assert_array_equal(retimed.videos[i], np.array([video[t] for t in kept]))
            assert retimed.labels[i].tolist() == [lab[t] for t in kept]
            assert retimed.original_labels[i] is lab or np.array_equal(retimed.original_labels[i], lab)


def test_crop_keeps_a_contiguous_window_of_60_to_100_percent():
    lengths = set()
    for seed in range(200):
        for T in (1, 5, 10, 37):
            kept = crop_indices(T, seed)
            assert 0 <= kept[0] and kept[-1] <= T - 1
            assert (np.diff(kept) == 1).all()  # contiguous
            assert 5 * len(kept) >= 3 * T and len(kept) <= T
            if T == 37:
                lengths.add(len(kept))
    assert min(lengths) == 23 and max(lengths) == 37  # ceil(0.6 * 37) and all of it, both reached


def test_warp_speeds_stay_within_half_and_double():
    for seed in range(200):
        for T in (1, 2, 5, 40, 150):
            kept, bounds, speeds = warp_indices(T, seed, return_segments=True)
            assert ((0.5 <= speeds) & (speeds <= 2.0)).all()
            assert 1 <= len(speeds) <= 4 and (T < 2 or len(speeds) >= 2)
            assert bounds[0] == 0 and bounds[-1] == T and (np.diff(bounds) >= 1).all()
            assert kept[0] == 0 and kept[-1] <= T - 1 and (np.diff(kept) >= 0).all()
            for start, stop in zip(bounds[:-1], bounds[1:]):
                in_segment = ((kept >= start) & (kept < stop)).sum()
                assert 0.5 <= (stop - start) / in_segment <= 2.0  # the speed played


@pytest.mark.parametrize("protocol", ["crop", "warp"])
def test_retiming_is_seeded(protocol):
    videos, labels = _videos()
    first = retime(videos, labels, protocol, random_state=3)
    again = retime(videos, labels, protocol, random_state=3)
    other = retime(videos, labels, protocol, random_state=4)
    assert all(np.array_equal(a, b) for a, b in zip(first.frame_indices, again.frame_indices))
    assert any(not np.array_equal(a, b) for a, b in zip(first.frame_indices, other.frame_indices))


def test_protocol_none_is_the_identity():
    videos, labels = _videos()
    same = retime(videos, labels, "none", random_state=0)
    assert PROTOCOLS == ("none", "crop", "warp")
    for video, lab, out, kept in zip(videos, labels, same.videos, same.frame_indices):
        assert out is video and kept.tolist() == list(range(len(video)))
    with pytest.raises(ValueError, match="protocol"):
        retime(videos, labels, "reverse")
    with pytest.raises(ValueError, match="labels"):
        retime(videos, labels[:-1], "crop")


# --------------------------------------------------------------------------
# Progression targets follow the original video


def _progress_reference(original_labels, t, n_phases=3):
    """(t - t_e) / T in the original video, t_e the last frame of phase e (loops)."""
    T = len(original_labels)
    targets = []
    for event in range(n_phases - 1):
        last = -1
        for s in range(T):
            if original_labels[s] <= event:  # phases never decrease: the last frame of phase <= e
                last = s
        targets.append((t - last) / T)
    return targets


@pytest.mark.parametrize("protocol", ["none", "crop", "warp"])
def test_progress_targets_are_the_original_ones_at_the_kept_frames(protocol):
    videos, labels = _videos()
    retimed = retime(videos, labels, protocol, random_state=11)
    targets = retimed.progress_targets(phases=[0, 1, 2])
    for i, kept in enumerate(retimed.frame_indices):
        expected = [_progress_reference(labels[i].tolist(), int(t)) for t in kept]
        np.testing.assert_allclose(targets[i], np.array(expected, dtype=np.float64).reshape(len(kept), 2),
                                   rtol=0, atol=1e-9)
    if protocol != "none":  # recomputed from the re-timed labels they would differ
        recomputed = phase_progress_targets(retimed.labels, phases=[0, 1, 2])
        assert any(not np.allclose(a, b) for a, b in zip(targets, recomputed))


def test_retimed_videos_can_carry_embeddings():
    videos, labels = _videos([10, 12])
    retimed = retime(videos, labels, "crop", random_state=0)
    embedded = retimed._replace(videos=ClockEncoder().fit_transform(retimed.videos))
    assert isinstance(embedded, RetimedVideos) and embedded.frame_indices is retimed.frame_indices


# --------------------------------------------------------------------------
# Real data: the clock keeps tau under a crop, not phase agreement


def test_clock_on_real_penn_action_keeps_tau_but_loses_phase_agreement(penn_root):
    from sklav.datasets import load_penn_action

    val = load_penn_action(root=penn_root, actions="golf_swing", split="val")
    clock = ClockEncoder().fit(val.videos)
    scores = {}
    for protocol in ("none", "crop"):
        retimed = retime(val.videos, val.phases, protocol, random_state=0)
        embeddings = clock.transform(retimed.videos)
        scores[protocol] = kendalls_tau(embeddings), phase_agreement(embeddings, retimed.labels)
    (tau_none, agreement_none), (tau_crop, agreement_crop) = scores["none"], scores["crop"]
    assert tau_none > 0.98 and tau_crop > 0.98
    assert agreement_crop < agreement_none - 0.05, scores
