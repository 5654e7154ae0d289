"""Mixed precision: autocast forward in bfloat16 or float16 (with a gradient scaler), float32 loss."""

import numpy as np
import pytest
import torch

from sklav import LAVEncoder
from sklav.datasets import load_penn_action


@pytest.fixture(scope="module")
def golf():
    return load_penn_action(actions=["golf_swing"], split="train").videos[:16]


def _fit(videos, precision):
    return LAVEncoder(num_frames=10, max_epochs=3, batch_size=4, random_state=0, device="cpu",
                      precision=precision).fit(videos)


def test_bfloat16_training_stays_close_to_float32(golf):
    reference = np.array(_fit(golf, "32").history_[:, "train_loss"])
    encoder = _fit(golf, "bf16")
    losses = np.array(encoder.history_[:, "train_loss"])
    assert np.isfinite(losses).all()
    np.testing.assert_allclose(losses, reference, rtol=0.05)
    assert losses[0] != reference[0]  # the forward did run in lower precision
    assert all(e.dtype == np.float32 for e in encoder.transform(golf[:2]))


def test_float16_steps_through_a_gradient_scaler(golf):
    encoder = _fit(golf, "16")
    scaler = encoder.net_.grad_scaler_
    assert isinstance(scaler, torch.amp.GradScaler)
    # the scaler skipped the first steps, whose scaled gradients overflowed, and lowered its scale
    assert scaler.get_scale() < 2.0**16
    losses = np.array(encoder.history_[:, "train_loss"])
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert _fit(golf, "32").net_.grad_scaler_ is None


def test_precision_is_validated(golf):
    with pytest.raises(ValueError, match="precision"):
        LAVEncoder(precision="fp8").fit(golf)
