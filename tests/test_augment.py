"""Training-time augmentation, and the image path's defaults (ImageNet weights, fine-tuning)."""

import urllib.error
import warnings

import numpy as np
import pytest
import torch

from sklav import LAVEncoder
from sklav.datasets import load_penn_action
from sklav.encoders import augment as aug
from sklav.encoders.data import VideoPairDataset
from sklav.encoders.networks import build_resnet_trunk


def _frames(n=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 8, 10, 3), dtype=np.uint8)


# --------------------------------------------------------------------------
# images


def test_one_draw_per_video_applies_to_every_frame():
    frames = np.repeat(_frames(1), 4, axis=0)  # four identical frames
    out = aug.augment_frames(frames, np.random.default_rng(5))
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert all(np.array_equal(out[0], f) for f in out[1:])


def test_frame_augmentation_is_deterministic_and_varied():
    frames = _frames()
    outs = [aug.augment_frames(frames, np.random.default_rng(s)) for s in (0, 0, 1)]
    assert np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])
    flips = [np.array_equal(aug.augment_frames(frames, np.random.default_rng(s), max_delta=0, contrast=(1, 1)),
                            frames[:, :, ::-1]) for s in range(40)]
    assert 5 < sum(flips) < 35  # about half the videos are flipped


def test_brightness_and_contrast_ranges():
    frames = np.full((2, 4, 4, 3), 100, np.uint8)
    frames[:, :2] = 50
    for seed in range(20):
        out = aug.augment_frames(frames, np.random.default_rng(seed), flip=False).astype(int)
        mean_shift = out.mean() - frames.mean()
        spread = (out[:, 2:] - out[:, :2]).mean() / 50  # the contrast factor
        assert abs(mean_shift) <= 32 + 1 and 0.5 - 0.05 <= spread <= 1.5 + 0.05


# --------------------------------------------------------------------------
# poses


def test_pose_transforms_keep_visibility_and_shape():
    rng = np.random.default_rng(0)
    poses = np.concatenate([rng.normal(size=(4, 13, 2)), rng.integers(0, 2, (4, 13, 1))], -1).astype(np.float32)
    for out in [aug.mirror_poses(poses, swap=aug.PENN_ACTION_SWAP, visibility_channel=-1),
                aug.scale_poses(poses, 1.1, 0.9, visibility_channel=-1),
                aug.rotate_poses(poses, 0.2, visibility_channel=-1),
                aug.augment_poses(poses, rng, visibility_channel=-1)]:
        assert out.shape == poses.shape and out.dtype == poses.dtype
    assert np.array_equal(aug.rotate_poses(poses, 0.2, visibility_channel=-1)[..., 2], poses[..., 2])


def test_mirroring_twice_is_the_identity_and_rotation_keeps_distances():
    poses = np.random.default_rng(1).normal(size=(3, 13, 2))
    twice = aug.mirror_poses(aug.mirror_poses(poses, swap=aug.PENN_ACTION_SWAP), swap=aug.PENN_ACTION_SWAP)
    np.testing.assert_allclose(twice, poses, atol=1e-12)
    rotated = aug.rotate_poses(poses, 0.7)
    dist = lambda p: np.linalg.norm(p[:, :, None] - p[:, None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(dist(rotated), dist(poses), atol=1e-12)


@pytest.mark.parametrize("visibility_channel", [None, -1])
def test_augment_poses_equals_its_steps_in_sequence(visibility_channel):
    """One map about the centre = mirror, then aspect, then rotation, each about it."""
    rng = np.random.default_rng(5)
    poses = np.concatenate([rng.normal(size=(6, 13, 3)), rng.integers(0, 2, (6, 13, 1))], -1)
    kwargs = dict(visibility_channel=visibility_channel)
    for seed in range(8):  # both sides of the mirroring draw
        draws = np.random.default_rng(seed)
        mirrored, scales, angle = draws.random() < 0.5, draws.uniform(0.9, 1.1, 2), draws.uniform(-0.2, 0.2)
        expected = aug.mirror_poses(poses, swap=aug.PENN_ACTION_SWAP, **kwargs) if mirrored else poses
        expected = aug.rotate_poses(aug.scale_poses(expected, *scales, **kwargs), angle, **kwargs)
        got = aug.augment_poses(poses, np.random.default_rng(seed), max_angle=0.2, swap=aug.PENN_ACTION_SWAP,
                                **kwargs)
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_penn_swap_matches_the_joint_names():
    names = load_penn_action(actions="golf_swing").joint_names
    swapped = [names[i] for i in aug.PENN_ACTION_SWAP]
    assert swapped == [n.replace("left", "@").replace("right", "left").replace("@", "right") for n in names]


# --------------------------------------------------------------------------
# the switch and the dataset hook


def test_make_augmenter_switch():
    assert aug.make_augmenter("auto", "images", frozen=False) is aug.augment_frames
    assert aug.make_augmenter("auto", "poses", frozen=False).func is aug.augment_poses
    assert aug.make_augmenter("auto", "features", frozen=False) is None
    assert aug.make_augmenter("auto", "images", frozen=True) is None
    assert aug.make_augmenter(False, "images", frozen=False) is None
    assert aug.make_augmenter(np.False_, "images", frozen=False) is None
    assert aug.make_augmenter(True, "poses", frozen=False) is not None
    custom = lambda frames, rng: frames  # noqa: E731
    assert aug.make_augmenter(custom, "features", frozen=False) is custom
    with pytest.raises(ValueError, match="nothing to augment"):
        aug.make_augmenter(True, "features", frozen=False)
    with pytest.warns(UserWarning, match="frozen trunk"):
        assert aug.make_augmenter(True, "images", frozen=True) is None


def test_dataset_augments_each_sampled_video_reproducibly():
    videos = [_frames(6, seed) for seed in range(3)]
    calls = []

    def record(frames, rng):
        calls.append(len(frames))
        return aug.augment_frames(frames, rng)

    items = []
    for _ in range(2):
        data = VideoPairDataset(videos, np.zeros(3), 3, 2, 1, np.random.default_rng(0), augment=record)
        items.append(data[0])
    assert len(calls) == 4  # each video of each pair, in both runs
    for a, b in zip(*items):
        assert np.array_equal(a["frames"], b["frames"])
    plain = VideoPairDataset(videos, np.zeros(3), 3, 2, 1, np.random.default_rng(0))[0]
    assert plain[0]["frames"].shape == items[0][0]["frames"].shape


class _TinyTrunk(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=4)

    def forward(self, images):
        return self.conv(images)


def _image_encoder(**kwargs):
    kwargs.setdefault("backbone", _TinyTrunk())
    return LAVEncoder(image_size=16, num_frames=3, context_stride=1, max_epochs=1,
                      batch_size=2, hidden_dim=8, embedding_dim=4, random_state=0, **kwargs)


def test_encoder_augments_in_fit_never_in_transform():
    videos = [_frames(6, seed) for seed in range(4)]
    calls = []

    def record(frames, rng):
        calls.append(1)
        return frames

    encoder = _image_encoder(augment=record).fit(videos)
    assert len(calls) == 8  # one epoch: 4 pairs, 2 videos each
    encoder.transform(videos)
    assert len(calls) == 8
    trunk = _TinyTrunk()  # initialised once: random_state does not reach a given module's weights
    a, b = (_image_encoder(augment=True, backbone=trunk).fit(videos).transform(videos[:1])[0] for _ in range(2))
    np.testing.assert_array_equal(a, b)  # random_state fixes the augmentation


def test_augment_with_a_frozen_trunk_warns():
    videos = [_frames(6, seed) for seed in range(2)]
    with pytest.warns(UserWarning, match="frozen trunk"):
        _image_encoder(augment=True, freeze_backbone=True).fit(videos)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _image_encoder(freeze_backbone=True).fit(videos)  # 'auto': off, silently


# --------------------------------------------------------------------------
# ImageNet weights by default, fine-tuned


def test_defaults_are_imagenet_weights_fine_tuned():
    encoder = LAVEncoder()
    assert encoder.weights == "DEFAULT" and encoder.augment == "auto"
    videos = [_frames(5, seed) for seed in range(2)]
    fitted = LAVEncoder(weights=None, image_size=32, max_epochs=0, hidden_dim=8).fit(videos)
    assert not fitted.module_.freeze_trunk
    assert all(p.requires_grad for p in fitted.module_.trunk.parameters())


def test_offline_weights_error_says_what_to_do(monkeypatch, tmp_path):
    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    expected = str(tmp_path / "checkpoints" / "resnet50-11ad3fa6.pth")
    with pytest.raises(RuntimeError, match="weights=None") as err:
        build_resnet_trunk("DEFAULT")
    assert expected in str(err.value) and "IMAGENET1K_V2" in str(err.value)
    videos = [_frames(5, seed) for seed in range(2)]
    with pytest.raises(RuntimeError, match="fill torchvision's cache"):
        LAVEncoder(image_size=32, max_epochs=0).fit(videos)  # the default weights
