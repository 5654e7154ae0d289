"""Model files (sklav.save / sklav.load): round trips, warm starts, refusals, atomic writes."""

import io
import os
import pickle
import stat
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from skorch.callbacks import EarlyStopping

import sklav
from sklav import LAVEncoder, PhaseClassifier
from sklav.cli import main
from sklav.encoders import is_model_file
from sklav.losses import TCNLoss

TINY = dict(num_frames=6, max_epochs=2, batch_size=2, hidden_dim=16, embedding_dim=8, context_stride=3,
            random_state=0)


def _features(n=4, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(size=(12 + 3 * i, dim)), 0).astype(np.float32) for i in range(n)]


def _poses(n=4, joints=5, seed=0):
    """Poses (T, J, 3) whose last channel is a 0/1 visibility (so visibility_channel_ is -1)."""
    rng = np.random.default_rng(seed)
    videos = []
    for i in range(n):
        xy = np.cumsum(rng.normal(size=(12 + 3 * i, joints, 2)), 0)
        visible = (rng.random((12 + 3 * i, joints, 1)) > 0.2).astype(np.float64)
        videos.append(np.concatenate([xy, visible], -1).astype(np.float32))
    return videos


@pytest.fixture(scope="module")
def fitted():
    """A features encoder fitted for 2 epochs, its videos, and its model file."""
    videos = _features()
    encoder = LAVEncoder(**TINY).fit(videos)
    return encoder, videos


def _saved(encoder, folder, name="model.sklav"):
    path = Path(folder) / name
    sklav.save(encoder, path)
    return path


def _same_embeddings(a, b, videos):
    return all(np.array_equal(x, y) for x, y in zip(a.transform(videos), b.transform(videos)))


# --------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("make_videos, kind", [(_features, "features"), (_poses, "poses")])
def test_round_trip_transforms_bit_for_bit(tmp_path, make_videos, kind):
    videos = make_videos()
    encoder = LAVEncoder(**TINY).fit(videos)
    path = _saved(encoder, tmp_path)
    assert is_model_file(path)
    loaded = sklav.load(path)
    assert loaded.frame_kind_ == kind and _same_embeddings(loaded, encoder, videos)
    for name in ("frame_shape_", "visibility_channel_", "num_context_", "n_epochs_trained_", "device_",
                 "interrupted_", "checkpoint_dir_"):
        assert getattr(loaded, name) == getattr(encoder, name), name
    assert hasattr(loaded, "n_features_in_") == (kind == "features")
    assert loaded.history_.to_list() == encoder.history_.to_list()
    assert loaded.visibility_channel_ == (-1 if kind == "poses" else None)


def test_get_params_survive_a_round_trip(tmp_path):
    videos = _features()
    encoder = LAVEncoder(**{**TINY, "max_epochs": 1}, optimizer=torch.optim.AdamW,
                         optimizer_params={"betas": (0.9, 0.99)}, criterion=TCNLoss,
                         criterion_params={"temperature": 0.5}, device=torch.device("cpu"),
                         checkpoint=False, feature_cache=None, callbacks=[]).fit(videos)
    loaded = sklav.load(_saved(encoder, tmp_path))
    assert loaded.get_params() == encoder.get_params()
    assert loaded.optimizer is torch.optim.AdamW and loaded.criterion is TCNLoss
    assert isinstance(loaded.optimizer_params["betas"], tuple)
    assert _same_embeddings(loaded, encoder, videos)


def test_path_parameters_come_back_as_str(fitted, tmp_path):
    encoder = LAVEncoder(**TINY)
    vars(encoder).update({k: v for k, v in vars(fitted[0]).items() if k.endswith("_") or k.startswith("_")})
    encoder.set_params(feature_cache=tmp_path / "cache")
    assert sklav.load(_saved(encoder, tmp_path)).feature_cache == str(tmp_path / "cache")


def test_save_to_a_binary_file_object(fitted, tmp_path):
    encoder, videos = fitted
    buffer = io.BytesIO()
    sklav.save(encoder, buffer)
    path = tmp_path / "from-buffer.bin"  # any extension
    path.write_bytes(buffer.getvalue())
    assert _same_embeddings(sklav.load(path), encoder, videos)


def test_a_loaded_model_works_in_a_pipeline(fitted, tmp_path):
    encoder, videos = fitted
    loaded = sklav.load(_saved(encoder, tmp_path))
    phases = [(np.arange(len(v)) >= len(v) // 2).astype(int) for v in videos]
    predictions = [
        Pipeline([("lav", FrozenEstimator(model)), ("clf", PhaseClassifier())]).fit(videos, phases).predict(videos)
        for model in (encoder, loaded)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(*predictions))
    refit = Pipeline([("lav", sklav.load(_saved(encoder, tmp_path, "again.sklav"))),
                      ("clf", PhaseClassifier())]).fit(videos, phases)  # refits the loaded encoder
    assert refit.score(videos, phases) >= 0


def test_warm_start_after_load_continues_bit_for_bit(tmp_path):
    videos = _features()
    two = LAVEncoder(**TINY).fit(videos)
    loaded = sklav.load(_saved(two, tmp_path))
    loaded.set_params(warm_start=True).fit(videos)
    four = LAVEncoder(**{**TINY, "max_epochs": 4}).fit(videos)
    assert loaded.n_epochs_trained_ == 4 and len(loaded.history_) == 4
    np.testing.assert_array_equal(loaded.history_[:, "train_loss"], four.history_[:, "train_loss"])
    assert _same_embeddings(loaded, four, videos)


def test_warm_start_after_load_still_refuses_architecture_changes(fitted, tmp_path):
    encoder, videos = fitted
    loaded = sklav.load(_saved(encoder, tmp_path))
    with pytest.raises(ValueError, match=r"\['embedding_dim'\] changed"):
        loaded.set_params(warm_start=True, embedding_dim=4).fit(videos)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fall-back when CUDA is absent")
def test_a_model_fitted_on_cuda_loads_on_the_cpu(fitted, tmp_path):
    encoder, videos = fitted
    on_cuda = LAVEncoder(**TINY)
    vars(on_cuda).update({k: v for k, v in vars(encoder).items() if k.endswith("_") or k.startswith("_")})
    on_cuda.device_ = "cuda"  # what a CUDA fit records
    with pytest.warns(UserWarning, match="fitted on 'cuda', which is not available here"):
        loaded = sklav.load(_saved(on_cuda, tmp_path))
    assert loaded.device_ == "cpu" and _same_embeddings(loaded, encoder, videos)


# --------------------------------------------------------------------------
# what save refuses


class _CustomLoss(torch.nn.Module):
    def forward(self, embeddings, batch):
        return embeddings.sum()


@pytest.mark.parametrize("name, value", [
    ("backbone", torch.nn.Linear(4, 4)),
    ("augment", lambda frames, rng: frames),
    ("callbacks", [EarlyStopping(monitor="train_loss")]),
    ("random_state", np.random.RandomState(0)),
    ("criterion", _CustomLoss),
    ("optimizer_params", {"betas": object()}),
])
def test_an_unsafe_parameter_is_refused_by_name(fitted, tmp_path, name, value):
    encoder, _ = fitted
    unsafe = LAVEncoder(**TINY)
    vars(unsafe).update({k: v for k, v in vars(encoder).items() if k.endswith("_") or k.startswith("_")})
    unsafe.set_params(**{name: value})
    with pytest.raises(TypeError, match=rf"cannot store {name}\b.*joblib\.dump"):
        sklav.save(unsafe, tmp_path / "m.sklav")
    assert list(tmp_path.iterdir()) == []


def test_only_fitted_encoders_are_saved(tmp_path):
    with pytest.raises(NotFittedError):
        sklav.save(LAVEncoder(), tmp_path / "m.sklav")
    with pytest.raises(TypeError, match="saves a fitted LAVEncoder, got Pipeline"):
        sklav.save(Pipeline([("lav", LAVEncoder())]), tmp_path / "m.sklav")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# what load refuses


class _Payload:
    """Unpickling it creates the folder ``marker``: code run from the file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def _malicious_files(folder, marker):
    plain = folder / "plain.pkl"
    plain.write_bytes(pickle.dumps(_Payload(marker)))
    joblib_file = folder / "model.joblib"
    joblib.dump(_Payload(marker), joblib_file)
    tagged = folder / "tagged.sklav"  # a torch archive that even carries the format tag
    torch.save({"format": "sklav-model/1", "params": _Payload(marker)}, tagged)
    untagged = folder / "untagged.pt"
    torch.save({"weights": torch.zeros(2), "extra": _Payload(marker)}, untagged)
    return [plain, joblib_file, tagged, untagged]


def test_a_malicious_file_is_refused_and_its_code_never_runs(fitted, tmp_path):
    live = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Payload(live)))  # the payload works: unpickling it runs its code
    assert live.is_dir()
    marker = tmp_path / "pwned"
    video = tmp_path / "video.npy"
    np.save(video, fitted[1][0])
    for path in _malicious_files(tmp_path, marker):
        with pytest.raises(ValueError) as info:
            sklav.load(path)
        message = str(info.value)
        assert f"'{path}'" in message and "\n" not in message and "weights_only" not in message
        assert main(["embed", str(path), str(video), "-o", str(tmp_path / "e.npz")]) == 2
        assert not marker.exists(), f"loading {path.name} ran its code"
    assert not (tmp_path / "e.npz").exists()


def test_a_pickle_file_is_named_as_one(fitted, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(fitted[0], path)
    assert not is_model_file(path)
    with pytest.raises(ValueError, match="is not an sklav model file but a pickle .* could run code"):
        sklav.load(path)


def test_a_file_holding_objects_is_refused_without_torch_advice(tmp_path):
    path = tmp_path / "tagged.sklav"
    torch.save({"format": "sklav-model/1", "params": _Payload(tmp_path / "x")}, path)
    with pytest.raises(ValueError, match=r"is refused: it holds pickled objects other than tensors") as info:
        sklav.load(path)
    assert "weights_only" not in str(info.value) and not (tmp_path / "x").exists()


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[: len(data) // 2], "truncated or damaged zip archive"),
    (lambda data: data[:3], "not a torch archive"),
    (lambda data: b"", "it is empty"),
    (lambda data: np.random.default_rng(0).bytes(4096), "not an sklav model file"),
    (lambda data: data[:200] + bytes(100) + data[300:], "damaged"),
])
def test_a_damaged_or_foreign_file_is_a_value_error_naming_it(fitted, tmp_path, damage, message):
    data = _saved(fitted[0], tmp_path).read_bytes()
    path = tmp_path / "bad.sklav"
    path.write_bytes(damage(data))
    with pytest.raises(ValueError, match=message) as info:
        sklav.load(path)
    assert f"'{path}'" in str(info.value) and "\n" not in str(info.value)


def _rewritten(tmp_path, source, change):
    """The model file ``source`` with its dict changed by ``change`` (read without pickles)."""
    payload = torch.load(source, map_location="cpu", weights_only=True)
    change(payload)
    path = tmp_path / "changed.sklav"
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("change, message", [
    (lambda p: p.update(format="sklav-model/2"), r"format version 2, newer than this sklav .* upgrade"),
    (lambda p: p.update(format="sklav-model/x"), "its format tag is 'sklav-model/x'"),
    (lambda p: p.update(params=p["params"].replace('"torch.optim.Adam"', '"os.system"')),
     "names the class 'os.system', which sklav does not load"),
    (lambda p: p["module"].popitem(), "damaged or inconsistent .*Missing key"),
    (lambda p: p.update(params=p["params"].replace('"embedding_dim": 8', '"embedding_dim": 4')),
     "damaged or inconsistent .*size mismatch"),
])
def test_a_foreign_or_inconsistent_model_file_is_refused(fitted, tmp_path, change, message):
    path = _rewritten(tmp_path, _saved(fitted[0], tmp_path), change)
    with pytest.raises(ValueError, match=message) as info:
        sklav.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        sklav.load(tmp_path / "nothing.sklav")
    assert not is_model_file(tmp_path / "nothing.sklav")


# --------------------------------------------------------------------------
# writing


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_no_file_and_the_old_one_intact(fitted, tmp_path, monkeypatch, error):
    path = tmp_path / "model.sklav"
    path.write_bytes(b"the previous model")

    def save_then_fail(obj, file):
        file.write(b"half a model")
        raise error

    monkeypatch.setattr(torch, "save", save_then_fail)
    with pytest.raises(type(error)):
        sklav.save(fitted[0], path)
    assert path.read_bytes() == b"the previous model" and os.listdir(tmp_path) == ["model.sklav"]
    monkeypatch.undo()
    sklav.save(fitted[0], tmp_path / "new.sklav")
    assert sorted(os.listdir(tmp_path)) == ["model.sklav", "new.sklav"]  # no temporary file left


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_the_file_mode_follows_the_umask(fitted, tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = _saved(fitted[0], tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


def test_saving_does_not_change_the_encoder(fitted, tmp_path):
    encoder, videos = fitted
    before = encoder.transform(videos)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sklav.save(encoder, tmp_path / "m.sklav")
    assert all(np.array_equal(a, b) for a, b in zip(before, encoder.transform(videos)))
