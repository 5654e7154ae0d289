"""Regression guard: refactors must not change what LAVEncoder computes.

The checksums were made on the code before the layout refactor (issue 9).
A change that alters the embeddings on purpose (a new default, a new loss
convention) regenerates them with ``python tests/test_regression.py`` and
says so in its commit message.

Regenerated three times since: TemporalConv1d computes only the kernel taps that
reach a frame (the same function in exact arithmetic, see
``test_temporal_conv_equals_torch_conv1d_with_gradients``); float32 rounding
moved the 3-epoch embeddings by at most 3.4e-3 (cosine >= 0.9999). Then
Soft-DTW saved its backward weights in float32 for float32 inputs (gradients
within ~1e-7 relative of float64, as before); the 3-epoch embeddings moved
by at most 1.2e-3 (cosine >= 0.99998). Then the 1D context head ran its
convolutions as one block-Toeplitz product in (frames, channels) layout (the
same function, see ``test_temporal_head_equals_its_modules_in_sequence``);
the 3-epoch embeddings moved by at most 3.6e-3 (cosine >= 0.9999). Then its
batch norm went from ``(N, C, k)`` to the contiguous ``(N * k, C)`` matrix
(the same function): at most 3.7e-3 (cosine >= 0.9998).
"""

import hashlib
import sys

import numpy as np
import pytest

from sklav import LAVEncoder
from sklav.datasets import load_penn_action

# The estimator's settings are spelled out so that a change of default does
# not silently change what this test pins.
SETTINGS = dict(
    num_frames=20, num_context=2, context_stride=15, embedding_dim=128, gamma=0.1,
    alpha=0.5, sigma=2.0, time_unit="position", margin=2.0, regularizer="cidm", lr=1e-4, weight_decay=1e-5,
    batch_size=8, max_epochs=3, random_state=0, device="cpu", augment=False, hidden_dim=256,
)

EXPECTED_SHA256 = "987f9439df01931e60020d0410936d903d690c4fd427e4bb6f4fbd93964ddddd"


def golf_embeddings_sha256():
    train = load_penn_action(actions=["golf_swing"], split="train")
    embeddings = LAVEncoder(**SETTINGS).fit(train.videos).transform(train.videos[:10])
    digest = hashlib.sha256()
    for emb in embeddings:
        digest.update(np.ascontiguousarray(emb, dtype=np.float32).tobytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_bundled_golf_embeddings_are_bit_identical():
    assert golf_embeddings_sha256() == EXPECTED_SHA256


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(golf_embeddings_sha256() + "\n")
