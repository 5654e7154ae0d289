"""LAVEncoder: sklearn conventions, ragged inputs, learning on real poses, errors."""

import os
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

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


def test_groups_restrict_pairs_to_the_same_group():
    videos = _videos(6)
    groups = np.array([0, 0, 1, 1, 1, 2])
    dataset = VideoPairDataset(videos, np.array([0, 0, 1, 1, 1, 1]), 4, 2, 3, np.random.default_rng(0))
    assert [sorted(p) for p in dataset.partners] == [[1], [0], [3, 4, 5], [2, 4, 5], [2, 3, 5], [2, 3, 4]]
    with pytest.raises(ValueError, match="group 2 has a single video"):
        LAVEncoder(**FAST).fit(videos, groups=groups)
    with pytest.raises(ValueError, match="one entry per video"):
        LAVEncoder(**FAST).fit(videos, groups=[0, 1])


def test_groups_are_routed_through_pipeline_and_grid_search(golf):
    import sklearn

    videos, phases = golf.videos[:8], golf.phases[:8]
    groups = np.repeat([0, 1], 4)
    with sklearn.config_context(enable_metadata_routing=True):
        encoder = LAVEncoder(random_state=0, **FAST).set_fit_request(groups=True)
        pipe = Pipeline([("lav", encoder), ("svm", PhaseClassifier(SVC()))])
        pipe.fit(videos, phases, groups=groups)
        assert 0.0 <= pipe.score(videos, phases) <= 1.0
        search = GridSearchCV(
            Pipeline([("lav", encoder)]), {"lav__alpha": [0.1, 0.5]}, scoring=KendallTauScorer(),
            cv=GroupKFold(n_splits=2),
        )
        search.fit(videos, groups=groups)
        assert set(search.cv_results_["param_lav__alpha"]) == {0.1, 0.5}


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


def test_interrupted_fit_resumes_from_checkpoint(tmp_path):
    videos = _videos()
    full = LAVEncoder(random_state=0, **{**FAST, "max_epochs": 4}).fit(videos)
    LAVEncoder(random_state=0, checkpoint=str(tmp_path), **FAST).fit(videos)  # stops after 2 of 4
    assert (tmp_path / "params.pt").exists()
    resumed = LAVEncoder(random_state=0, checkpoint=str(tmp_path), **{**FAST, "max_epochs": 4}).fit(videos)
    assert len(resumed.history_) == 4
    assert resumed.history_[:2, "train_loss"] == pytest.approx(full.history_[:2, "train_loss"])
    temporary = LAVEncoder(random_state=0, checkpoint=True, **FAST).fit(videos)
    assert os.path.exists(os.path.join(temporary.checkpoint_dir_, "params.pt"))


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
    encoder = LAVEncoder(random_state=0, regularizer=regularizer, alignment=alignment, tcc_weight=tcc_weight, **FAST)
    encoder.fit(_videos())
    assert np.isfinite(encoder.history_[:, "train_loss"]).all()


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
        ("videos", {}, TypeError, "list, tuple"),
    ],
)
def test_bad_input_gets_a_clear_error(X, kwargs, error, match):
    if kwargs.get("device", "").startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that GPU")
    with pytest.raises(error, match=match):
        LAVEncoder(**{**FAST, **kwargs}).fit(X)


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
