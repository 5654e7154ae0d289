"""The ``sklav`` command line, end to end on tiny inputs written by the tests."""

import shutil
import subprocess
import sys

import joblib
import numpy as np
import pytest

from sklav import LAVEncoder
from sklav.cli import main, unique_keys

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
    model = root / "model.joblib"
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
    encoder = joblib.load(model)
    assert isinstance(encoder, LAVEncoder)
    assert encoder.max_epochs == 2 and encoder.hidden_dim == 16 and encoder.random_state == 0
    assert encoder.frame_shape_ == (5,)
    assert len(encoder.history_) == 2


def test_embed_writes_one_array_per_video_with_unique_keys(workdir, capsys):
    root, paths, model = workdir
    (root / "other").mkdir(exist_ok=True)
    shutil.copy(paths[0], root / "other" / "video0.npy")
    out = root / "emb.npz"
    status = main(["embed", model, paths[0], paths[1], str(root / "other" / "video0.npy"),
                   "-o", str(out)])
    assert status == 0
    with np.load(out) as z:
        assert sorted(z.files) == ["video0", "video0_2", "video1"]
        assert z["video0"].shape == (18, 8)
        np.testing.assert_allclose(z["video0"], z["video0_2"])
    assert "Wrote 3 embedding array(s)" in capsys.readouterr().out


def test_unique_keys():
    assert unique_keys(["a/x.npy", "b/x.npy", "x.mp4", "y.npy"]) == ["x", "x_2", "x_3", "y"]


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
    pipe = Pipeline([("lav", joblib.load(model)), ("clf", PhaseClassifier())])
    path = root / "pipe.joblib"
    joblib.dump(pipe, path)
    assert main(["embed", str(path), paths[2], "-o", str(root / "p.npz")]) == 0
    with np.load(root / "p.npz") as z:
        assert z["video2"].shape == (20, 8)


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
    model = tmp_path / "rgb.joblib"
    status = main(["fit", str(tmp_path / "clip_a"), str(tmp_path / "clip_b"), str(tmp_path / "clip_c.mp4"),
                   "-o", str(model), "--epochs", "1", "--num-frames", "4", "--quiet",
                   "-p", "image_size=32", "-p", "hidden_dim=16", "-p", "embedding_dim=8",
                   "-p", "weights=None"])
    assert status == 0, capsys.readouterr().err
    assert joblib.load(model).frame_shape_ == (24, 32, 3)
    out = tmp_path / "rgb.npz"
    assert main(["embed", str(model), str(tmp_path / "clip_c.mp4"), str(tmp_path / "clip_a"),
                 "-o", str(out)]) == 0
    with np.load(out) as z:
        assert z["clip_c"].shape == (9, 8) and z["clip_a"].shape == (8, 8)
    assert main(["align", str(model), str(tmp_path / "clip_a"), str(tmp_path / "clip_c.mp4"),
                 "-o", str(tmp_path / "rgb.png")]) == 0


# --------------------------------------------------------------------------
# errors: one line on stderr, exit status 2


def test_missing_model_file(workdir, capsys):
    _, paths, _ = workdir
    assert main(["embed", "no-such-model.joblib", paths[0]]) == 2
    assert "no such model file: 'no-such-model.joblib'" in _error_line(capsys)


@pytest.mark.parametrize("content, message", [
    (b"this is not a pickle", "joblib could not load it"),
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
    line = _error_line(capsys)
    assert str(path) in line and message in line


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
    assert main(["fit", paths[0], str(tmp_path / "wide.npy"), "-o", str(tmp_path / "m.joblib")]) == 2
    assert "the videos' per-frame shapes differ" in _error_line(capsys)


def test_empty_frame_folder(workdir, tmp_path, capsys):
    _, _, model = workdir
    (tmp_path / "empty").mkdir()
    assert main(["embed", model, str(tmp_path / "empty")]) == 2
    assert "holds no frame images" in _error_line(capsys)


def test_fit_errors(workdir, tmp_path, capsys):
    _, paths, _ = workdir
    assert main(["fit", paths[0], "-o", str(tmp_path / "m.joblib")]) == 2
    assert "at least 2 videos" in _error_line(capsys)
    assert main(["fit", *paths[:2], "-p", "no_such_param=1", "-o", str(tmp_path / "m.joblib")]) == 2
    assert "unknown LAVEncoder parameter(s) ['no_such_param']" in _error_line(capsys)
    assert main(["fit", *paths[:2], "--num-frames", "0", "-o", str(tmp_path / "m.joblib")]) == 2
    assert "could not fit: The 'num_frames' parameter of LAVEncoder must be an int" in _error_line(capsys)
    assert not (tmp_path / "m.joblib").exists()


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


@pytest.mark.slow
def test_demo_quick(tmp_path, capsys):
    assert main(["demo", "--quick", "--quiet", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for metric in ("phase classification accuracy", "phase progression R^2", "Kendall's tau",
                   "frame retrieval AP@5"):
        line = next(line for line in out.splitlines() if line.startswith(metric))
        raw, lav = (float(v) for v in line.split()[-2:])
        assert -1 <= raw <= 1 and -1 <= lav <= 1
    assert (tmp_path / "sklav_demo_alignment.png").stat().st_size > 1000
