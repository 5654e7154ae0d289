"""Tests of sklav.utils: the embed helper and the validation it shares."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklav.evaluation import PhaseClassifier
from sklav.utils import check_videos, embed

#: The checkout, so that a fresh interpreter imports this sklav.
ROOT = Path(__file__).resolve().parents[1]


class Doubler(TransformerMixin, BaseEstimator):
    """A fitted per-frame transformer of lists of videos: x -> 2x, as float32."""

    def fit(self, X, y=None):
        self.n_videos_ = len(X)
        return self

    def transform(self, X):
        return [2 * np.asarray(x, dtype=np.float32) for x in X]


def _videos():
    return [np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((5, 2), dtype=int)]


@pytest.mark.parametrize("encoder", [None, "passthrough", "identity"])
def test_embed_passthrough_validates_and_casts(encoder):
    videos = _videos()
    embedded = embed(encoder, videos)
    assert isinstance(embedded, list) and len(embedded) == 2
    for e, v in zip(embedded, videos):
        assert e.dtype == np.float64
        np.testing.assert_array_equal(e, v)
    # tuples and object arrays are lists of videos too
    ragged = np.empty(2, dtype=object)
    ragged[:] = videos
    for container in (tuple(videos), ragged):
        for e, v in zip(embed(encoder, container), videos):
            np.testing.assert_array_equal(e, v)


def test_embed_passthrough_refuses_frames_that_are_not_vectors():
    with pytest.raises(ValueError, match=r"X\[0\] embeds to shape \(4, 3, 2\).*flatten each frame"):
        embed(None, [np.zeros((4, 3, 2))])
    with pytest.raises(ValueError, match=r"videos\[1\] contains NaN"):
        embed("passthrough", [np.zeros((4, 2)), np.full((3, 2), np.nan)], name="videos")
    with pytest.raises(ValueError, match="per-frame shape"):
        embed(None, [np.zeros((4, 2)), np.zeros((4, 3))])


@pytest.mark.parametrize("shape", [(4, 0), (4, 0, 3), (4, 13, 0)])
def test_videos_whose_frames_hold_no_values_are_refused(shape):
    # (T, 0) features or (T, 0, 3) poses used to be accepted, giving constant embeddings
    with pytest.raises(ValueError, match=r"X\[1\] has shape .*hold no values"):
        check_videos([np.ones((4, 2)), np.zeros(shape)])
    with pytest.raises(ValueError, match="hold no values"):
        embed(None, [np.zeros(shape)])


def test_embed_applies_a_fitted_transformer():
    videos = _videos()
    for encoder in (Doubler().fit(videos), Pipeline([("double", Doubler())]).fit(videos)):
        embedded = embed(encoder, videos)
        assert [e.dtype for e in embedded] == [np.float64, np.float64]
        for e, v in zip(embedded, videos):
            np.testing.assert_array_equal(e, 2 * v)


def test_embed_pipeline_ending_in_a_head_uses_all_steps_but_the_last():
    videos = _videos()
    labels = [np.array([0, 0, 1]), np.array([0, 1, 1, 1, 1])]
    pipe = Pipeline([("double", Doubler()), ("clf", PhaseClassifier())]).fit(videos, labels)
    for e, v in zip(embed(pipe, videos), videos):
        np.testing.assert_array_equal(e, 2 * v)


def test_embed_checks_what_the_transformer_returns():
    flat_to_images = FunctionTransformer(lambda X: [x.reshape(len(x), 1, -1) for x in X])
    with pytest.raises(ValueError, match=r"embeds to shape \(3, 1, 2\); per-frame embeddings must be \(T, D\)\.$"):
        embed(flat_to_images, _videos())


@pytest.mark.parametrize("encoder", ["raw", "Passthrough", object(), 3, PhaseClassifier()])
def test_embed_bad_encoder_is_a_clear_type_error(encoder):
    with pytest.raises(TypeError, match="has no transform method.*fitted transformer.*'passthrough'"):
        embed(encoder, _videos())


def test_utils_import_neither_torch_nor_numba():
    code = "import sys, sklav.utils; print('torch' in sys.modules, 'numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=ROOT)
    assert result.stdout.split() == ["False", "False"]
