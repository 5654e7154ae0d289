"""sklav.pretrained: the shipped encoder loads offline, hash checked, from raw keypoints of any layout."""

import hashlib
import pickle
import shutil
import socket
import time

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

import sklav
from sklav import LAVEncoder, PhaseClassifier
from sklav.datasets import convert_keypoints, load_penn_action, load_penn_action_annotations
from sklav.pretrained import _registry, list_encoders, load_encoder

NAME = "penn_joints2d"
MAX_WEIGHTS_BYTES = 10 * 2**20  # all pretrained files together


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(NAME)


@pytest.fixture(scope="module")
def golf():
    """The bundled golf swings: the loader's normalised joints and the raw pixel annotations."""
    data = load_penn_action(actions="golf_swing", split="all")
    raw = load_penn_action_annotations(actions="golf_swing", split="all")
    assert list(raw.video_ids) == list(data.video_ids)
    pixels = [np.stack([x, y, v], -1) for x, y, v in zip(raw.x, raw.y, raw.visibility)]
    return data, pixels


@pytest.fixture
def offline(monkeypatch):
    """No network: any connection attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("sklav.pretrained tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _fake_registry(monkeypatch, folder, sha256=None):
    entry = dict(_registry.REGISTRY[NAME])
    if sha256 is not None:
        entry["sha256"] = sha256
    monkeypatch.setattr(_registry, "WEIGHTS_FOLDER", folder)
    monkeypatch.setitem(_registry.REGISTRY, NAME, entry)
    return folder / entry["file"]


def test_registry_matches_the_shipped_files():
    entries = list_encoders()
    assert [e["name"] for e in entries] == [NAME]
    total = 0
    for entry in entries:
        path = _registry.WEIGHTS_FOLDER / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert sklav.encoders.is_model_file(path)
        total += path.stat().st_size
    assert total <= MAX_WEIGHTS_BYTES
    shipped = sorted(p.name for p in _registry.WEIGHTS_FOLDER.iterdir())
    assert shipped == sorted(e["file"] for e in entries)  # no stray file in the package


def test_list_encoders_returns_copies():
    list_encoders()[0]["sha256"] = "changed"
    assert list_encoders()[0]["sha256"] == _registry.REGISTRY[NAME]["sha256"]


def test_load_encoder_offline(offline):
    start = time.perf_counter()
    encoder = load_encoder(NAME)
    elapsed = time.perf_counter() - start
    assert isinstance(encoder, LAVEncoder)
    assert encoder.keypoint_layout == encoder.keypoint_layout_ == "penn13"
    assert encoder.frame_shape_ == (13, 3) and encoder.device_ == "cpu"
    assert encoder.n_epochs_trained_ == encoder.max_epochs
    assert elapsed < 10  # generous on a shared machine; the docs report the measured time


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="No pretrained encoder 'coco'.*penn_joints2d"):
        load_encoder("coco")


def test_missing_file_is_reported(monkeypatch, tmp_path):
    _fake_registry(monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError, match="reinstall"):
        load_encoder(NAME)


def test_sha256_mismatch_is_refused(monkeypatch, tmp_path):
    shipped = _registry.WEIGHTS_FOLDER / _registry.REGISTRY[NAME]["file"]
    path = _fake_registry(monkeypatch, tmp_path)
    shutil.copyfile(shipped, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"weights file '{path}'.*SHA-256.*not loaded"):
        load_encoder(NAME)


class _Payload:
    """Unpickling this object would create ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("hash_matches", [False, True])
def test_malicious_pickle_is_never_unpickled(monkeypatch, tmp_path, hash_matches):
    marker = tmp_path / "pwned"
    folder = tmp_path / "weights"
    folder.mkdir()
    payload = pickle.dumps(_Payload(marker))
    # hash_matches: an attacker who also rewrote the registry; sklav.load must still refuse
    sha = hashlib.sha256(payload).hexdigest() if hash_matches else None
    path = _fake_registry(monkeypatch, folder, sha)
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="SHA-256" if not hash_matches else "pickle"):
        load_encoder(NAME)
    assert not marker.exists()


def test_transforms_penn_joints_with_the_right_shapes(encoder, golf):
    data, _ = golf
    embeddings = encoder.transform(data.videos[:3])
    assert [e.shape for e in embeddings] == [(len(v), 128) for v in data.videos[:3]]
    assert all(e.dtype == np.float32 for e in embeddings)
    np.testing.assert_allclose([np.linalg.norm(e, axis=1) for e in embeddings[:1]], 1.0, rtol=1e-5)


def test_raw_pixels_give_the_loaders_embeddings(encoder, golf):
    data, pixels = golf
    videos = data.videos[:4]
    expected = encoder.transform(videos)
    # pixels as a pose estimator gives them: any scale and offset, confidences instead of flags
    rescaled = []
    for p in pixels[:4]:
        confidence = np.where(p[..., 2] > 0, 0.8, 0.3)  # 0.3 < 0.5: invisible
        rescaled.append(np.concatenate([p[..., :2] * 2.5 + [640.0, -80.0], confidence[..., None]], -1))
    for raw in (pixels[:4], rescaled, [p.astype(np.float32) for p in rescaled]):
        for got, want in zip(encoder.transform(raw), expected):
            np.testing.assert_allclose(got, want, atol=2e-5)


def test_two_channel_keypoints_count_as_visible(encoder, golf):
    _, pixels = golf
    video = pixels[0].copy()
    video[..., 2] = 1.0
    np.testing.assert_allclose(encoder.transform([video[..., :2]])[0], encoder.transform([video])[0], atol=1e-6)


@pytest.mark.parametrize("layout", ["coco17", "blazepose33", "openpose25"])
def test_other_layouts_through_keypoint_layout(encoder, golf, layout):
    _, pixels = golf
    video = pixels[1]
    converted = convert_keypoints(video, "penn13", layout)  # what that estimator would report
    headless = video.copy()
    headless[:, 0, 2] = 0  # these layouts have no head point: Penn's head comes from the face
    other = load_encoder(NAME).set_params(keypoint_layout=layout)  # the fixture's encoder stays penn13
    np.testing.assert_allclose(other.transform([converted])[0], encoder.transform([headless])[0], atol=1e-5)


def test_pipeline_with_a_phase_classifier(encoder):
    train = load_penn_action(actions="golf_swing", split="train")
    val = load_penn_action(actions="golf_swing", split="val")
    # FrozenEstimator: the pipeline's fit fits the classifier only, not the pretrained encoder
    pipe = Pipeline([("lav", FrozenEstimator(encoder)), ("svm", PhaseClassifier(SVC()))])
    pipe.fit(train.videos, train.phases)
    assert pipe.score(val.videos, val.phases) > 0.6
    assert encoder.n_epochs_trained_ == encoder.max_epochs  # untouched


def test_warm_start_fine_tunes_on_a_few_videos(golf):
    data, pixels = golf
    encoder = load_encoder(NAME)
    before = encoder.transform(data.videos[:1])[0]
    epochs = encoder.n_epochs_trained_
    encoder.set_params(warm_start=True, max_epochs=1, num_workers=0)
    encoder.fit(pixels[:4], pair_groups=None)  # raw pixels, as for transform
    assert encoder.n_epochs_trained_ == epochs + 1
    after = encoder.transform(data.videos[:1])[0]
    assert after.shape == before.shape and not np.allclose(after, before)
    assert encoder.keypoint_layout_ == "penn13"
