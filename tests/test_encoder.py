"""LAVEncoder: sklearn conventions, ragged inputs, learning on real poses, errors."""

import copy
import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from skorch.callbacks import Callback, ProgressBar

from sklav import KendallTauScorer, LAVEncoder, PhaseClassifier
from sklav.datasets import load_penn_action
from sklav.encoders.data import collate_video_pairs, context_indices, sample_frames, VideoPairDataset
from sklav.metrics import kendalls_tau
from sklav.utils.estimator_checks import video_transformer_checks

FAST = dict(num_frames=6, max_epochs=2, batch_size=2, hidden_dim=16, embedding_dim=8, context_stride=3)


def _videos(n=5, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(size=(12 + 3 * i, dim)), 0).astype(np.float32) for i in range(n)]


@pytest.fixture(scope="module")
def golf():
    data = load_penn_action(actions=["golf_swing"], split="all")
    return data


@pytest.mark.parametrize(
    "estimator, check",
    list(video_transformer_checks(LAVEncoder(random_state=0, **FAST), _videos())),
    ids=lambda x: getattr(x, "func", x).__name__ if callable(x) else "",
)
def test_estimator_checks(estimator, check):
    check()


def test_transform_shapes_and_unit_norm():
    videos = _videos()
    encoder = LAVEncoder(random_state=0, **FAST).fit(videos)
    out = encoder.transform(videos)
    assert [e.shape for e in out] == [(len(v), 8) for v in videos]
    assert all(e.dtype == np.float32 for e in out)
    np.testing.assert_allclose([np.linalg.norm(e, axis=1) for e in out][0], 1.0, rtol=1e-5)
    assert encoder.frame_shape_ == (4,) and encoder.n_features_in_ == 4
    assert encoder.frame_kind_ == "features" and encoder.device_ == "cpu"
    assert len(encoder.history_) == 2


def test_fit_transform_and_torch_tensors_as_input():
    videos = _videos()
    encoder = LAVEncoder(random_state=0, **FAST)
    out = encoder.fit_transform([torch.from_numpy(v) for v in videos])
    np.testing.assert_allclose(out[1], encoder.transform(videos[1:2])[0], rtol=1e-6)


def test_poses_with_visibility_channel_are_detected_and_normalised(golf):
    videos = golf.videos[:6]
    encoder = LAVEncoder(random_state=0, **FAST).fit(videos)
    assert encoder.frame_kind_ == "poses" and encoder.visibility_channel_ == -1
    # centring and scaling per frame: a shifted, scaled copy embeds the same
    moved = [v.copy() for v in videos[:2]]
    for v in moved:
        v[..., :2] = v[..., :2] * 3.0 + 5.0
        v[..., :2] *= v[..., 2:]  # invisible joints stay at zero
    np.testing.assert_allclose(encoder.transform(moved)[0], encoder.transform(videos[:1])[0], atol=1e-4)
    assert LAVEncoder(visibility_channel=None, **FAST).fit(videos).visibility_channel_ is None


def test_training_loss_falls_and_beats_untrained_encoder_on_held_back_videos(golf):
    train = [v for v, s in zip(golf.videos, golf.splits) if s == "train"][:40]
    held_back = [v for v, s in zip(golf.videos, golf.splits) if s == "val"][:20]
    params = dict(num_frames=16, batch_size=4, random_state=0)
    encoder = LAVEncoder(max_epochs=12, **params).fit(train)
    losses = encoder.history_[:, "train_loss"]
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:2])
    untrained = LAVEncoder(max_epochs=1, lr=1e-12, **params).fit(train)
    tau_trained = kendalls_tau(encoder.transform(held_back))
    tau_untrained = kendalls_tau(untrained.transform(held_back))
    assert tau_trained > tau_untrained + 0.1, (tau_trained, tau_untrained)


def test_pair_groups_restrict_pairs_to_the_same_group():
    videos = _videos(6)
    groups = np.array([0, 0, 1, 1, 1, 2])
    dataset = VideoPairDataset(videos, np.array([0, 0, 1, 1, 1, 1]), 4, 2, 3, np.random.default_rng(0))
    assert [sorted(p) for p in dataset.partners] == [[1], [0], [3, 4, 5], [2, 4, 5], [2, 3, 5], [2, 3, 4]]
    with pytest.raises(ValueError, match="group 2 has a single video"):
        LAVEncoder(**FAST).fit(videos, pair_groups=groups)
    with pytest.raises(ValueError, match="one entry per video"):
        LAVEncoder(**FAST).fit(videos, pair_groups=[0, 1])
    with pytest.raises(ValueError, match="pair_groups contains NaN"):
        LAVEncoder(**FAST).fit(videos, pair_groups=[0, 0, 1, 1, np.nan, np.nan])
    with pytest.raises(ValueError, match="cannot be compared"):
        LAVEncoder(**FAST).fit(videos, pair_groups=np.array(["a", "a", None, None, "b", "b"], dtype=object))


@pytest.fixture
def drawn_pairs(monkeypatch):
    """Every (group, partner's group) pair drawn by any VideoPairDataset while the test runs."""
    pairs = []
    partner = VideoPairDataset.partner

    def spy(self, i):
        j = partner(self, i)
        assert j != i
        pairs.append((self.groups[i], self.groups[j]))
        return j

    monkeypatch.setattr(VideoPairDataset, "partner", spy)
    return pairs


def test_pairs_stay_within_pair_groups_during_a_real_fit(drawn_pairs):
    videos = _videos(6)
    LAVEncoder(random_state=0, **FAST).fit(videos, pair_groups=["a", "b", "a", "b", "b", "a"])
    assert len(drawn_pairs) == 2 * 6  # every video once per epoch
    assert all(g == h for g, h in drawn_pairs)
    assert {g for g, _ in drawn_pairs} == {"a", "b"}


def test_pair_groups_and_cv_groups_are_routed_together(golf, drawn_pairs):
    import sklearn

    videos = golf.videos[:8]
    cv_groups = np.repeat([0, 1, 2, 3], 2)  # e.g. subjects: GroupKFold keeps them apart
    pair_groups = np.array(["x", "y"] * 4)  # e.g. actions: pairs are drawn within them
    with sklearn.config_context(enable_metadata_routing=True):
        encoder = LAVEncoder(random_state=0, **FAST).set_fit_request(pair_groups=True)
        search = GridSearchCV(
            Pipeline([("lav", encoder)]), {"lav__alpha": [0.1, 0.5]}, scoring=KendallTauScorer(),
            cv=GroupKFold(n_splits=2), refit=False,
        )
        search.fit(videos, groups=cv_groups, pair_groups=pair_groups)
    assert set(search.cv_results_["param_lav__alpha"]) == {0.1, 0.5}
    # 2 candidates x 2 folds x 2 epochs x 4 training videos, each paired within its pair group
    assert len(drawn_pairs) == 32
    assert all(g == h for g, h in drawn_pairs) and {g for g, _ in drawn_pairs} == {"x", "y"}


def test_pipeline_beats_an_untrained_encoder_at_phase_classification(golf):
    train = [i for i, s in enumerate(golf.splits) if s == "train"][:16]
    val = [i for i, s in enumerate(golf.splits) if s == "val"][:10]
    X, y = [golf.videos[i] for i in train], [golf.phases[i] for i in train]
    X_val, y_val = [golf.videos[i] for i in val], [golf.phases[i] for i in val]
    params = dict(num_frames=12, batch_size=4, hidden_dim=32, embedding_dim=16, context_stride=3, lr=1e-3,
                  random_state=1)

    def score(max_epochs):
        pipe = Pipeline([("lav", LAVEncoder(max_epochs=max_epochs, **params)),
                         ("svm", PhaseClassifier(SVC(C=10)))])
        return pipe.fit(X, y, lav__pair_groups=np.zeros(len(X))).score(X_val, y_val)

    untrained, trained = score(0), score(12)
    majority = np.mean(np.concatenate(y_val) == 0)
    assert untrained <= majority + 0.02  # an untrained encoder tells the phases apart no better
    assert trained > untrained + 0.08, (trained, untrained)


def test_sampling_one_frame_per_chunk_and_context():
    rng = np.random.default_rng(0)
    for length in (20, 21, 57):
        idx = sample_frames(length, 7, rng)
        chunks = np.floor(idx * 7 / length).astype(int)
        np.testing.assert_array_equal(chunks, np.arange(7))
    np.testing.assert_array_equal(sample_frames(4, 6, rng), np.arange(4))
    np.testing.assert_array_equal(context_indices([0, 4, 9], 3, 4), [[0, 0, 0], [0, 0, 4], [1, 5, 9]])


def test_short_videos_contribute_all_their_frames():
    videos = [np.random.default_rng(i).normal(size=(length, 3)).astype(np.float32) for i, length in enumerate([3, 10, 2])]
    dataset = VideoPairDataset(videos, np.zeros(3), 6, 2, 2, np.random.default_rng(0))
    X, target = collate_video_pairs([dataset[0], dataset[2]])
    # rows interleave (video 0, its partner, video 2, its partner)
    assert target["lengths"][0] == 3 and target["lengths"][2] == 2
    assert X["frame_mask"].sum(1)[0] <= 3 and X["frame_mask"].shape[0] == 4
    encoder = LAVEncoder(random_state=0, **FAST).fit(videos)
    assert [e.shape[0] for e in encoder.transform(videos)] == [3, 10, 2]


def test_warm_start_continues_training():
    videos = _videos()
    encoder = LAVEncoder(random_state=0, warm_start=True, **FAST).fit(videos)
    before = encoder.transform(videos)
    encoder.fit(videos)
    assert len(encoder.history_) == 4
    assert not np.allclose(before[0], encoder.transform(videos)[0])
    cold = LAVEncoder(random_state=0, **FAST).fit(videos)
    cold.fit(videos)
    assert len(cold.history_) == 2


def test_joblib_round_trip(tmp_path):
    videos = _videos()
    encoder = LAVEncoder(random_state=0, **FAST).fit(videos)
    joblib.dump(encoder, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.transform(videos)[2], encoder.transform(videos)[2])


@pytest.mark.parametrize(
    "regularizer, alignment, tcc_weight",
    [("idm", "softdtw", 0.0), ("sfa", None, 0.0), (None, "softdtw", 0.0), (None, None, 1.0), ("cidm", "softdtw", 0.5)],
)
def test_ablation_variants_train(regularizer, alignment, tcc_weight):
    videos = _videos()
    params = dict(random_state=0, regularizer=regularizer, alignment=alignment, tcc_weight=tcc_weight,
                  **{**FAST, "lr": 1e-3})
    encoder = LAVEncoder(**{**params, "max_epochs": 6}).fit(videos)
    losses = encoder.history_[:, "train_loss"]
    assert np.mean(losses[-2:]) < np.mean(losses[:2]), losses
    untrained = LAVEncoder(**{**params, "max_epochs": 0}).fit(videos)  # the same initial network
    moved = max(np.abs(a - b).max() for a, b in zip(encoder.transform(videos), untrained.transform(videos)))
    assert moved > 0.05


class _CountingTrunk(torch.nn.Module):
    """A tiny conv trunk that counts the frames it sees."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=4)
        self.frames_seen = 0

    def forward(self, images):
        self.frames_seen += len(images)
        return self.conv(images)


def test_image_encoder_runs_trunk_once_per_distinct_frame():
    rng = np.random.default_rng(0)
    videos = [rng.integers(0, 255, size=(10 + i, 16, 16, 3), dtype=np.uint8) for i in range(3)]
    encoder = LAVEncoder(backbone=_CountingTrunk(), freeze_backbone=False, image_size=16, random_state=0,
                         num_frames=4, num_context=2, context_stride=1, max_epochs=1, batch_size=1,
                         hidden_dim=8, embedding_dim=4)
    encoder.fit(videos)
    trunk = encoder.module_.trunk
    trunk.frames_seen = 0
    encoder.transform(videos[:1])
    assert trunk.frames_seen == 10  # every frame once, though each is in 2 windows
    assert encoder.frame_kind_ == "images"


def test_resnet_trunk_with_frozen_cached_features():
    rng = np.random.default_rng(0)
    videos = [rng.integers(0, 255, size=(6 + i, 40, 48, 3), dtype=np.uint8) for i in range(2)]
    encoder = LAVEncoder(weights=None, freeze_backbone=True, image_size=32, random_state=0, num_frames=3,
                         context_stride=2, max_epochs=1, batch_size=1, hidden_dim=8, embedding_dim=4)
    out = encoder.fit(videos).transform(videos)
    assert encoder.module_.freeze_trunk and [e.shape for e in out] == [(6, 4), (7, 4)]
    assert all(not p.requires_grad for p in encoder.module_.trunk.parameters())


@pytest.mark.parametrize(
    "X, kwargs, error, match",
    [
        ([], {}, ValueError, "at least 2"),
        ([np.zeros((5, 3))], {}, ValueError, "pairs of videos"),
        ([np.zeros((5, 3)), np.zeros((0, 3))], {}, ValueError, r"X\[1\] has 0 frame"),
        ([np.zeros((5, 3)), np.full((4, 3), np.nan)], {}, ValueError, r"X\[1\] contains NaN"),
        ([np.zeros((5, 3)), np.zeros((4, 2))], {}, ValueError, r"X\[1\] has per-frame shape"),
        ([np.zeros((5, 3)), np.array([["a"] * 3] * 4)], {}, TypeError, r"X\[1\] has dtype"),
        ([np.zeros((5, 8, 8, 3)), np.zeros((4, 8, 8, 3))], {}, TypeError, "must be uint8"),
        ([np.zeros((5, 8, 8, 4), np.uint8)] * 2, {}, ValueError, r"\(H, W, 3\)"),
        ([np.zeros((5, 3))] * 2, {"device": "cuda:7"}, ValueError, "no CUDA device"),
        ([np.zeros((5, 3))] * 2, {"backbone": "resnet50"}, ValueError, "takes images"),
        ([np.zeros((5, 3))] * 2, {"gamma": "0.1"}, ValueError, "'gamma' parameter of LAVEncoder must be a float"),
        ([np.zeros((5, 3))] * 2, {"gamma": True}, ValueError, "'gamma' parameter"),
        ([np.zeros((5, 3))] * 2, {"lr": np.inf}, ValueError, "'lr' parameter"),
        ([np.zeros((5, 3))] * 2, {"tcc_weight": np.nan}, ValueError, "'tcc_weight' parameter"),
        ([np.zeros((5, 3))] * 2, {"device": "tpu"}, ValueError, "'device' parameter"),
        ([np.zeros((5, 3))] * 2, {"visibility_channel": "x"}, ValueError, "'visibility_channel' parameter"),
        ([np.zeros((5, 3))] * 2, {"callbacks": "x"}, ValueError, "'callbacks' parameter"),
        ([np.zeros((5, 3))] * 2, {"embedding_dim": 1}, ValueError, "'embedding_dim' parameter"),
        ([np.zeros((5, 3))] * 2, {"weights": True}, ValueError, "'weights' parameter"),
        ([np.zeros((5, 8, 8, 3), np.uint8)] * 2, {"weights": "NOPE"}, ValueError, "names no ResNet-50 weights"),
        ([np.zeros((5, 3))] * 2, {"criterion_params": {"gamma": 1.0}}, ValueError, "LAVEncoder parameters"),
        ([np.zeros((5, 3))] * 2, {"criterion_params": {"tcc_temperature": 0}}, ValueError, "'tcc_temperature' parameter of LAVLoss"),
        ([np.zeros((5, 3))] * 2, {"alignment": None, "regularizer": None}, ValueError, "Nothing to train"),
        ([np.zeros((5, 3))] * 2, {"regularizer": "tcc"}, ValueError, "regularizer"),
        ([np.zeros((5, 3))] * 2, {"num_frames": 0}, ValueError, "num_frames"),
        (np.zeros((5, 3)), {}, ValueError, "single 2-D array"),
        # one video as an array is refused, not read as T videos of frames
        (np.zeros((5, 4, 3)), {}, ValueError, r"single 3-D array of shape \(5, 4, 3\); pass a list"),
        (np.zeros((5, 8, 8, 3), np.uint8), {}, ValueError, r"single 4-D array .* e.g. \[X\]"),
        (torch.zeros(5, 4, 3), {}, ValueError, "single 3-D array"),
        ([np.zeros((5, 0))] * 2, {}, ValueError, r"shape \(5, 0\): its frames hold no values"),
        ([np.zeros((5, 0, 3))] * 2, {}, ValueError, r"shape \(5, 0, 3\): its frames hold no values"),
        ([np.zeros((5, 4, 3))] * 2, {"visibility_channel": 3}, ValueError, r"out of range .* C=3"),
        ([np.zeros((5, 4, 3))] * 2, {"visibility_channel": -4}, ValueError, "out of range"),
        ([np.zeros((5, 4, 1))] * 2, {"visibility_channel": 0}, ValueError, "out of range"),
        ([np.zeros((5, 3))] * 2, {"visibility_channel": 0}, ValueError, "applies to poses"),
        ([np.zeros((5, 3))] * 2, {"optimizer": "adam"}, ValueError, "'optimizer' parameter"),
        ([np.zeros((5, 3))] * 2, {"optimizer": dict}, TypeError, "torch.optim.Optimizer class"),
        ([np.zeros((5, 3))] * 2, {"optimizer_params": {"lr": 1.0}}, ValueError, "set lr and weight_decay"),
        ([np.zeros((5, 3))] * 2, {"optimizer_params": {"betas": (2.0, 0.9)}}, ValueError, "Adam rejects"),
        ([np.zeros((5, 3))] * 2, {"optimizer_params": {"nope": 1}}, ValueError, "Adam rejects"),
        ([np.zeros((5, 3))] * 2, {"optimizer": torch.optim.LBFGS}, ValueError, "has no weight_decay"),
        ([np.zeros((5, 3))] * 2, {"callbacks": ["x"]}, TypeError, r"callbacks\[0\] is not a skorch callback"),
        ([np.zeros((5, 3))] * 2, {"callbacks": [("a", "b", "c")]}, ValueError, r"\(name, callback\) pair"),
        ([np.zeros((5, 3))] * 2, {"callbacks": [("print_log", ProgressBar())]}, ValueError, "names must be"),
        ([np.zeros((5, 3))] * 2, {"checkpoint": __file__}, ValueError, "cannot be used as a folder"),
        ("videos", {}, TypeError, "list, tuple"),
    ],
)
def test_bad_input_gets_a_clear_error(X, kwargs, error, match):
    if str(kwargs.get("device", "")).startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that GPU")
    with pytest.raises(error, match=match):
        LAVEncoder(**{**FAST, **kwargs}).fit(X)


def test_transform_refuses_a_single_video_as_an_array():
    videos = _videos()
    encoder = LAVEncoder(random_state=0, **FAST).fit(videos)
    with pytest.raises(ValueError, match="single 2-D array"):
        encoder.transform(videos[0])
    with pytest.raises(ValueError, match="single 3-D array"):
        encoder.transform(np.stack([videos[0]] * 3))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_then_cpu_transform(tmp_path):
    videos = _videos()
    encoder = LAVEncoder(device="cuda", random_state=0, **FAST).fit(videos)
    on_gpu = encoder.transform(videos)
    restored = pickle.loads(pickle.dumps(encoder))
    np.testing.assert_allclose(restored.transform(videos)[0], on_gpu[0], atol=1e-5)


def test_skorch_callbacks_early_stopping_and_lr_schedule():
    from skorch.callbacks import EarlyStopping, LRScheduler

    videos = _videos()
    encoder = LAVEncoder(
        random_state=0,
        callbacks=[
            ("stop", EarlyStopping(monitor="train_loss", patience=1, threshold=1e9, threshold_mode="abs")),
            ("lr", LRScheduler(policy="StepLR", step_size=1, gamma=0.5)),
        ],
        **{**FAST, "max_epochs": 10},
    ).fit(videos)
    assert len(encoder.history_) == 2  # no epoch improves by 1e9: stop after patience
    assert encoder.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(encoder.lr / 2)  # one step


def test_verbose_prints_an_epoch_log(capsys):
    LAVEncoder(random_state=0, verbose=1, **FAST).fit(_videos())
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 3


class _SlowFeatureCriterion(torch.nn.Module):
    """A user-written objective: consecutive sampled frames close, others apart."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, embeddings, batch):
        steps = (embeddings[:, 1:] - embeddings[:, :-1]).pow(2).sum(-1).mean()
        spread = (embeddings[:, :, None] - embeddings[:, None]).pow(2).sum(-1).mean()
        return steps + torch.relu(self.margin - spread)


def test_a_new_objective_is_a_criterion_class():
    videos = _videos()
    encoder = LAVEncoder(criterion=_SlowFeatureCriterion, criterion_params={"margin": 0.5},
                         random_state=0, **FAST).fit(videos)
    assert isinstance(encoder.net_.criterion_, _SlowFeatureCriterion)
    assert encoder.net_.criterion_.margin == 0.5
    assert np.isfinite(encoder.history_[:, "train_loss"]).all()
    with pytest.raises(ValueError, match="replaces it"):
        LAVEncoder(criterion=_SlowFeatureCriterion, gamma=0.5, **FAST).fit(videos)


def test_tcc_settings_reach_the_criterion():
    encoder = LAVEncoder(tcc_weight=1.0, gamma=0.3, criterion_params={"tcc_temperature": 0.5},
                         random_state=0, **FAST).fit(_videos())
    criterion = encoder.net_.criterion_
    assert criterion.tcc["temperature"] == 0.5 and criterion.tcc_weight == 1.0
    assert criterion.lav["gamma"] == 0.3


def test_estimator_and_loss_defaults_agree():
    import inspect

    from sklav.losses import LAVLoss, contrastive_idm, lav_loss, sfa

    encoder = LAVEncoder().get_params()
    for function in (LAVLoss, lav_loss, contrastive_idm, sfa):
        for name, parameter in inspect.signature(function).parameters.items():
            if name in encoder:
                assert parameter.default == encoder[name], (function.__name__, name)


# ----------------------------------------------------------------------
# preprocessing and what the network sees


def test_constant_feature_columns_are_centred_but_not_scaled():
    from sklearn.preprocessing import StandardScaler

    from sklav.encoders.networks import FeaturePreprocessor

    videos = _videos()
    for v in videos:
        v[:, 1] = 3.0  # a constant feature
    frames = np.concatenate(videos)
    preprocessor = FeaturePreprocessor(4)
    preprocessor.set_statistics(frames)
    np.testing.assert_allclose(preprocessor.scale.numpy(), StandardScaler().fit(frames).scale_, rtol=1e-6)
    assert preprocessor.scale[1] == 1.0
    encoder = LAVEncoder(random_state=0, **FAST).fit(videos)
    nudged = [v.copy() for v in videos[:2]]
    for v in nudged:
        v[:, 1] += 1e-3
    moved = max(np.abs(a - b).max() for a, b in zip(encoder.transform(nudged), encoder.transform(videos[:2])))
    assert moved < 0.01  # a 1e-3 change of the input moves the embedding by about as much


@pytest.mark.parametrize("freeze", [False, True], ids=["trained-trunk", "frozen-cached-trunk"])
def test_a_frames_embedding_is_the_same_in_training_and_in_transform(freeze):
    """The training path (sampling, context windows, cached trunk features) and
    transform embed a frame identically (the network in eval mode)."""
    import copy as copy_

    from sklav.encoders._build import training_frames

    videos = _videos()
    encoder = LAVEncoder(random_state=0, freeze_backbone=freeze, **{**FAST, "num_context": 3}).fit(videos)
    module = encoder.module_
    frames = training_frames(module, videos, encoder.frame_kind_, "cpu", 256)
    dataset = VideoPairDataset(frames, np.zeros(len(videos)), 6, 3, 3, np.random.default_rng(7))
    state = copy_.deepcopy(dataset.rng.bit_generator.state)
    sample = dataset._sample(4)
    replay = np.random.default_rng()
    replay.bit_generator.state = state
    indices = sample_frames(len(videos[4]), 6, replay)
    X, _ = collate_video_pairs([(sample, sample)])
    module.eval()
    module.use_cached_trunk = freeze
    try:
        with torch.no_grad():
            in_training = module(**X)[0].numpy()
    finally:
        module.use_cached_trunk = False
    np.testing.assert_allclose(in_training, encoder.transform(videos[4:5])[0][indices], atol=1e-5)


class _BatchNormTrunk(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 8)
        self.norm = torch.nn.BatchNorm1d(8)

    def forward(self, x):
        return torch.relu(self.norm(self.linear(x)))


class _ModeSpy(Callback):
    """Records (trunk.training, head.training) at every training step (class-level: fit clones callbacks)."""

    modes = []

    def on_grad_computed(self, net, named_parameters, **kwargs):
        type(self).modes.append((net.module_.trunk.training, net.module_.head.training))


def test_a_frozen_trunks_batchnorm_stays_in_eval_mode_while_the_head_trains():
    videos = _videos()
    _ModeSpy.modes = []
    backbone = _BatchNormTrunk()
    encoder = LAVEncoder(backbone=backbone, freeze_backbone=True, callbacks=[_ModeSpy()], random_state=0,
                         **FAST).fit(videos)
    assert _ModeSpy.modes and all(mode == (False, True) for mode in _ModeSpy.modes)
    trunk = encoder.module_.trunk
    np.testing.assert_array_equal(trunk.norm.running_mean, backbone.norm.running_mean)
    assert int(trunk.norm.num_batches_tracked) == 0
    # also when the trunk runs on raw frames in a training step
    module = encoder.module_.train()
    assert not module.trunk.training and module.head.training
    X, _ = collate_video_pairs([VideoPairDataset(videos, np.zeros(5), 6, 2, 3, np.random.default_rng(0))[0]])
    module(**X)
    np.testing.assert_array_equal(trunk.norm.running_mean, backbone.norm.running_mean)
    _ModeSpy.modes = []
    LAVEncoder(backbone=_BatchNormTrunk(), freeze_backbone=False, callbacks=[_ModeSpy()], random_state=0,
               **FAST).fit(videos)
    assert all(mode == (True, True) for mode in _ModeSpy.modes)


def test_tags_tell_the_truth():
    tags = LAVEncoder().__sklearn_tags__()
    assert tags.non_deterministic is False
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    videos = _videos()
    a = LAVEncoder(random_state=0, **FAST).fit(videos)
    b = LAVEncoder(random_state=0, **FAST).fit(videos)
    for x, y in zip(a.transform(videos), b.transform(videos)):
        np.testing.assert_array_equal(x, y)
    assert a.transform([v.astype(np.float64) for v in videos])[0].dtype == np.float32


# ----------------------------------------------------------------------
# failing fits


class _NaNCriterion(torch.nn.Module):
    def forward(self, embeddings, batch):
        return embeddings.sum() * float("nan")


class _NaNGradientCriterion(torch.nn.Module):
    """A finite loss (0) whose gradient is infinite: sqrt at 0."""

    def forward(self, embeddings, batch):
        return torch.sqrt((embeddings - embeddings.detach()).sum().abs())


@pytest.mark.parametrize(
    "params, match",
    [
        ({"criterion": _NaNCriterion}, r"the loss is nan at epoch 1, batch 1"),
        ({"criterion": _NaNGradientCriterion}, r"the gradient of '.*' is not finite at epoch 1, batch 1"),
        ({"lr": 1e30}, r"embeddings are not finite at epoch 1, batch 2; the weights have diverged"),
    ],
    ids=["nan-loss", "inf-gradient", "huge-lr"],
)
def test_non_finite_training_stops_with_a_clear_error(params, match):
    from sklav.encoders import NonFiniteTrainingError

    with pytest.raises(NonFiniteTrainingError, match=match):
        LAVEncoder(random_state=0, **{**FAST, "max_epochs": 5, **params}).fit(_videos())


@pytest.mark.parametrize(
    "change, error",
    [
        ({"X": "nan"}, "contains NaN"),
        ({"backbone": "resnet50"}, "takes images"),
        ({"criterion": _NaNCriterion}, "the loss is nan"),
        ({"X": "poses", "criterion": _NaNCriterion}, "the loss is nan"),
        ({"warm_start": True, "embedding_dim": 4}, r"\['embedding_dim'\] changed"),
        ({"warm_start": True, "criterion": _NaNCriterion}, "the loss is nan"),
        ({"warm_start": True, "optimizer_params": {"betas": (2.0, 0.9)}}, "Adam rejects"),
    ],
)
def test_a_failed_refit_leaves_the_estimator_as_it_was(golf, change, error):
    videos = _videos()
    encoder = LAVEncoder(random_state=0, **FAST).fit(videos)
    before, net, attributes = encoder.transform(videos), encoder.net_, dict(vars(encoder))
    change = dict(change)
    X = {"nan": [videos[0], np.full_like(videos[1], np.nan)], "poses": golf.videos[:3]}.get(change.pop("X", None), videos)
    encoder.set_params(**change)
    with pytest.raises(ValueError, match=error):
        encoder.fit(X)
    assert encoder.net_ is net and len(encoder.history_) == 2
    assert {k: v for k, v in vars(encoder).items() if k.endswith("_")} == {
        k: v for k, v in attributes.items() if k.endswith("_")
    }
    for a, b in zip(before, encoder.transform(videos)):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------
# skorch citizenship: callbacks and optimizer


def test_fit_works_on_clones_of_the_users_callbacks():
    from skorch.callbacks import EarlyStopping

    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=1e9, threshold_mode="abs")
    before = dict(vars(stop))
    encoder = LAVEncoder(random_state=0, callbacks=[stop], **{**FAST, "max_epochs": 5}).fit(_videos())
    assert len(encoder.history_) == 2 and not encoder.interrupted_  # early stopping is not an interruption
    assert vars(stop) == before and stop.misses_ == 0 and not hasattr(stop, "best_epoch_")


def test_named_callbacks_expose_their_parameters_to_set_params_and_searches():
    from skorch.callbacks import EarlyStopping

    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=1e9, threshold_mode="abs")
    encoder = LAVEncoder(random_state=0, callbacks=[("stop", stop)], **{**FAST, "max_epochs": 8})
    params = encoder.get_params()
    assert params["callbacks__stop"] is stop and params["callbacks__stop__patience"] == 1
    assert "callbacks__stop__patience" not in encoder.get_params(deep=False)
    assert clone(encoder).get_params()["callbacks__stop__patience"] == 1
    with pytest.raises(ValueError, match="no callback is named 'halt'"):
        clone(encoder).set_params(callbacks__halt__patience=2)
    replaced = clone(encoder).set_params(callbacks__stop=ProgressBar())
    assert isinstance(replaced.callbacks[0][1], ProgressBar) and replaced.callbacks is not encoder.callbacks

    def epochs(estimator, X, y=None):
        return len(estimator.history_)

    search = GridSearchCV(encoder, {"callbacks__stop__patience": [1, 3]}, scoring=epochs, cv=2, refit=False)
    search.fit(_videos())
    # patience p stops after the first epoch and p epochs without improvement
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], [2, 4])
    assert stop.patience == 1 and stop.misses_ == 0 and not hasattr(stop, "best_epoch_")


def test_optimizer_and_its_parameters_pass_through():
    videos = _videos()
    sgd = LAVEncoder(optimizer=torch.optim.SGD, optimizer_params={"momentum": 0.9}, weight_decay=0.0,
                     random_state=0, **FAST).fit(videos)
    group = sgd.net_.optimizer_.param_groups[0]
    assert isinstance(sgd.net_.optimizer_, torch.optim.SGD) and group["momentum"] == 0.9
    adam = LAVEncoder(optimizer_params={"betas": (0.8, 0.99)}, random_state=0, **FAST).fit(videos)
    group = adam.net_.optimizer_.param_groups[0]
    assert group["betas"] == (0.8, 0.99) and group["weight_decay"] == 1e-5 and group["lr"] == LAVEncoder().lr
    default = LAVEncoder(random_state=0, **FAST).fit(videos)
    assert not np.array_equal(adam.transform(videos)[0], default.transform(videos)[0])


@pytest.mark.parametrize("length", [1, 2, 3, 6])
@pytest.mark.parametrize("kernel_size, padding", [(3, 1), (3, 0), (1, 0), (5, 2)])
def test_temporal_conv_equals_torch_conv1d_with_gradients(length, kernel_size, padding):
    from sklav.encoders.networks import TemporalConv1d

    if length + 2 * padding < kernel_size:
        pytest.skip("no output frame")
    torch.manual_seed(0)
    reference = torch.nn.Conv1d(5, 4, kernel_size, padding=padding).double()
    fast = TemporalConv1d(5, 4, kernel_size, padding=padding).double()
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(3, 5, length, dtype=torch.float64, requires_grad=True)
    expected, got = reference(x), fast(x)
    torch.testing.assert_close(got, expected)
    weights = torch.randn_like(expected)
    grads = [torch.autograd.grad((out * weights).sum(), [x, m.weight, m.bias])
             for out, m in ((expected, reference), (got, fast))]
    for g_ref, g_fast in zip(*grads):
        torch.testing.assert_close(g_fast, g_ref)


@pytest.mark.parametrize("num_context", [1, 2, 3, 5])
@pytest.mark.parametrize("training", [True, False])
def test_temporal_head_equals_its_modules_in_sequence(num_context, training):
    """The 1D head's (frames, channels) fast path against ``convs`` applied as a Sequential."""
    from sklav.encoders.networks import ContextHead

    torch.manual_seed(0)
    head = ContextHead(6, embedding_dim=4, hidden_dim=8, spatial=False).double().train(training)
    if not training:  # non-trivial running statistics
        for norm in (head.convs[1], head.convs[4]):
            norm.running_mean.uniform_(-1, 1)
            norm.running_var.uniform_(0.5, 2)
    reference = copy.deepcopy(head)
    context = torch.randn(7, num_context, 6, dtype=torch.float64, requires_grad=True)
    got = head(context)
    hidden = reference.convs(context.transpose(1, 2))
    expected = torch.nn.functional.normalize(reference.projection(reference.fcs(hidden)), dim=-1)
    torch.testing.assert_close(got, expected)
    weights = torch.randn_like(got)
    grads = [torch.autograd.grad((out * weights).sum(), [context, *module.parameters()])
             for out, module in ((got, head), (expected, reference))]
    for g_fast, g_ref in zip(*grads):
        torch.testing.assert_close(g_fast, g_ref)
    for fast, ref in zip(head.buffers(), reference.buffers()):  # the same running statistics
        torch.testing.assert_close(fast, ref)


def test_first_fit_of_a_process_equals_the_next():
    """Reproducible under random_state from a fresh process on: nothing carried between fits (numba's
    first start used to reset torch's thread count in the middle of the first fit)."""
    script = (
        "import numpy as np, torch\n"
        "from sklav import LAVEncoder\n"
        "from sklav.datasets import load_penn_action\n"
        "torch.set_num_threads(1)\n"
        "videos = load_penn_action(actions=['golf_swing'], split='train').videos[:6]\n"
        "fit = lambda: np.concatenate(LAVEncoder(num_frames=8, max_epochs=1, random_state=0, device='cpu')"
        ".fit(videos[:4]).transform(videos[4:]))\n"
        "first, second = fit(), fit()\n"
        "print(float(np.abs(first - second).max()))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip().splitlines()[-1]) == 0.0


def test_temporal_conv_rejects_strides():
    from sklav.encoders.networks import TemporalConv1d

    with pytest.raises(ValueError, match="stride 1"):
        TemporalConv1d(2, 2, 3, stride=2)(torch.zeros(1, 2, 4))


def test_num_context_defaults_follow_the_frames():
    """None: 3 context frames for poses and features (dev val), 2 for images (the paper's k)."""
    from sklav.encoders.networks import TRUNKS

    poses = [np.random.default_rng(i).normal(size=(12, 5, 2)).astype(np.float32) for i in range(3)]
    assert TRUNKS["mlp"].num_context == 3 and TRUNKS["resnet50"].num_context == 2
    encoder = LAVEncoder(random_state=0, **FAST).fit(poses)
    assert encoder.num_context is None and encoder.num_context_ == 3
    assert LAVEncoder(random_state=0, **FAST).fit(_videos()).num_context_ == 3
    explicit = LAVEncoder(random_state=0, num_context=1, **FAST).fit(poses)
    assert explicit.num_context_ == 1
    # the context reaches (k - 1) * stride frames back: k changes the embeddings
    assert not np.allclose(explicit.transform(poses)[0][8:], encoder.transform(poses)[0][8:])
    # a model pickled before num_context_ existed loads with its num_context
    state = explicit.__getstate__()
    del state["num_context_"]
    restored = LAVEncoder.__new__(LAVEncoder)
    restored.__setstate__(state)
    assert restored.num_context_ == 1
