"""sklav.utils.normalize_poses: the one pose normalisation of the loader and the encoder."""

import warnings

import numpy as np
import pytest
import torch

from sklav.datasets._penn_action import normalize_joints2d
from sklav.encoders.networks import PosePreprocessor
from sklav.utils import normalize_poses


def _poses(seed=0, n=6, joints=5, axes=2):
    rng = np.random.default_rng(seed)
    coords = rng.normal(size=(n, joints, axes)) * 40 + 100
    visible = rng.uniform(size=(n, joints)) > 0.3
    visible[:, :2] = True
    return coords, visible


@pytest.mark.parametrize("axes", [2, 3])
def test_visible_joints_centred_with_rms_one_invisible_zeroed(axes):
    coords, visible = _poses(axes=axes)
    out = normalize_poses(coords, visible)
    assert out.shape == coords.shape and out.dtype == np.float64
    for t in range(len(coords)):
        pts = out[t, visible[t]]
        np.testing.assert_allclose(pts.mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(np.sqrt((pts**2).sum(1).mean()), 1)
        assert not out[t, ~visible[t]].any()
    every = normalize_poses(coords)  # None: every joint visible
    np.testing.assert_array_equal(every, normalize_poses(coords, np.ones(coords.shape[:2], bool)))


@pytest.mark.parametrize("visible", [True, False])
def test_numpy_and_torch_agree(visible):
    coords, mask = _poses(seed=1)
    mask = mask if visible else None
    out = normalize_poses(coords, mask)
    got = normalize_poses(torch.from_numpy(coords), None if mask is None else torch.from_numpy(mask))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), out, rtol=1e-12, atol=1e-12)
    single = normalize_poses(coords.astype(np.float32), mask)
    assert single.dtype == np.float32  # computed in the input's dtype


def test_degenerate_frames_and_min_scale():
    coords = np.array([[[1.0, 2.0], [1.0, 2.0]],  # coincident joints: spread 0
                       [[0.0, 0.0], [2e-7, 0.0]],  # spread 1e-7
                       [[5.0, 5.0], [9.0, 9.0]]])  # one visible joint
    visible = np.array([[True, True], [True, True], [True, False]])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        exact = normalize_poses(coords, visible)
        floored = normalize_poses(coords, visible, min_scale=1e-6)
    np.testing.assert_array_equal(exact[[0, 2]], 0)
    np.testing.assert_array_equal(floored[[0, 2]], 0)
    np.testing.assert_allclose(exact[1], [[-1, 0], [1, 0]])  # None: always RMS 1
    np.testing.assert_allclose(floored[1], [[-0.1, 0], [0.1, 0]])  # floored at 1e-6


def test_loader_and_encoder_call_it():
    coords, visible = _poses(seed=2, joints=13)
    joints = normalize_joints2d(coords[..., 0], coords[..., 1], visible.astype(np.uint8))
    np.testing.assert_array_equal(joints[..., :2], normalize_poses(coords, visible).astype(np.float32))
    with torch.no_grad():
        net = PosePreprocessor(visibility_channel=-1)(torch.from_numpy(joints))
    expected = normalize_poses(torch.from_numpy(joints[..., :2]), torch.from_numpy(visible), min_scale=1e-6)
    expected = torch.cat([expected, torch.from_numpy(visible[..., None]).float()], dim=-1)
    assert torch.equal(net, expected.flatten(1))
