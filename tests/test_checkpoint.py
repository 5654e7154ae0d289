"""LAVEncoder checkpoints, interruption, warm starts: nothing lost, nothing silently wrong."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

import numpy as np
import pytest
from skorch.callbacks import Callback
from sklearn.model_selection import GridSearchCV

from sklav import KendallTauScorer, LAVEncoder
from sklav.encoders import CheckpointError, CheckpointWarning, TrainingInterruptedWarning

FAST = dict(num_frames=6, max_epochs=2, batch_size=2, hidden_dim=16, embedding_dim=8, context_stride=3,
            random_state=0)


def _videos(n=5, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(size=(12 + 3 * i, dim)), 0).astype(np.float32) for i in range(n)]


VIDEOS = _videos()


def _assert_identical(a, b):
    for x, y in zip(a.transform(VIDEOS), b.transform(VIDEOS)):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def uninterrupted():
    """Uninterrupted fits of 3 and 4 epochs, the reference for every resumed one."""
    return {n: LAVEncoder(**{**FAST, "max_epochs": n}).fit(VIDEOS) for n in (3, 4)}


def _fit_folder(root):
    (folder,) = [f for f in os.listdir(root) if f.startswith("fit-")]
    return os.path.join(root, folder)


class _EpochCounter(Callback):
    """Counts epochs begun in any fit (class-level: fit trains with clones)."""

    epochs = 0

    def on_epoch_begin(self, net, **kwargs):
        type(self).epochs += 1


class _Interrupt(Callback):
    """Ctrl-C in the first batch of epoch ``epoch``, once: raised, or a real SIGINT."""

    armed = False

    def __init__(self, epoch=3, how="raise"):
        self.epoch = epoch
        self.how = how

    def on_batch_end(self, net, **kwargs):
        if type(self).armed and len(net.history) == self.epoch:
            type(self).armed = False
            if self.how == "raise":
                raise KeyboardInterrupt
            signal.raise_signal(signal.SIGINT)


# ----------------------------------------------------------------------
# resuming is equivalent to never stopping


def test_resumed_fit_equals_an_uninterrupted_one_bit_for_bit(tmp_path, uninterrupted):
    first = LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS)
    folder = first.checkpoint_dir_
    assert os.path.dirname(folder) == str(tmp_path)
    assert sorted(os.listdir(folder)) == ["epoch-000001", "epoch-000002", "fingerprint.json", "latest"]
    _EpochCounter.epochs = 0
    resumed = LAVEncoder(checkpoint=tmp_path, callbacks=None, **{**FAST, "max_epochs": 4}).fit(VIDEOS)
    assert resumed.checkpoint_dir_ == folder and resumed.n_epochs_trained_ == 4
    _assert_identical(resumed, uninterrupted[4])
    assert resumed.history_[:, "train_loss"] == uninterrupted[4].history_[:, "train_loss"]
    # only the newest two checkpoints are kept
    assert sorted(os.listdir(folder)) == ["epoch-000003", "epoch-000004", "fingerprint.json", "latest"]
    # a finished fit found again trains nothing and returns the same network
    again = LAVEncoder(checkpoint=tmp_path, callbacks=[_EpochCounter()], **{**FAST, "max_epochs": 4})
    assert again.fit(VIDEOS).checkpoint_dir_ != folder  # another callback: another fit
    _EpochCounter.epochs = 0
    LAVEncoder(checkpoint=tmp_path, callbacks=[_EpochCounter()], **{**FAST, "max_epochs": 4}).fit(VIDEOS)
    assert _EpochCounter.epochs == 0
    # fewer epochs than the newest checkpoint: resume from one of at most that many, not beyond
    fewer = LAVEncoder(checkpoint=tmp_path, **{**FAST, "max_epochs": 3}).fit(VIDEOS)
    _assert_identical(fewer, uninterrupted[3])


def test_warm_start_continues_the_random_streams_bit_for_bit(uninterrupted):
    encoder = LAVEncoder(warm_start=True, **FAST).fit(VIDEOS)
    encoder.fit(VIDEOS)
    assert encoder.n_epochs_trained_ == 4
    _assert_identical(encoder, uninterrupted[4])
    assert encoder.history_[:, "train_loss"] == uninterrupted[4].history_[:, "train_loss"]
    cold = LAVEncoder(**FAST).fit(VIDEOS)
    cold.fit(VIDEOS)
    assert cold.n_epochs_trained_ == 2  # without warm_start, a new fit


def test_warm_start_applies_what_can_change_and_refuses_the_architecture():
    encoder = LAVEncoder(warm_start=True, **FAST).fit(VIDEOS)
    encoder.set_params(lr=1e-2, weight_decay=0.0, optimizer_params={"betas": (0.5, 0.9)}, gamma=0.5,
                       alpha=0.1, regularizer="idm", max_epochs=1)
    encoder.fit(VIDEOS)
    group = encoder.net_.optimizer_.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["betas"]) == (1e-2, 0.0, (0.5, 0.9))
    criterion = encoder.net_.criterion_
    assert criterion.lav["gamma"] == 0.5 and criterion.lav["alpha"] == 0.1 and criterion.lav["regularizer"] == "idm"
    assert encoder.n_epochs_trained_ == 3
    encoder.set_params(optimizer_params=None)  # back to Adam's default betas
    encoder.fit(VIDEOS)
    assert encoder.net_.optimizer_.param_groups[0]["betas"] == (0.9, 0.999)
    for change in ({"embedding_dim": 4}, {"hidden_dim": 8}, {"num_context": 3}, {"backbone": "mlp"},
                   {"freeze_backbone": True}, {"context_stride": 2}):
        with pytest.raises(ValueError, match=rf"\['{next(iter(change))}'\] changed since it was built"):
            LAVEncoder(warm_start=True, **FAST).fit(VIDEOS).set_params(**change).fit(VIDEOS)


# ----------------------------------------------------------------------
# damaged and foreign checkpoints


@pytest.mark.parametrize(
    "name, damage",
    [
        ("params.pt", "truncate"),
        ("optimizer.pt", "empty"),
        ("history.json", "empty"),
        ("rng.pt", "flip"),
        ("criterion.pt", "remove"),
        ("manifest.json", "truncate"),
    ],
)
def test_a_damaged_newest_checkpoint_falls_back_to_the_older_one(tmp_path, uninterrupted, name, damage):
    folder = LAVEncoder(checkpoint=tmp_path, **{**FAST, "max_epochs": 3}).fit(VIDEOS).checkpoint_dir_
    path = os.path.join(folder, "epoch-000003", name)
    with open(path, "rb") as f:
        data = f.read()
    if damage == "remove":
        os.remove(path)
    else:
        data = {"truncate": data[: len(data) // 2], "empty": b"",
                "flip": data[:-1] + bytes([data[-1] ^ 1])}[damage]
        with open(path, "wb") as f:
            f.write(data)
    with pytest.warns(CheckpointWarning, match=rf"epoch-000003.{name}.*epoch 2 instead"):
        resumed = LAVEncoder(checkpoint=tmp_path, **{**FAST, "max_epochs": 3}).fit(VIDEOS)
    _assert_identical(resumed, uninterrupted[3])  # epoch 3 trained again, exactly
    with warnings.catch_warnings():  # the damaged epoch was rewritten
        warnings.simplefilter("error")
        LAVEncoder(checkpoint=tmp_path, **{**FAST, "max_epochs": 3}).fit(VIDEOS)


def test_no_intact_checkpoint_is_a_clear_error_naming_the_file(tmp_path):
    folder = LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS).checkpoint_dir_
    for epoch in (1, 2):
        with open(os.path.join(folder, f"epoch-00000{epoch}", "params.pt"), "r+b") as f:
            f.truncate(100)
    with pytest.raises(CheckpointError, match=r"epoch-000002.params\.pt' is damaged.*epoch-000001.params\.pt"):
        LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS)


def test_foreign_and_damaged_bookkeeping_files(tmp_path, uninterrupted):
    other = LAVEncoder(checkpoint=tmp_path, **{**FAST, "max_epochs": 3, "lr": 5e-4}).fit(VIDEOS)
    folder = LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS).checkpoint_dir_
    assert other.checkpoint_dir_ != folder
    # another fit's epoch copied in: refused by name, the fit's own epoch 2 used
    shutil.copytree(os.path.join(other.checkpoint_dir_, "epoch-000003"), os.path.join(folder, "epoch-000003"))
    with pytest.warns(CheckpointWarning, match="epoch-000003.manifest.json' belongs to another fit"):
        resumed = LAVEncoder(checkpoint=tmp_path, **{**FAST, "max_epochs": 3}).fit(VIDEOS)
    _assert_identical(resumed, uninterrupted[3])
    # a damaged pointer: the epoch folders are still verified one by one
    with open(os.path.join(folder, "latest"), "wb") as f:
        f.write(b"\x00garbage")
    with pytest.warns(CheckpointWarning, match="pointer .*latest' is damaged"):
        LAVEncoder(checkpoint=tmp_path, **{**FAST, "max_epochs": 3}).fit(VIDEOS)
    with open(os.path.join(folder, "fingerprint.json"), "w") as f:
        f.write('{"key": "0123456789abcdef"}')
    with pytest.raises(CheckpointError, match="fingerprint.json' belongs to another fit"):
        LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS)
    with open(os.path.join(folder, "fingerprint.json"), "w") as f:
        f.write('{"key": ')
    with pytest.raises(CheckpointError, match="fingerprint.json' is damaged"):
        LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS)


@pytest.mark.slow
def test_a_sigkill_mid_fit_leaves_a_resumable_checkpoint(tmp_path):
    """A real SIGKILL of a fitting process, timed to land while checkpoints are written."""
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        import numpy as np
        from sklav import LAVEncoder
        from sklav.encoders import _checkpoint

        write = _checkpoint._write
        def slow_write(path, data):  # widen the window in which the kill lands mid-checkpoint
            write(path, data)
            time.sleep(0.02)
        _checkpoint._write = slow_write
        rng = np.random.default_rng(0)
        videos = [np.cumsum(rng.normal(size=(12 + 3 * i, 4)), 0).astype(np.float32) for i in range(5)]
        LAVEncoder(checkpoint=sys.argv[1], **{{**{FAST!r}, "max_epochs": 10_000}}).fit(videos)
    """))
    root = tmp_path / "checkpoints"
    import sklav

    here = os.path.dirname(os.path.dirname(os.path.abspath(sklav.__file__)))  # the sklav under test
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, str(script), str(root)], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            folders = list(root.glob("fit-*/epoch-*"))
            if len(folders) >= 2 and max(int(f.name[6:]) for f in folders) >= 3:
                break
            time.sleep(0.01)
        time.sleep(0.05)
        process.kill()
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    done = max(int(f.name[6:]) for f in root.glob("fit-*/epoch-*"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no damaged checkpoint to warn about
        resumed = LAVEncoder(checkpoint=root, **{**FAST, "max_epochs": done + 1}).fit(VIDEOS)
    assert resumed.n_epochs_trained_ == done + 1
    _assert_identical(resumed, LAVEncoder(**{**FAST, "max_epochs": done + 1}).fit(VIDEOS))
    assert not [n for n in os.listdir(resumed.checkpoint_dir_) if n.startswith(".tmp-")]


# ----------------------------------------------------------------------
# one checkpoint folder, many fits


def test_grid_search_with_one_checkpoint_folder_trains_every_fold(tmp_path):
    def search():
        return GridSearchCV(
            LAVEncoder(checkpoint=tmp_path, callbacks=[_EpochCounter()], **FAST), {"lr": [1e-4, 1e-1]},
            scoring=KendallTauScorer(), cv=2, refit=False,
        ).fit(VIDEOS)

    _EpochCounter.epochs = 0
    first = search()
    assert _EpochCounter.epochs == 2 * 2 * 2  # candidates x folds x epochs: nothing reloaded
    scores = first.cv_results_["split0_test_score"]
    assert scores[0] != scores[1]
    assert len(os.listdir(tmp_path)) == 4  # one sub-folder per (candidate, fold)
    _EpochCounter.epochs = 0
    again = search()  # the same fits: every one resumes its own finished checkpoint
    assert _EpochCounter.epochs == 0
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"], first.cv_results_["mean_test_score"])


def test_new_data_on_the_same_folder_starts_fresh(tmp_path):
    a = LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS)
    changed = [v.copy() for v in VIDEOS]
    changed[0][0, 0] += 1.0
    b = LAVEncoder(checkpoint=tmp_path, **FAST).fit(changed)
    c = LAVEncoder(checkpoint=tmp_path, **FAST).fit(VIDEOS, pair_groups=[0, 0, 1, 1, 1])
    assert len({a.checkpoint_dir_, b.checkpoint_dir_, c.checkpoint_dir_}) == 3
    _assert_identical(b, LAVEncoder(**FAST).fit(changed))


def test_checkpoint_true_does_not_leak_temporary_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def ours():
        return [name for name in os.listdir(tmp_path) if name.startswith("sklav-checkpoint-")]

    for _ in range(3):
        encoder = LAVEncoder(checkpoint=True, **FAST).fit(VIDEOS)
        assert encoder.checkpoint_dir_ is None
    with pytest.raises(ValueError):
        LAVEncoder(checkpoint=True, **FAST).fit([VIDEOS[0], np.full_like(VIDEOS[1], np.nan)])
    assert ours() == []
    _Interrupt.armed = True
    with pytest.warns(TrainingInterruptedWarning, match="checkpoint="):
        kept = LAVEncoder(checkpoint=True, callbacks=[_Interrupt(epoch=2)], **FAST).fit(VIDEOS)
    assert os.path.isdir(kept.checkpoint_dir_) and len(ours()) == 1  # kept to resume
    shutil.rmtree(os.path.dirname(kept.checkpoint_dir_))
    _Interrupt.armed = True
    with pytest.warns(TrainingInterruptedWarning) as record:  # before any checkpoint: nothing to keep
        early = LAVEncoder(checkpoint=True, callbacks=[_Interrupt(epoch=1)], **FAST).fit(VIDEOS)
    assert early.checkpoint_dir_ is None and ours() == []
    assert "resume" not in str(record[0].message)


# ----------------------------------------------------------------------
# Ctrl-C


@pytest.mark.parametrize("how", ["raise", "sigint"])
def test_ctrl_c_warns_marks_the_estimator_and_leaves_a_resumable_checkpoint(tmp_path, uninterrupted, how):
    params = dict(checkpoint=tmp_path, callbacks=[_Interrupt(epoch=3, how=how)], **{**FAST, "max_epochs": 4})
    _Interrupt.armed = True
    with pytest.warns(TrainingInterruptedWarning, match=r"after 2 complete epoch\(s\).*checkpoint="):
        encoder = LAVEncoder(**params).fit(VIDEOS)
    assert encoder.interrupted_ is True and encoder.n_epochs_trained_ == 2 and len(encoder.history_) == 2
    encoder.transform(VIDEOS)  # usable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = LAVEncoder(**params).fit(VIDEOS)  # the same fit: resumes from epoch 2
    assert resumed.interrupted_ is False and resumed.n_epochs_trained_ == 4
    _assert_identical(resumed, uninterrupted[4])


def test_ctrl_c_without_checkpoints_still_warns():
    _Interrupt.armed = True
    with pytest.warns(TrainingInterruptedWarning) as record:
        encoder = LAVEncoder(callbacks=[_Interrupt(epoch=1)], **FAST).fit(VIDEOS)
    assert "resume" not in str(record[0].message)
    assert encoder.interrupted_ and encoder.n_epochs_trained_ == 0
