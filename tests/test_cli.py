"""The ``sklav`` command line, end to end on tiny inputs written by the tests."""

import os
import shutil
import signal
import subprocess
import sys
import time

import joblib
import numpy as np
import pytest
import torch

from sklav import LAVEncoder, load
from sklav.cli import main
from sklav.cli._outputs import unique_keys

TINY_FIT = ["--epochs", "2", "--num-frames", "6", "--seed", "0", "--quiet",
            "-p", "hidden_dim=16", "-p", "embedding_dim=8", "-p", "context_stride=2"]


def _features(rng, n_frames, n_features=5):
    t = np.linspace(0, 1, n_frames)[:, None]
    return (np.sin(3 * t + np.arange(n_features)) + 0.05 * rng.normal(size=(n_frames, n_features))).astype(
        np.float32
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Four feature videos as .npy files and a model fitted on them by ``sklav fit``."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    paths = []
    for i, n in enumerate((18, 22, 20, 25)):
        path = root / f"video{i}.npy"
        np.save(path, _features(rng, n))
        paths.append(str(path))
    model = root / "model.sklav"
    assert main(["fit", *paths, "-o", str(model), *TINY_FIT]) == 0
    return root, paths, str(model)


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "nothing on stderr"
    assert err[-1].startswith("sklav: error: "), err
    return err[-1]


# --------------------------------------------------------------------------
# fit / embed / align on .npy features


def test_fit_writes_a_fitted_encoder(workdir):
    _, _, model = workdir
    encoder = load(model)  # the safe model format
    assert isinstance(encoder, LAVEncoder)
    assert encoder.max_epochs == 2 and encoder.hidden_dim == 16 and encoder.random_state == 0
    assert encoder.frame_shape_ == (5,)
    assert len(encoder.history_) == 2


def _reported_keys(out):
    """``key: path -> shape`` lines printed by ``sklav embed``, as {key: path}."""
    return dict(line.split(" -> ")[0].split(": ", 1) for line in out.splitlines() if " -> " in line)


def test_embed_writes_one_array_per_video_with_unique_keys(workdir, capsys):
    root, paths, model = workdir
    (root / "other").mkdir(exist_ok=True)
    other = root / "other" / "video0.npy"  # same base name, other content
    shutil.copy(paths[2], other)
    out = root / "emb.npz"
    status = main(["embed", model, paths[0], paths[1], str(other), "-o", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    expected = load(model).transform([np.load(p) for p in (paths[0], paths[1], other)])
    with np.load(out) as z:
        assert sorted(z.files) == ["video0", "video0_2", "video1"]
        for key, e in zip(["video0", "video1", "video0_2"], expected):
            np.testing.assert_allclose(z[key], e, rtol=1e-5, atol=1e-6)
        assert z["video0"].shape == (18, 8) and z["video0_2"].shape == (20, 8)
    assert _reported_keys(printed) == {"video0": paths[0], "video1": paths[1], "video0_2": str(other)}
    assert f"Wrote 3 embedding array(s) to {out}" in printed


def test_embed_any_file_name_is_a_key(workdir, tmp_path, capsys):
    # numpy.savez(path, **arrays) lost 'allow_pickle' and crashed on 'file'
    root, paths, model = workdir
    names = ["allow_pickle", "file", "args", "kwds", "video0"]
    inputs = []
    for name, source in zip(names, paths + paths[:1]):
        (tmp_path / name).mkdir()
        inputs.append(str(shutil.copy(source, tmp_path / name / f"{name}.npy")))
    out = tmp_path / "names.npz"
    assert main(["embed", model, *inputs, "-o", str(out)]) == 0
    reported = _reported_keys(capsys.readouterr().out)
    with np.load(out) as z:
        assert sorted(z.files) == sorted(names) == sorted(reported)
        for name, path in reported.items():
            assert len(z[name]) == len(np.load(path))


def test_embed_output_name(workdir, tmp_path, capsys):
    _, paths, model = workdir
    # exactly the given name, or an error: never 'x.txt.npz' reported as 'x.txt'
    for name in ("x.txt", "noext"):
        assert main(["embed", model, paths[0], "-o", str(tmp_path / name)]) == 2
        assert f"the embeddings file '{tmp_path / name}' must end in .npz" in _error_line(capsys)
    assert list(tmp_path.iterdir()) == []
    nested = tmp_path / "new" / "sub" / "E.NPZ"  # missing folders are created
    assert main(["embed", model, paths[0], "-o", str(nested)]) == 0
    assert f"to {nested}" in capsys.readouterr().out
    with np.load(nested) as z:
        assert z.files == ["video0"]


def test_embed_existing_output_needs_force(workdir, tmp_path, capsys):
    _, paths, model = workdir
    out = tmp_path / "e.npz"
    out.write_bytes(b"precious")
    assert main(["embed", model, paths[0], "-o", str(out)]) == 2
    assert f"the embeddings file '{out}' exists; use --force to replace it." in _error_line(capsys)
    assert out.read_bytes() == b"precious"
    assert main(["embed", model, paths[0], "-o", str(out), "--force"]) == 0
    with np.load(out) as z:
        assert z.files == ["video0"]
    # never onto an input, even with --force
    renamed = tmp_path / "model.npz"
    shutil.copy(model, renamed)
    assert main(["embed", str(renamed), paths[0], "-o", str(renamed), "--force"]) == 2
    assert f"'{renamed}' is the input '{renamed}'; refusing to overwrite it." in _error_line(capsys)
    assert renamed.read_bytes() == open(model, "rb").read()
    assert main(["embed", model, paths[0], "-o", str(tmp_path)]) == 2
    assert "is a folder" in _error_line(capsys)


def test_unique_keys():
    assert unique_keys(["a/x.npy", "b/x.npy", "x.mp4", "y.npy"]) == ["x", "x_2", "x_3", "y"]
    assert unique_keys(["a/x.npy", "b/x.npy", "x_2.npy", "/"]) == ["x", "x_2", "x_2_2", "video"]


def test_align_prints_the_correspondence_table_and_saves_a_figure(workdir, capsys):
    root, paths, model = workdir
    figure = root / "figs" / "align.png"
    assert main(["align", model, paths[0], paths[1], "-o", str(figure)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["frame_A", "frame_B"])
    rows = [line.split() for line in lines[header + 1 : header + 1 + 22]]
    assert [int(r[1]) for r in rows] == list(range(22))  # one row per frame of B
    frames_a = [int(r[0]) for r in rows]
    assert frames_a == sorted(frames_a) and 0 <= min(frames_a) and max(frames_a) < 18
    assert figure.is_file() and figure.stat().st_size > 1000


def test_align_a_video_with_itself_flags_nothing(workdir, capsys):
    root, paths, model = workdir
    assert main(["align", model, paths[1], paths[1], "-o", str(root / "self.png")]) == 0
    assert "0 of 22 frames of B flagged." in capsys.readouterr().out


def test_align_with_calibration(workdir, capsys):
    root, paths, model = workdir
    status = main(["align", model, paths[0], paths[1], "--calibration", paths[2], paths[3],
                   "-o", str(root / "cal.png"), "--threshold", "2.5"])
    assert status == 0
    out = capsys.readouterr().out
    assert "2 calibration video(s)" in out and "deviation > 2.5" in out


def test_pipeline_model_is_accepted(workdir, capsys):
    from sklearn.pipeline import Pipeline
    from sklav import PhaseClassifier

    root, paths, model = workdir
    pipe = Pipeline([("lav", load(model)), ("clf", PhaseClassifier())])
    path = root / "pipe.joblib"
    joblib.dump(pipe, path)
    for command in (["embed", str(path), paths[2], "-o", str(root / "p.npz")], ["align", str(path), *paths[:2]]):
        assert main(command) == 2  # a pickle file is loaded only when trusted
        line = _error_line(capsys)
        assert f"'{path}' is not an sklav model file but a pickle" in line and "--trust-pickle" in line
    assert not (root / "p.npz").exists()
    assert main(["embed", str(path), paths[2], "-o", str(root / "p.npz"), "--trust-pickle"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sklav: warning: loading '{path}' with joblib (--trust-pickle)")
    with np.load(root / "p.npz") as z:
        assert z["video2"].shape == (20, 8)
    assert main(["align", str(path), *paths[:2], "--trust-pickle", "-o", str(root / "p.png")]) == 0
    assert capsys.readouterr().err.startswith("sklav: warning: ")


def test_trust_pickle_loads_a_model_file_safely_without_a_warning(workdir, capsys):
    root, paths, model = workdir
    assert main(["embed", model, paths[2], "-o", str(root / "t.npz"), "--trust-pickle"]) == 0
    assert capsys.readouterr().err == ""


def test_old_joblib_model_needs_trust_pickle(workdir, tmp_path, capsys):
    _, paths, model = workdir
    old = tmp_path / "model.joblib"  # what sklav fit wrote before model files
    joblib.dump(load(model), old)
    assert main(["align", str(old), *paths[:2]]) == 2
    assert "--trust-pickle" in _error_line(capsys)
    assert main(["align", str(old), *paths[:2], "--trust-pickle", "-o", str(tmp_path / "a.png")]) == 0


# --------------------------------------------------------------------------
# fit's output: checked before training, written atomically, interruptions


@pytest.fixture
def fake_fit(monkeypatch, workdir):
    """LAVEncoder.fit replaced by ``behaviour(encoder)``, after taking the fitted attributes
    of the workdir's model (so that it saves; it loads back under TINY_FIT's parameters);
    the list of calls is returned."""
    calls = []
    fitted = load(workdir[2])

    def install(behaviour=lambda encoder: None):
        def fit(self, X, y=None, **params):
            calls.append(self)
            vars(self).update({k: v for k, v in vars(fitted).items() if k.endswith("_") or k.startswith("_")})
            behaviour(self)
            return self

        monkeypatch.setattr(LAVEncoder, "fit", fit)
        return calls

    return install


def _no_temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_fit_output_exists_needs_force(workdir, tmp_path, capsys, fake_fit):
    _, paths, _ = workdir
    calls = fake_fit()
    out = tmp_path / "m.sklav"
    out.write_bytes(b"a good model")
    assert main(["fit", *paths[:2], "-o", str(out), "--quiet"]) == 2
    assert f"the model file '{out}' exists; use --force to replace it." in _error_line(capsys)
    assert out.read_bytes() == b"a good model" and calls == []  # checked before training
    assert main(["fit", *paths[:2], "-o", str(out), *TINY_FIT, "--force"]) == 0
    assert f"model written to {out}" in capsys.readouterr().out
    assert load(out).n_epochs_trained_ == 2 and _no_temp_files(tmp_path)
    nested = tmp_path / "new" / "sub" / "m.sklav"  # missing folders are created
    assert main(["fit", *paths[:2], "-o", str(nested), *TINY_FIT]) == 0
    assert load(nested).n_epochs_trained_ == 2


def test_fit_never_overwrites_an_input(workdir, tmp_path, capsys, fake_fit):
    _, paths, _ = workdir
    calls = fake_fit()
    video = tmp_path / "v.npy"
    shutil.copy(paths[0], video)
    before = video.read_bytes()
    for output in (str(video), str(tmp_path / "." / "v.npy")):
        assert main(["fit", str(video), paths[1], "-o", output, "--force", "--quiet"]) == 2
        assert "is the input" in _error_line(capsys)
    assert video.read_bytes() == before and calls == []


def test_fit_output_errors_before_training(workdir, tmp_path, capsys, fake_fit):
    _, paths, _ = workdir
    calls = fake_fit()
    for output, message in [
        (str(tmp_path), f"the model file '{tmp_path}' is a folder; give a file name."),
        ("/proc/sklav-nope/m.sklav", "cannot write the model file '/proc/sklav-nope/m.sklav' in the "
                                      "folder '/proc/sklav-nope'"),
        (f"{paths[0]}/m.sklav", f"cannot write the model file '{paths[0]}/m.sklav'"),
    ]:
        assert main(["fit", *paths[:2], "-o", output, "--quiet"]) == 2
        assert message in _error_line(capsys)
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(["fit", *paths[:2], "-o", str(locked / "m.sklav"), "--quiet"]) == 2
        assert "cannot write the model file" in _error_line(capsys)
    assert calls == []


def test_fit_invalid_parameter_is_one_line_before_reading_videos(workdir, capsys, fake_fit):
    _, paths, _ = workdir
    calls = fake_fit()
    assert main(["fit", paths[0], "missing.npy", "-p", "device=tpu", "-o", "unused.sklav"]) == 2
    line = _error_line(capsys)
    assert line.startswith("sklav: error: The 'device' parameter of LAVEncoder must be")
    assert "Got 'tpu' instead." in line and calls == []


def test_fit_failed_write_keeps_the_existing_model(workdir, tmp_path, capsys, fake_fit, monkeypatch):
    _, paths, _ = workdir
    fake_fit()
    out = tmp_path / "m.sklav"
    out.write_bytes(b"a good model")

    def save_then_fail(value, file):
        file.write(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_then_fail)
    assert main(["fit", *paths[:2], "-o", str(out), "--force", "--quiet"]) == 2
    assert (f"sklav: error: could not write the model file '{out}': No space left on device."
            == _error_line(capsys))
    assert out.read_bytes() == b"a good model" and _no_temp_files(tmp_path)


def _swallowed_sigint(encoder):
    try:  # what skorch does with Ctrl-C: stop training, return normally
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        pass


def _raise_keyboard_interrupt(encoder):
    raise KeyboardInterrupt


def _flag_interrupted(encoder):
    encoder.interrupted_, encoder.n_epochs_trained_ = True, 2


@pytest.mark.parametrize("behaviour", [_raise_keyboard_interrupt, _flag_interrupted, _swallowed_sigint])
def test_fit_interrupted_exits_130_and_keeps_the_existing_model(workdir, tmp_path, capsys, fake_fit,
                                                                behaviour):
    _, paths, _ = workdir
    fake_fit(behaviour)
    out = tmp_path / "m.sklav"
    out.write_bytes(b"a good model")
    assert main(["fit", *paths[:2], "-o", str(out), "--force", "--epochs", "10", "--quiet"]) == 130
    captured = capsys.readouterr()
    assert captured.err.startswith("sklav: interrupted") and "written" not in captured.out
    assert f"'{out}' not written; --checkpoint DIR makes a fit resumable." in captured.err
    if behaviour is _flag_interrupted:
        assert captured.err.startswith("sklav: interrupted after 2 of 10 epochs;")
    assert out.read_bytes() == b"a good model" and _no_temp_files(tmp_path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _interrupted_after_saving_epoch_1(encoder):
    folder = os.path.join(encoder.checkpoint, "fit-0123456789abcdef")
    os.makedirs(folder)
    with open(os.path.join(folder, "latest"), "w") as f:
        f.write("epoch-000001\n")
    encoder.interrupted_, encoder.n_epochs_trained_, encoder.checkpoint_dir_ = True, 2, folder


def test_fit_interrupted_with_checkpoint_says_how_to_resume(workdir, tmp_path, capsys, fake_fit):
    _, paths, _ = workdir
    calls = fake_fit(_interrupted_after_saving_epoch_1)
    status = main(["fit", *paths[:2], "-o", str(tmp_path / "m.sklav"), "--quiet",
                   "--checkpoint", str(tmp_path / "ckpt")])
    assert status == 130 and calls[0].checkpoint == str(tmp_path / "ckpt")
    # the epoch on disk, not the epochs trained (the second one's checkpoint was not complete)
    assert capsys.readouterr().err == (
        f"sklav: interrupted after 2 of 75 epochs; '{tmp_path / 'm.sklav'}' not written; the checkpoint "
        f"in '{tmp_path / 'ckpt'}' holds epoch 1: run the same command again to resume from it.\n")
    assert not (tmp_path / "m.sklav").exists()


def test_fit_interrupted_before_any_checkpoint_does_not_promise_one(workdir, tmp_path, capsys, fake_fit):
    _, paths, _ = workdir
    fake_fit(_flag_interrupted)
    assert main(["fit", *paths[:2], "-o", str(tmp_path / "m.sklav"), "--quiet",
                 "--checkpoint", str(tmp_path / "ckpt")]) == 130
    err = capsys.readouterr().err
    assert "no checkpoint was complete yet" in err and "resume" not in err


@pytest.mark.slow
@pytest.mark.parametrize("module", ["sklav", "sklav.cli"])
def test_fit_ctrl_c_in_a_real_process(workdir, tmp_path, module):
    _, paths, _ = workdir
    out = tmp_path / "m.sklav"
    out.write_bytes(b"a good model")
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "fit", *paths, "-o", str(out), "--force",
         *TINY_FIT[2:], "--epochs", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a test run started in the background of a shell inherits an ignored SIGINT: restore it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout.readline().startswith("Fitting LAVEncoder")
        # well into the training loop (skorch's epochs catch the Ctrl-C): twice in
        # about 30 loaded full-suite runs, a Ctrl-C sent 1 s after start-up left
        # the fit running (cause not yet traced)
        time.sleep(3.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.startswith("sklav: interrupted") and "Traceback" not in err
    assert out.read_bytes() == b"a good model" and _no_temp_files(tmp_path)


# --------------------------------------------------------------------------
# RGB: frame folders and video files


def _write_frames(folder, n_frames, size=(24, 32), seed=0):
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for t in range(n_frames):
        image = np.full(size + (3,), 10 * t, dtype=np.uint8) + rng.integers(0, 20, size + (3,), dtype=np.uint8)
        Image.fromarray(image).save(folder / f"{t + 1:06d}.png")


def _write_video(path, n_frames, size=(48, 64)):
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for t in range(n_frames):
            image = np.full(size + (3,), 12 * t, dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())


@pytest.mark.slow
def test_rgb_frame_folders_and_video_files(tmp_path, capsys):
    _write_frames(tmp_path / "clip_a", 8, seed=0)
    _write_frames(tmp_path / "clip_b", 10, seed=1)
    _write_video(tmp_path / "clip_c.mp4", 9)  # other size: resized to the first video's
    model = tmp_path / "rgb.sklav"
    status = main(["fit", str(tmp_path / "clip_a"), str(tmp_path / "clip_b"), str(tmp_path / "clip_c.mp4"),
                   "-o", str(model), "--epochs", "1", "--num-frames", "4", "--quiet",
                   "-p", "image_size=32", "-p", "hidden_dim=16", "-p", "embedding_dim=8",
                   "-p", "weights=None"])
    assert status == 0, capsys.readouterr().err
    assert load(model).frame_shape_ == (24, 32, 3)
    out = tmp_path / "rgb.npz"
    assert main(["embed", str(model), str(tmp_path / "clip_c.mp4"), str(tmp_path / "clip_a"),
                 "-o", str(out)]) == 0
    with np.load(out) as z:
        assert z["clip_c"].shape == (9, 8) and z["clip_a"].shape == (8, 8)
    assert main(["align", str(model), str(tmp_path / "clip_a"), str(tmp_path / "clip_c.mp4"),
                 "-o", str(tmp_path / "rgb.png")]) == 0


FOOTAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                       "real_footage", "videos")


@pytest.fixture(scope="module")
def pose_model(tmp_path_factory):
    """A tiny model fitted on the bundled Penn Action poses ((T, 13, 3): x, y, visible)."""
    from sklav.datasets import load_penn_action

    root = tmp_path_factory.mktemp("cli_poses")
    paths = []
    for i, video in enumerate(load_penn_action(actions="golf_swing").videos[:3]):
        paths.append(str(root / f"golf{i}.npy"))
        np.save(paths[-1], video)
    model = root / "poses.sklav"
    assert main(["fit", *paths, "-o", str(model), *TINY_FIT]) == 0
    return root, str(model)


@pytest.mark.skipif(not os.path.isdir(FOOTAGE), reason="real footage not found in ../shared")
def test_poses_flag_embeds_and_aligns_real_video_files(pose_model, capsys):
    pytest.importorskip("mediapipe")
    root, model = pose_model
    clip, other = os.path.join(FOOTAGE, "street_5_frames.mp4"), os.path.join(FOOTAGE, "two_people_room.mp4")
    out = root / "poses.npz"
    assert main(["embed", model, clip, other, "-o", str(out), "--poses"]) == 0, capsys.readouterr().err
    with np.load(out) as z:
        assert z["street_5_frames"].shape == (5, 8) and z["two_people_room"].shape == (72, 8)
        assert np.isfinite(z["two_people_room"]).all()  # frames without a person embed too
    capsys.readouterr()
    assert main(["align", model, other, clip, "-o", str(root / "poses.png"), "--poses"]) == 0
    printed = capsys.readouterr().out
    assert "B = " in printed and "(5 frames)" in printed and "of 5 frames of B flagged" in printed
    # without --poses an RGB video does not fit a pose model
    assert main(["embed", model, clip, "-o", str(root / "rgb.npz")]) == 2
    assert "fitted on poses" in _error_line(capsys)


def test_poses_flag_needs_a_pose_model(workdir, capsys):
    _, paths, model = workdir  # fitted on features
    assert main(["embed", model, paths[0], "-o", "never.npz", "--poses"]) == 2
    assert "--poses extracts poses, but the model was fitted on features" in _error_line(capsys)


# --------------------------------------------------------------------------
# errors: one line on stderr, exit status 2


def test_missing_model_file(workdir, capsys):
    _, paths, _ = workdir
    assert main(["embed", "no-such-model.joblib", paths[0]]) == 2
    assert "no such model file: 'no-such-model.joblib'" in _error_line(capsys)


@pytest.mark.parametrize("content, message", [
    (b"this is not a pickle", "joblib could not load it"),
    (b"PK\x03\x04 a truncated zip", "joblib could not load it"),
    ("dict", "it holds a dict, not a fitted LAVEncoder"),
    ("unfitted", "never fitted"),
    ("pipeline", "Pipeline without a LAVEncoder"),
])
def test_file_that_is_not_an_sklav_model(workdir, tmp_path, capsys, content, message):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    _, paths, _ = workdir
    path = tmp_path / "model.joblib"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        joblib.dump({"dict": {"a": 1}, "unfitted": LAVEncoder(),
                     "pipeline": Pipeline([("scale", StandardScaler())])}[content], path)
    assert main(["align", str(path), paths[0], paths[1]]) == 2
    assert f"'{path}' is not an sklav model file" in _error_line(capsys)  # refused, never unpickled
    assert main(["align", str(path), paths[0], paths[1], "--trust-pickle"]) == 2
    line = _error_line(capsys)
    assert str(path) in line and message in line


def test_damaged_model_file(workdir, tmp_path, capsys):
    _, paths, model = workdir
    damaged = tmp_path / "damaged.sklav"
    data = open(model, "rb").read()
    damaged.write_bytes(data[:100] + bytes(200) + data[300:])  # the zip index intact, a record not
    assert main(["embed", str(damaged), paths[0], "-o", str(tmp_path / "e.npz")]) == 2
    line = _error_line(capsys)
    assert f"'{damaged}'" in line and "damaged" in line and "weights_only" not in line


def test_missing_video(workdir, capsys):
    _, paths, model = workdir
    assert main(["embed", model, paths[0], "missing.npy"]) == 2
    assert "no such file or folder: 'missing.npy'" in _error_line(capsys)


def test_unreadable_video_file(workdir, tmp_path, capsys):
    _, _, model = workdir
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    assert main(["embed", model, str(bad)]) == 2
    assert "broken.mp4" in _error_line(capsys)


def test_unreadable_array_and_wrong_shapes(workdir, tmp_path, capsys):
    # what sklav.datasets.load_video rejects is tested in test_datasets.py; here, that
    # its errors become one error line, and the CLI's own check against the model
    _, paths, model = workdir
    (tmp_path / "junk.npy").write_bytes(b"junk")
    assert main(["embed", model, str(tmp_path / "junk.npy")]) == 2
    assert "could not read the array file" in _error_line(capsys)
    np.save(tmp_path / "wide.npy", np.zeros((7, 9)))
    assert main(["embed", model, str(tmp_path / "wide.npy")]) == 2
    assert "model was fitted on features of shape (5,)" in _error_line(capsys)
    assert main(["fit", paths[0], str(tmp_path / "wide.npy"), "-o", str(tmp_path / "m.sklav")]) == 2
    assert "the videos' per-frame shapes differ" in _error_line(capsys)


def test_empty_frame_folder(workdir, tmp_path, capsys):
    _, _, model = workdir
    (tmp_path / "empty").mkdir()
    assert main(["embed", model, str(tmp_path / "empty")]) == 2
    assert "holds no frame images" in _error_line(capsys)


def test_fit_errors(workdir, tmp_path, capsys):
    _, paths, _ = workdir
    assert main(["fit", paths[0], "-o", str(tmp_path / "m.sklav")]) == 2
    assert "at least 2 videos" in _error_line(capsys)
    assert main(["fit", *paths[:2], "-p", "no_such_param=1", "-o", str(tmp_path / "m.sklav")]) == 2
    assert "unknown LAVEncoder parameter(s) ['no_such_param']" in _error_line(capsys)
    assert main(["fit", *paths[:2], "--num-frames", "0", "-o", str(tmp_path / "m.sklav")]) == 2
    assert "error: The 'num_frames' parameter of LAVEncoder must be an int" in _error_line(capsys)
    assert not (tmp_path / "m.sklav").exists()


def test_fit_failure_is_one_line(workdir, tmp_path, capsys, fake_fit):
    _, paths, _ = workdir

    def fail(encoder):
        raise FloatingPointError("non-finite loss at epoch 3\n(lower lr)")

    fake_fit(fail)
    assert main(["fit", *paths[:2], "-o", str(tmp_path / "m.sklav"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == "sklav: error: could not fit: non-finite loss at epoch 3 (lower lr)\n"
    assert list(tmp_path.iterdir()) == []


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["align", "only-a-model"])
    assert exit_info.value.code == 2
    assert "sklav align: error: the following arguments are required" in capsys.readouterr().err


def test_console_entry_point_runs_as_a_process(workdir):
    _, paths, _ = workdir
    proc = subprocess.run([sys.executable, "-m", "sklav.cli", "embed", "nope.joblib", paths[0]],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "sklav: error: no such model file: 'nope.joblib'"
    script = shutil.which("sklav")
    if script is not None:
        version = subprocess.run([script, "--version"], capture_output=True, text=True)
        assert version.returncode == 0 and version.stdout.startswith("sklav ")


def test_align_argument_errors(workdir, capsys):
    _, paths, model = workdir
    for option, value, message in [
        ("--gamma", "0", "argument --gamma: expected a positive number, got '0'"),
        ("--gamma", "nan", "argument --gamma: expected a positive number, got 'nan'"),
        ("--threshold", "nan", "argument --threshold: expected a finite number, got 'nan'"),
        ("--threshold", "inf", "argument --threshold: expected a finite number, got 'inf'"),
        ("--fps", "-1", "argument --fps: expected a positive number, got '-1'"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["align", model, paths[0], paths[1], option, value])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_align_figure_format_from_its_name(workdir, tmp_path, capsys, monkeypatch):
    _, paths, model = workdir
    for name, got in [("f.npy", "not '.npy'"), ("figure", "it has no extension")]:
        assert main(["align", model, paths[0], paths[1], "-o", str(tmp_path / name)]) == 2
        line = _error_line(capsys)
        assert f"the figure '{tmp_path / name}' must end in one of " in line and ".png" in line
        assert got in line
    assert list(tmp_path.iterdir()) == []
    figure = tmp_path / "new" / "a.SVG"
    assert main(["align", model, paths[0], paths[1], "-o", str(figure)]) == 0
    assert f"Figure saved to {figure}" in capsys.readouterr().out
    assert b"<svg" in figure.read_bytes()[:1000] and _no_temp_files(figure.parent)


def test_demo_output_dir_checked_before_computing(tmp_path, capsys, monkeypatch):
    import sklav.datasets

    def no_data(*args, **kwargs):
        raise AssertionError("the demo loaded its data before checking --output-dir")

    monkeypatch.setattr(sklav.datasets, "load_penn_action", no_data)
    (tmp_path / "file").write_text("not a folder")
    for folder in ("/proc/sklav-nope", str(tmp_path / "file")):
        assert main(["demo", "--quick", "--output-dir", folder]) == 2
        assert f"cannot write the figure '{folder}/sklav_demo_alignment.png'" in _error_line(capsys)


@pytest.mark.slow
def test_demo_quick(tmp_path, capsys):
    assert main(["demo", "--quick", "--quiet", "--output-dir", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    table = {}
    for metric in ("phase classification accuracy", "phase progression R^2", "Kendall's tau",
                   "frame retrieval AP@5"):
        line = next(line for line in out.splitlines() if line.startswith(metric))
        table[metric] = [float(v) for v in line.split()[-2:]]  # raw joints, LAV
    for metric in ("phase classification accuracy", "frame retrieval AP@5"):
        assert all(0 <= v <= 1 for v in table[metric])
    raw_tau, lav_tau = table["Kendall's tau"]
    assert lav_tau > raw_tau + 0.1  # even two epochs learn the temporal order raw joints lack
    figure = tmp_path / "figs" / "sklav_demo_alignment.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 1000
