"""Faults met by real ``sklav`` processes: signals, reruns, clashing paths, FIFOs, leftovers.

Each test starts the command as a user would (``python -m sklav``), acts on
it from outside (a signal, a FIFO, a second run) and then inspects what it
printed, its exit status and what it left on disk.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sklav import LAVEncoder
from sklav.encoders import TrainingInterruptedWarning
from sklav.encoders._checkpoint import CheckpointStore

TINY = ["--num-frames", "6", "--seed", "0", "--quiet", "-p", "hidden_dim=16", "-p", "embedding_dim=8",
        "-p", "context_stride=2"]


def _videos(folder, n=4):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        np.save(folder / f"v{i}.npy", np.cumsum(rng.normal(size=(20 + 3 * i, 5)), 0).astype(np.float32))
    return folder


def _sklav(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "sklav", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def _start(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "sklav", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
        # a test run in the background of a shell inherits an ignored SIGINT: restore it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for(predicate, proc, seconds=120):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _leftovers(root):
    """Temporary files and folders anywhere under ``root``."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*")
                  if p.name.endswith(".tmp") or p.name.startswith(".tmp-"))


def _latest(checkpoint):
    pointers = list(Path(checkpoint).glob("fit-*/latest"))
    return int(pointers[0].read_text().strip().split("-")[1]) if pointers else None


# --------------------------------------------------------------------------
# stop signals


@pytest.mark.slow
@pytest.mark.parametrize("signum, status, words", [
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    (signal.SIGHUP, 129, "hung up (SIGHUP)"),
    (signal.SIGINT, 130, "interrupted"),
])
def test_a_stop_signal_keeps_the_last_checkpoint_and_leaves_no_temporary_file(tmp_path, signum, status, words):
    videos, checkpoint, model = _videos(tmp_path / "videos"), tmp_path / "ck", tmp_path / "m.sklav"
    proc = _start("fit", videos, "-o", model, "--checkpoint", checkpoint, "--epochs", "100000", *TINY)
    try:
        _wait_for(lambda: (_latest(checkpoint) or 0) >= 2, proc)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    assert err.count("\n") == 1 and err.startswith(f"sklav: {words} after "), err
    saved = _latest(checkpoint)
    assert f"holds epoch {saved}: run the same command again to resume from it." in err
    assert "Traceback" not in err and not model.exists() and _leftovers(tmp_path) == []
    # the checkpoint on disk is complete: a fit of that many epochs resumes from it and trains nothing
    resumed = LAVEncoder(num_frames=6, random_state=0, hidden_dim=16, embedding_dim=8, context_stride=2,
                         max_epochs=saved, checkpoint=str(checkpoint), verbose=0)
    resumed.fit([np.load(p) for p in sorted(videos.glob("*.npy"))])
    assert resumed.n_epochs_trained_ == saved


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 1.0])
def test_ctrl_c_during_start_up_prints_one_line_and_no_traceback(tmp_path, delay):
    videos = _videos(tmp_path / "videos")
    proc = _start("fit", videos, "-o", tmp_path / "m.sklav", "--epochs", "3", *TINY)
    time.sleep(delay)  # sklav's imports run (numpy, torch and scikit-learn take seconds)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.startswith("sklav: interrupted") and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.slow
def test_leftovers_of_a_killed_run_are_removed_at_the_next_start(tmp_path):
    videos, checkpoint, model = _videos(tmp_path / "videos"), tmp_path / "ck", tmp_path / "m.sklav"
    proc = _start("fit", videos, "-o", model, "--checkpoint", checkpoint, "--epochs", "100000", *TINY)
    try:
        _wait_for(lambda: (_latest(checkpoint) or 0) >= 1, proc)
    finally:
        proc.kill()  # kill -9: no handler runs
        proc.communicate()
    fit_folder = next(checkpoint.glob("fit-*"))
    (fit_folder / ".tmp-epoch-abandoned").mkdir()  # as a kill mid-write leaves them
    (fit_folder / ".latest.999999999.x.tmp").write_bytes(b"half")
    (tmp_path / ".m.sklav.999999999.y.tmp").write_bytes(b"half a model")
    done = _sklav("fit", videos, "-o", model, "--checkpoint", checkpoint, "--epochs", str(_latest(checkpoint) + 1),
                  *TINY)
    assert done.returncode == 0, done.stderr
    assert _leftovers(tmp_path) == [] and model.exists()


# --------------------------------------------------------------------------
# paths


@pytest.mark.slow
def test_a_checkpoint_folder_inside_the_video_folder_is_not_read_as_a_video(tmp_path):
    videos = _videos(tmp_path / "videos")
    model = tmp_path / "m.sklav"
    args = ["fit", videos, "-o", model, "--checkpoint", videos / "ck", "--epochs", "2", *TINY]
    first = _sklav(*args)
    assert first.returncode == 0, first.stderr
    model.unlink()  # as after an interrupted run: the same command again
    again = _sklav(*args)
    assert again.returncode == 0, again.stderr
    assert "Fitting LAVEncoder on 4 videos" in again.stdout
    assert f"Passing over '{videos / 'ck'}'" in again.stdout


@pytest.mark.parametrize("args, message", [
    (["-o", "X", "--checkpoint", "X"], "overlap; give -o and --checkpoint different paths."),
    (["-o", "ck/m.sklav", "--checkpoint", "ck"], "overlap; give -o and --checkpoint different paths."),
    (["--checkpoint", ""], "--checkpoint is an empty path (an unset shell variable?)"),
    (["--checkpoint", "a-file"], "is a file; give a folder"),
])
def test_clashing_or_empty_paths_are_refused_before_any_work(tmp_path, args, message):
    _videos(tmp_path / "videos")
    (tmp_path / "a-file").write_text("not a folder")
    done = _sklav("fit", "videos", *args, "--epochs", "1", *TINY, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Fitting" not in done.stdout


@pytest.mark.parametrize("name", ["fifo.npy", "fifo.mp4"])
def test_a_fifo_given_as_a_video_is_refused_not_read_forever(tmp_path, name):
    videos = _videos(tmp_path / "videos", n=2)
    os.mkfifo(tmp_path / name)
    done = _sklav("fit", videos / "v0.npy", tmp_path / name, "--epochs", "1", "-o", tmp_path / "m.sklav",
                  *TINY, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"'{tmp_path / name}' is not a regular file or folder (a FIFO, socket or device)" in done.stderr


def test_checkpoint_empty_string_is_refused_in_the_api(tmp_path):
    videos = [np.random.default_rng(i).normal(size=(20, 3)) for i in range(3)]
    with pytest.raises(ValueError, match="empty path"):
        LAVEncoder(checkpoint="", max_epochs=1, num_frames=4).fit(videos)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_checkpoint_folder_is_refused_before_training(tmp_path):
    folder = tmp_path / "ck"
    folder.mkdir(mode=0o500)
    videos = [np.random.default_rng(i).normal(size=(20, 3)) for i in range(3)]
    with pytest.raises(ValueError, match=f"checkpoint='{folder}' cannot be used as a folder: Permission denied"):
        LAVEncoder(checkpoint=str(folder), max_epochs=1, num_frames=4).fit(videos)


def test_a_nan_names_the_file_not_x_index(tmp_path):
    videos = _videos(tmp_path / "videos", n=3)
    bad = np.load(videos / "v1.npy")
    bad[3, 2] = np.nan
    np.save(videos / "v1.npy", bad)
    done = _sklav("fit", videos, "-o", tmp_path / "m.sklav", "--epochs", "1", *TINY, timeout=120)
    assert done.returncode == 2 and str(videos / "v1.npy") in done.stderr, done.stderr
    assert "X[" not in done.stderr


# --------------------------------------------------------------------------
# the checkpoint store


def _fit(checkpoint, epochs):
    videos = [np.cumsum(np.random.default_rng(i).normal(size=(20 + i, 3)), 0) for i in range(3)]
    return LAVEncoder(checkpoint=str(checkpoint), max_epochs=epochs, num_frames=4, hidden_dim=8,
                      embedding_dim=4, random_state=0).fit(videos)


def _epoch_folders(checkpoint):
    return sorted(p.name for p in Path(checkpoint).glob("fit-*/epoch-*"))


def test_a_shorter_rerun_leaves_no_epochs_past_its_own(tmp_path):
    _fit(tmp_path / "ck", 4)
    assert _epoch_folders(tmp_path / "ck") == ["epoch-000003", "epoch-000004"]
    shutil.rmtree(next((tmp_path / "ck").glob("fit-*/epoch-000003")))  # nothing at or below 2 to resume
    _fit(tmp_path / "ck", 2)
    assert _epoch_folders(tmp_path / "ck") == ["epoch-000001", "epoch-000002"]


def test_checkpoint_files_get_the_modes_of_new_files(tmp_path):
    previous = os.umask(0o022)
    try:
        _fit(tmp_path / "ck", 1)
    finally:
        os.umask(previous)
    epoch = next((tmp_path / "ck").glob("fit-*/epoch-*"))
    assert epoch.stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in epoch.iterdir()} == {0o644}
    assert (epoch.parent / "latest").stat().st_mode & 0o777 == 0o644


def test_a_kill_while_pruning_never_leaves_a_half_deleted_epoch(tmp_path, monkeypatch):
    _fit(tmp_path / "ck", 2)
    real_rmtree = shutil.rmtree

    def rmtree_killed_midway(path, *args, **kwargs):
        files = sorted(Path(path).glob("*"))
        if files and Path(path).name.startswith(".tmp-delete-"):
            files[0].unlink()  # part of the folder is gone when the process dies
            raise KeyboardInterrupt
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree_killed_midway)
    with pytest.warns(TrainingInterruptedWarning):  # skorch turns the KeyboardInterrupt into a stop
        _fit(tmp_path / "ck", 3)  # saving epoch 3 prunes epoch 1
    monkeypatch.undo()
    folder = next((tmp_path / "ck").glob("fit-*"))
    store = CheckpointStore(str(tmp_path / "ck"), folder.name[4:], {})
    for epoch in store._epochs():
        store._read_verified(epoch)  # every folder under an epoch's name is complete
    assert [p.name for p in folder.iterdir() if p.name.startswith(".tmp-delete-")]  # what the next start removes
    _fit(tmp_path / "ck", 4)
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")]


def test_a_full_disk_names_the_checkpoint_folder_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno

    from sklav.encoders import _checkpoint

    _fit(tmp_path / "ck", 1)
    real_write = _checkpoint._write

    def full_disk(path, data):
        if "params.pt" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(_checkpoint, "_write", full_disk)
    with pytest.raises(OSError, match=r"could not write a checkpoint in '.*fit-\w+': No space left on device"):
        _fit(tmp_path / "ck", 2)
    monkeypatch.undo()
    assert _epoch_folders(tmp_path / "ck") == ["epoch-000001"] and _leftovers(tmp_path) == []


def test_a_stop_signal_waits_until_the_checkpoint_being_written_is_complete():
    from sklav.utils.signals import stops_deferred

    class Stop(Exception):
        pass

    def stop(signum, frame):
        raise Stop(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        steps = []
        with pytest.raises(Stop):
            with stops_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # Python runs handlers between bytecodes: time enough to be run
                steps.append("written")
        assert steps == ["written"] and signal.getsignal(signal.SIGTERM) is stop
    finally:
        signal.signal(signal.SIGTERM, previous)
