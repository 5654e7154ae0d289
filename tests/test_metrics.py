"""Tests of sklav.metrics against hand-computed examples and slow references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from scipy.stats import kendalltau
from sklearn.exceptions import UndefinedMetricWarning

from sklav.metrics import (
    frame_retrieval_ap,
    kendalls_tau,
    nearest_frames,
    pairwise_kendalls_tau,
    pairwise_phase_agreement,
    phase_accuracy,
    phase_agreement,
    phase_progress_targets,
)
from sklav.metrics.temporal import tau_b_against_time

# --------------------------------------------------------------------------
# Slow, independent reference implementations (loops, scipy).


def naive_pairwise_tau(embeddings, stride=1, metric="sqeuclidean"):
    """TCC's loop: cdist per pair, argmin, scipy.stats.kendalltau."""
    n = len(embeddings)
    taus = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            query, candidates = embeddings[i][::stride], embeddings[j][::stride]
            nearest = np.argmin(cdist(query, candidates, metric=metric), axis=1)
            if len(nearest) >= 2 and len(np.unique(nearest)) > 1:
                taus[i, j] = kendalltau(np.arange(len(nearest)), nearest).statistic
    return taus


def naive_retrieval_ap(embeddings, labels, k):
    """One query frame at a time, full sort of the support frames."""
    precisions = []
    for i, (query_video, query_labels) in enumerate(zip(embeddings, labels)):
        support = np.concatenate([e for j, e in enumerate(embeddings) if j != i])
        support_labels = np.concatenate([lab for j, lab in enumerate(labels) if j != i])
        for frame, label in zip(query_video, query_labels):
            distances = ((support - frame) ** 2).sum(axis=1)
            nearest = np.argsort(distances, kind="stable")[:k]
            precisions.append(np.mean(support_labels[nearest] == label))
    return float(np.mean(precisions))


def naive_progress_targets(labels, n_phases):
    """TCC's regression_labels_for_class, for complete, ordered integer phases."""
    out = []
    for video_labels in labels:
        columns = []
        for phase in range(n_phases - 1):
            transition = np.argwhere(video_labels == phase)[-1, 0]
            columns.append(
                (np.arange(len(video_labels), dtype=float) - transition) / len(video_labels)
            )
        out.append(np.stack(columns, axis=1))
    return out


def random_videos(rng, n_videos, low=5, high=15, dim=4):
    return [rng.standard_normal((rng.integers(low, high), dim)) for _ in range(n_videos)]


def time_videos(lengths):
    return [np.arange(n, dtype=float)[:, None] for n in lengths]


# --------------------------------------------------------------------------
# Kendall's tau-b kernel


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 4), min_size=2, max_size=12), min_size=1, max_size=5).filter(
        lambda rows: len({len(r) for r in rows}) == 1
    )
)
def test_tau_b_kernel_equals_scipy_with_ties(rows):
    taus = tau_b_against_time(np.array(rows))
    for row, tau in zip(rows, taus):
        expected = kendalltau(np.arange(len(row)), row).statistic
        np.testing.assert_allclose(tau, expected, equal_nan=True)


def test_tau_b_kernel_hand_values():
    # [0, 2, 1]: pairs (0,1)+ (0,2)+ (1,2)- -> S = 1, n0 = 3, no ties -> 1/3.
    # [0, 0, 1]: S = 2, one tie -> 2 / sqrt(3 * 2).
    np.testing.assert_allclose(
        tau_b_against_time([[0, 2, 1], [0, 0, 1], [1, 1, 1]]),
        [1 / 3, 2 / np.sqrt(6), np.nan],
    )
    assert np.isnan(tau_b_against_time(np.zeros((2, 1)))).all()


@pytest.mark.parametrize(
    "row", [[100000, 100005, 99990, 100005, -5], [0, 70000, 3, 40000], [0.5, 0.1, 0.7, 0.1]]
)
def test_tau_b_kernel_large_and_float_values(row):
    expected = kendalltau(np.arange(len(row)), row).statistic
    assert tau_b_against_time([row])[0] == pytest.approx(expected)


# --------------------------------------------------------------------------
# kendalls_tau


def test_kendalls_tau_hand_example():
    # A = 0, 1, 2 and B = 0, 2, 1: neighbours of A in B are frames 0, 2, 1, and
    # of B in A also 0, 2, 1, so both taus are 1/3 (see the kernel test).
    a = np.array([[0.0], [1.0], [2.0]])
    b = np.array([[0.0], [2.0], [1.0]])
    assert kendalls_tau([a, b]) == pytest.approx(1 / 3)
    np.testing.assert_allclose(pairwise_kendalls_tau([a, b]), [[np.nan, 1 / 3], [1 / 3, np.nan]])


def test_kendalls_tau_time_reversed_noise():
    videos = time_videos([25, 25, 25, 25])
    assert kendalls_tau(videos) == 1.0
    assert kendalls_tau([videos[0], videos[1][::-1]]) == -1.0
    assert kendalls_tau(time_videos([20, 30, 25, 40])) > 0.95  # ties from unequal lengths
    # Multi-dimensional embeddings monotone in time (same length, other curves).
    curves = [
        np.column_stack([np.linspace(0, 1, 30) + s, np.linspace(0, 1, 30) ** 2]) for s in (0, 0.01)
    ]
    assert kendalls_tau(curves) == 1.0
    rng = np.random.default_rng(0)
    assert abs(kendalls_tau(random_videos(rng, 12, 40, 60, dim=8))) < 0.05


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cosine", "cityblock"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_kendalls_tau_matches_naive_loop(metric, stride):
    rng = np.random.default_rng(stride)
    videos = random_videos(rng, 6, 4, 20)
    taus = pairwise_kendalls_tau(videos, stride=stride, metric=metric)
    np.testing.assert_allclose(taus, naive_pairwise_tau(videos, stride, metric), equal_nan=True)
    defined = taus[~np.isnan(taus)]
    assert kendalls_tau(videos, stride=stride, metric=metric) == pytest.approx(defined.mean())


def test_kendalls_tau_asymmetric_callable_metric():
    def skewed(u, v):
        return np.abs(u - v).sum() + 0.5 * (u - v).sum()

    rng = np.random.default_rng(1)
    videos = random_videos(rng, 4, 5, 10, dim=2)
    np.testing.assert_allclose(
        pairwise_kendalls_tau(videos, metric=skewed),
        naive_pairwise_tau(videos, metric=skewed),
        equal_nan=True,
    )


def test_kendalls_tau_ties_in_neighbour_indices():
    # Short candidate videos: many query frames share a neighbour (ties).
    rng = np.random.default_rng(2)
    videos = [np.sort(rng.random((n, 1)), axis=0) for n in (25, 3, 4, 30, 2)]
    expected = naive_pairwise_tau(videos)
    np.testing.assert_allclose(pairwise_kendalls_tau(videos), expected, equal_nan=True)
    assert np.nanmin(expected[~np.eye(5, dtype=bool)]) < 1  # ties did occur


def test_kendalls_tau_integer_duplicates_first_index_on_ties():
    # Exact distance ties pick the first frame, as np.argmin in TCC.
    videos = [np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([[0.0], [0.0], [2.0], [2.0]])]
    np.testing.assert_allclose(
        pairwise_kendalls_tau(videos), naive_pairwise_tau(videos), equal_nan=True
    )


def test_kendalls_tau_undefined_pairs_dropped_and_counted():
    # A one-frame video: undefined as query (1 frame) and as candidate (one neighbour).
    videos = time_videos([10, 10, 1])
    with pytest.warns(UndefinedMetricWarning, match="undefined for 4 of 6 video pairs"):
        tau = kendalls_tau(videos)
    assert tau == 1.0
    with pytest.warns(UndefinedMetricWarning, match="2 of 2"):
        assert np.isnan(kendalls_tau(time_videos([1, 1])))


@pytest.mark.parametrize(
    "embeddings, kwargs, error, match",
    [
        ([np.zeros((5, 2))], {}, ValueError, "at least 2"),
        ([np.zeros((5, 2)), np.zeros((0, 2))], {}, ValueError, r"embeddings\[1\] has 0 frame"),
        ([np.zeros((5, 2)), np.full((5, 2), np.nan)], {}, ValueError, "NaN"),
        ([np.zeros((5, 2, 2))] * 2, {}, ValueError, "per-frame axes"),
        ([np.zeros((5, 2))] * 2, {"stride": 0}, ValueError, "stride"),
        ([np.zeros((5, 2))] * 2, {"metric": "nope"}, ValueError, "metric"),
        ([np.zeros((5, 2))] * 2, {"metric": "seuclidean"}, ValueError, "whiten"),
        ([np.zeros((5, 2))] * 2, {"metric": 3}, TypeError, "metric"),
        (np.zeros((5, 2)), {}, ValueError, "single 2-D array"),
    ],
)
def test_kendalls_tau_bad_input(embeddings, kwargs, error, match):
    with pytest.raises(error, match=match):
        kendalls_tau(embeddings, **kwargs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_blocked_and_single_threaded_paths_agree(monkeypatch):
    # Tiny block budgets force the chunked code paths; one CPU the serial one.
    import sklav.metrics._neighbors as neighbors
    import sklav.metrics.temporal as temporal

    rng = np.random.default_rng(5)
    videos = random_videos(rng, 6, 3, 25)
    labels = [rng.integers(0, 3, len(v)) for v in videos]
    expected_tau = naive_pairwise_tau(videos)
    expected_ap = naive_retrieval_ap(videos, labels, 4)
    monkeypatch.setattr(neighbors, "_MAX_BLOCK", 40)
    monkeypatch.setattr(temporal, "_MAX_PAIR_BLOCK", 50)
    for cpus in (1, 2):
        monkeypatch.setattr(neighbors, "cpu_count", lambda cpus=cpus: cpus)
        np.testing.assert_allclose(pairwise_kendalls_tau(videos), expected_tau, equal_nan=True)
        assert frame_retrieval_ap(videos, labels, k=4) == pytest.approx(expected_ap)


# --------------------------------------------------------------------------
# frame_retrieval_ap


def test_frame_retrieval_ap_hand_example():
    X = [np.array([[0.0], [1.0], [5.0]]), np.array([[0.1], [5.1], [5.2]])]
    y = [np.array([0, 0, 1]), np.array([0, 1, 1])]
    # k=1: every frame's nearest frame in the other video shares its label.
    assert frame_retrieval_ap(X, y, k=1) == 1.0
    # k=2 hits: video 0: 1/2, 1/2, 2/2; video 1: 2/2, 1/2, 1/2 -> 4/6.
    assert frame_retrieval_ap(X, y, k=2) == pytest.approx(4 / 6)
    # k=3 (the whole support): video 0: 1/3, 1/3, 2/3; video 1: 2/3, 1/3, 1/3.
    assert frame_retrieval_ap(X, y, k=3) == pytest.approx(8 / 18)


@pytest.mark.parametrize("k", [1, 5, 10, 15])
def test_frame_retrieval_ap_matches_brute_force(k):
    rng = np.random.default_rng(k)
    videos = random_videos(rng, 7, 8, 20, dim=5)
    labels = [rng.integers(0, 3, len(v)) for v in videos]
    assert frame_retrieval_ap(videos, labels, k=k) == pytest.approx(
        naive_retrieval_ap(videos, labels, k)
    )


def test_frame_retrieval_ap_several_k_and_string_labels():
    rng = np.random.default_rng(3)
    videos = random_videos(rng, 5, 10, 20)
    labels = [np.array(["reach", "grasp", "lift"])[rng.integers(0, 3, len(v))] for v in videos]
    many = frame_retrieval_ap(videos, labels, k=[5, 10, 15])
    assert many.shape == (3,)
    for k, value in zip([5, 10, 15], many):
        assert value == pytest.approx(frame_retrieval_ap(videos, labels, k=k))
        assert value == pytest.approx(naive_retrieval_ap(videos, labels, k))


def test_frame_retrieval_ap_perfect_and_chance():
    t = time_videos([30, 40, 35])
    labels = [np.digitize(v[:, 0] / len(v), [0.25]) for v in t]  # phases of 1/4 and 3/4
    perfect = [np.eye(2)[lab] * 10 for lab in labels]  # embedding = one-hot phase
    assert frame_retrieval_ap(perfect, labels, k=5) == 1.0
    # Chance: with embeddings independent of the labels, a query frame's K
    # neighbours are a random draw from the support, so its expected precision
    # is the share p of its label among the other videos' frames (here about
    # 0.25^2 + 0.75^2 = 0.625, not 1 / n_phases). Tolerance: 5 standard errors
    # of a mean of N independent precisions of variance p (1 - p) / K.
    k = 5
    shares = np.concatenate([
        [np.mean(np.concatenate(labels[:i] + labels[i + 1:]) == label) for label in lab]
        for i, lab in enumerate(labels)
    ])
    standard_error = np.sqrt(np.mean(shares * (1 - shares)) / k / len(shares))
    rng = np.random.default_rng(0)
    random_embeddings = [rng.normal(size=(len(v), 8)) for v in t]
    chance = frame_retrieval_ap(random_embeddings, labels, k=k)
    assert abs(chance - shares.mean()) <= 5 * standard_error, (chance, shares.mean(), standard_error)
    assert chance < 1 - 10 * standard_error  # far from perfect


@pytest.mark.parametrize(
    "embeddings, labels, k, match",
    [
        ([np.zeros((3, 1))], [np.zeros(3)], 1, "at least 2"),
        (
            [np.zeros((3, 1)), np.ones((2, 1))],
            [np.zeros(3), np.zeros(2)],
            3,
            "larger than the support set",
        ),
        (
            [np.zeros((3, 1)), np.ones((2, 1))],
            [np.zeros(3), np.zeros(3)],
            1,
            r"labels\[1\] has 3 labels",
        ),
        ([np.zeros((3, 1)), np.ones((2, 1))], [np.zeros(3)], 1, "1 label arrays"),
        ([np.zeros((3, 1)), np.ones((2, 1))], [np.zeros(3), np.zeros(2)], 0, "positive integer"),
        ([np.zeros((3, 1)), np.ones((0, 1))], [np.zeros(3), np.zeros(0)], 1, "0 frame"),
    ],
)
def test_frame_retrieval_ap_bad_input(embeddings, labels, k, match):
    with pytest.raises(ValueError, match=match):
        frame_retrieval_ap(embeddings, labels, k=k)


def test_frame_retrieval_ap_k_equal_to_support_is_allowed():
    X = [np.zeros((3, 1)), np.ones((3, 1))]
    y = [np.array([0, 0, 1]), np.array([0, 1, 1])]
    # Each frame retrieves the whole other video: hits = count of its label there.
    expected = np.mean([1 / 3, 1 / 3, 2 / 3, 2 / 3, 1 / 3, 1 / 3])
    assert frame_retrieval_ap(X, y, k=3) == pytest.approx(expected)


@pytest.mark.parametrize("video, frame, k", [(0, 0, 1), (2, 5, 4), (6, 7, 30)])
def test_nearest_frames_matches_brute_force(video, frame, k):
    rng = np.random.default_rng(video + frame)
    videos = random_videos(rng, 7, 8, 20, dim=5)
    query = videos[video][frame][None]
    expected = sorted(
        (float(cdist(query, v[t][None], "sqeuclidean")[0, 0]), i, t)
        for i, v in enumerate(videos)
        if i != video
        for t in range(len(v))
    )[:k]
    neighbours = nearest_frames(videos, video=video, frame=frame, k=k)
    assert [(v, t) for v, t, _ in neighbours] == [(i, t) for _, i, t in expected]
    np.testing.assert_allclose([d for _, _, d in neighbours], [d for d, _, _ in expected])


def test_nearest_frames_ties_in_video_then_frame_order_and_agrees_with_ap():
    X = [np.zeros((2, 1)), np.ones((3, 1)), np.zeros((2, 1)), np.zeros((1, 1))]
    assert nearest_frames(X, video=0, frame=1, k=4) == [
        (2, 0, 0.0), (2, 1, 0.0), (3, 0, 0.0), (1, 0, 1.0)
    ]
    # frame_retrieval_ap with k=1 counts exactly the label of each query's first neighbour.
    y = [np.array([0, 1]), np.array([0, 1, 1]), np.array([1, 0]), np.array([0])]
    hits = [
        y[v][t] == y[i][f]
        for i, video in enumerate(X)
        for f in range(len(video))
        for v, t, _ in nearest_frames(X, video=i, frame=f, k=1)
    ]
    assert frame_retrieval_ap(X, y, k=1) == pytest.approx(np.mean(hits))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(video=4, frame=0), ValueError, r"video=4 is out of range for 3 videos"),
        (dict(video=0, frame=3), ValueError, r"frame=3 is out of range for video 0 of 3 frames"),
        (dict(video=1.0, frame=0), TypeError, "video must be an integer"),
        (dict(video=0, frame=True), TypeError, "frame must be an integer"),
        (dict(video=0, frame=0, k=0), ValueError, r"k=0 must lie in \[1, 5\]"),
        (dict(video=0, frame=0, k=6), ValueError, r"k=6 must lie in \[1, 5\]"),
    ],
)
def test_nearest_frames_bad_input(kwargs, error, match):
    X = [np.zeros((3, 2)), np.ones((2, 2)), np.ones((3, 2))]
    with pytest.raises(error, match=match):
        nearest_frames(X, **kwargs)
    with pytest.raises(ValueError, match="at least 2"):
        nearest_frames(X[:1], video=0, frame=0)


# --------------------------------------------------------------------------
# phase_accuracy and phase_progress_targets


def test_phase_accuracy():
    assert phase_accuracy([[0, 0, 1], [0, 1]], [[0, 1, 1], [0, 1]]) == pytest.approx(4 / 5)
    assert phase_accuracy([np.array(["a", "b"])], [np.array(["a", "b"])]) == 1.0
    with pytest.raises(ValueError, match=r"y_pred\[1\] has 1 labels but y_true\[1\] has 2"):
        phase_accuracy([[0, 0, 1], [0, 1]], [[0, 1, 1], [0]])
    with pytest.raises(ValueError, match="single 1-D array"):
        phase_accuracy(np.array([0, 1]), np.array([0, 1]))


@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        ([np.array(["0", "1"])], [np.array([0, 1])]),
        ([np.array([0, 1])], [np.array(["0", "1"])]),
        ([np.array([0.0, 1.0])], [np.array(["0.0", "1.0"], dtype=object)]),
        ([["a", "b"]], [np.array([0, 1], dtype=object)]),
    ],
)
def test_phase_accuracy_rejects_labels_of_different_types(y_true, y_pred):
    with pytest.raises(ValueError, match="y_true holds .* labels .* and y_pred .* labels"):
        phase_accuracy(y_true, y_pred)


def test_phase_accuracy_accepts_labels_of_one_type_in_any_dtype():
    assert phase_accuracy([np.array([0, 1])], [np.array([0.0, 1.0])]) == 1.0
    assert phase_accuracy([np.array(["a", "b"])], [np.array(["a", "c"], dtype=object)]) == 0.5
    assert phase_accuracy([np.array([0, 1], dtype=np.int8)], [np.array([0, 1], dtype=object)]) == 1.0
    with pytest.raises(ValueError, match="mixes label types"):
        phase_accuracy([np.array(["a", 1], dtype=object)], [np.array(["a", "b"])])


def test_phase_progress_targets_hand_example():
    # Phase 0 ends at frame 1, phase 1 at frame 3; T = 5.
    targets = phase_progress_targets([[0, 0, 1, 1, 2]])[0]
    np.testing.assert_allclose(targets[:, 0], (np.arange(5) - 1) / 5)
    np.testing.assert_allclose(targets[:, 1], (np.arange(5) - 3) / 5)


def test_phase_progress_targets_match_tcc_loop():
    rng = np.random.default_rng(4)
    labels = [np.repeat(np.arange(4), rng.integers(1, 10, 4)) for _ in range(6)]
    for ours, theirs in zip(phase_progress_targets(labels), naive_progress_targets(labels, 4)):
        np.testing.assert_allclose(ours, theirs)


def test_phase_progress_targets_strings_skipped_phase_and_errors():
    labels = [np.array(["pour", "tilt", "tilt", "back"])]
    targets = phase_progress_targets(labels, phases=["pour", "tilt", "back"])[0]
    np.testing.assert_allclose(targets, np.column_stack([np.arange(4) - 0, np.arange(4) - 2]) / 4)
    # Phase 1 skipped: its event sits at the end of phase 0 (frame 1).
    skipped = phase_progress_targets([[0, 0, 2, 2]], phases=[0, 1, 2])[0]
    np.testing.assert_allclose(skipped, np.column_stack([np.arange(4) - 1, np.arange(4) - 1]) / 4)
    with pytest.raises(ValueError, match="outside the phases"):
        phase_progress_targets([[0, 1, 7]], phases=[0, 1])
    with pytest.raises(ValueError, match="at least 2 phases"):
        phase_progress_targets([[0, 0, 0]])
    with pytest.raises(ValueError, match=r"labels\[0\] is empty"):
        phase_progress_targets([[]])


# --------------------------------------------------------------------------
# Phase agreement


def _agreement_reference(embeddings, phases, match):
    """Phase agreement from its definition: float64, plain loops, one pair at a time."""
    from _reference import dtw_reference

    n, pair_values = len(embeddings), []
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            x, y = np.asarray(embeddings[i], float), np.asarray(embeddings[j], float)
            cost = np.array([[float(((a - b) ** 2).sum()) for b in y] for a in x])
            per_frame = []
            for t in range(len(x)):
                if match == "nearest":
                    best = 0
                    for s in range(1, len(y)):
                        if cost[t, s] < cost[t, best]:  # strict: the lowest index on ties
                            best = s
                    per_frame.append(float(phases[j][best] == phases[i][t]))
                else:
                    path = dtw_reference(cost)[1]
                    cells = [s for s in range(len(y)) if path[t, s]]
                    per_frame.append(sum(phases[j][s] == phases[i][t] for s in cells) / len(cells))
            pair_values.append(sum(per_frame) / len(per_frame))
    return sum(pair_values) / len(pair_values)


def _labelled_walks(seed, n=4):
    rng = np.random.default_rng(seed)
    videos = [np.cumsum(rng.normal(size=(int(T), 3)), 0) for T in rng.integers(5, 12, n)]
    phases = [np.minimum(np.arange(len(v)) * 3 // len(v), 2) for v in videos]
    return videos, phases


@pytest.mark.parametrize("match", ["nearest", "dtw"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_phase_agreement_matches_reference(match, seed):
    videos, phases = _labelled_walks(seed)
    assert phase_agreement(videos, phases, match=match) == pytest.approx(
        _agreement_reference(videos, phases, match), abs=1e-9)


def test_phase_agreement_nearest_ties_go_to_the_lowest_index():
    # frames 0 and 1 of the second video coincide; frame 0 has phase 1, frame 1 phase 0
    videos = [np.array([[0.0], [5.0]]), np.array([[0.0], [0.0], [5.0]])]
    phases = [np.array([0, 1]), np.array([1, 0, 1])]
    assert phase_agreement(videos, phases) == pytest.approx(_agreement_reference(videos, phases, "nearest"))
    # video 0 -> 1: frame 0 matched to frame 0 (phase 1, wrong), frame 1 to frame 2 (right)
    np.testing.assert_allclose(pairwise_phase_agreement(videos, phases)[0, 1], 0.5)


def test_phase_agreement_dtw_counts_each_frame_once():
    # frame 1 of video 0 lies on two path cells, one right and one wrong: it counts 1/2
    videos = [np.array([[0.0], [1.0]]), np.array([[0.0], [1.0], [1.0]])]
    phases = [np.array([0, 1]), np.array([0, 1, 0])]
    pairs = pairwise_phase_agreement(videos, phases, match="dtw")
    assert pairs[0, 1] == pytest.approx((1 + 0.5) / 2) and pairs[1, 0] == pytest.approx(2 / 3)
    assert np.isnan(pairs[0, 0]) and np.isnan(pairs[1, 1])


def test_phase_agreement_of_a_clock_falls_when_phases_move():
    clock = [np.arange(T)[:, None] / T for T in (10, 20)]
    same = [np.arange(T) * 2 // T for T in (10, 20)]
    assert phase_agreement(clock, same) == 1.0 and phase_agreement(clock, same, match="dtw") == 1.0
    moved = [same[0], (np.arange(20) >= 4).astype(int)]  # the second video's phase 1 starts early
    assert phase_agreement(clock, moved) < 0.9


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(match="cosine"), ValueError, "match"),
        (dict(phases=[np.zeros(3)]), ValueError, "label arrays"),
        (dict(embeddings=[np.zeros((3, 1))], phases=[np.zeros(3)]), ValueError, "at least 2"),
    ],
)
def test_phase_agreement_bad_input(kwargs, error, match):
    arguments = dict(embeddings=[np.zeros((3, 1)), np.ones((4, 1))], phases=[np.zeros(3), np.ones(4)])
    with pytest.raises(error, match=match):
        phase_agreement(**{**arguments, **kwargs})
