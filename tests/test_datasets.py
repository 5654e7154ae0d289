"""Tests for sklav.datasets: the Penn Action loader, the bundled subset and the video readers."""

import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils import Bunch

from sklav.datasets import (
    get_penn_action_root,
    load_penn_action,
    load_penn_action_annotations,
    load_video,
    load_videos,
    read_frame_folder,
    read_video,
)
from sklav.datasets._penn_action import normalize_joints2d, phase_labels
from sklav.datasets._penn_sources import JOINT_NAMES, PENN_ACTIONS
from sklav.utils import check_frame_labels, check_videos

SHARED = Path(__file__).parents[1].parent / "shared" / "data" / "penn_action"
needs_shared = pytest.mark.skipif(
    not (SHARED / "labels").is_dir(),
    reason=f"the shared Penn Action folder {SHARED} is absent",
)
BUNDLED_ACTIONS = ["golf_swing", "tennis_forehand"]


# ---------------------------------------------------------------------------
# A small synthetic Penn Action folder, fully controlled
# ---------------------------------------------------------------------------

# video_id: (action, view, train flag, T, phase_starts or None)
FAKE = {
    "0001": ("golf_swing", "front", 1, 6, (2, 4)),
    "0002": ("golf_swing", "back", -1, 5, (3,)),
    "0003": ("tennis_forehand", "left", 1, 4, (1, 3)),
    "0004": ("tennis_forehand", "right", -1, 3, None),
    "0005": ("bowl", "front", 1, 3, None),
}


def _fake_joints(seed, T):
    rng = np.random.default_rng(seed)
    x = rng.uniform(50, 400, size=(T, 13))
    y = rng.uniform(20, 300, size=(T, 13))
    vis = (rng.uniform(size=(T, 13)) > 0.2).astype(np.uint8)
    vis[:, :2] = 1
    return x, y, vis


def _write_fake_root(root, smpl=True, frames=True, phases=True):
    from PIL import Image
    from scipy.io import savemat

    (root / "labels").mkdir(parents=True)
    smpl_rows = {}
    for i, (vid, (action, view, train, T, _)) in enumerate(FAKE.items()):
        x, y, vis = _fake_joints(i, T)
        savemat(
            root / "labels" / f"{vid}.mat",
            {
                "action": action,
                "pose": view,
                "x": x,
                "y": y,
                "visibility": vis,
                "train": np.array([[train]], dtype=np.int32),
                "nframes": np.array([[T]]),
                "bbox": np.zeros((T, 4)),
                "dimensions": np.array([[10, 12, T]]),
            },
        )
        if frames:
            (root / "frames" / vid).mkdir(parents=True)
            for t in range(T):
                image = np.full((10, 12, 3), 10 * t + 5, dtype=np.uint8)
                Image.fromarray(image).save(root / "frames" / vid / f"{t + 1:06d}.jpg", quality=100)
        if FAKE[vid][4] is not None:
            split = "train" if train == 1 else "val"
            pose = np.random.default_rng(100 + i).normal(size=(T, 72)).astype(np.float32)
            smpl_rows.setdefault((action, split), []).append((vid, pose))
    if phases:
        with open(root / "phases.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["video_id", "action", "split", "num_frames", "phase_starts"])
            for vid, (action, _, train, T, starts) in FAKE.items():
                if starts is not None:
                    split = "train" if train == 1 else "val"
                    w.writerow([vid, action, split, T, " ".join(map(str, starts))])
    if smpl:
        (root / "smpl").mkdir()
        for (action, split), rows in smpl_rows.items():
            np.savez(
                root / "smpl" / f"{action}_{split}.npz",
                video_ids=np.array([v for v, _ in rows]),
                lengths=np.array([len(p) for _, p in rows]),
                pose=np.concatenate([p for _, p in rows]),
            )
    return root


@pytest.fixture
def fake_root(tmp_path):
    return _write_fake_root(tmp_path / "penn")


# ---------------------------------------------------------------------------
# Per-frame joints normalisation
# ---------------------------------------------------------------------------


def test_normalize_joints2d_visible_mean_zero_rms_one():
    x, y, vis = _fake_joints(0, 20)
    out = normalize_joints2d(x, y, vis)
    assert out.shape == (20, 13, 3) and out.dtype == np.float32
    visible = vis.astype(bool)
    np.testing.assert_array_equal(out[..., 2], vis)
    for t in range(20):
        pts = out[t, visible[t], :2].astype(np.float64)
        np.testing.assert_allclose(pts.mean(0), 0, atol=1e-6)
        np.testing.assert_allclose(np.sqrt((pts**2).sum(1).mean()), 1, rtol=1e-6)
        # invisible joints are zeroed, visibility says so
        assert not out[t, ~visible[t]].any()
    # the transform is a per-frame similarity: relative positions are kept
    t, (i, j) = 3, np.flatnonzero(visible[3])[:2]
    raw = np.array([x[t, i] - x[t, j], y[t, i] - y[t, j]])
    got = out[t, i, :2] - out[t, j, :2]
    np.testing.assert_allclose(got / np.linalg.norm(got), raw / np.linalg.norm(raw), rtol=1e-5)


def test_normalize_joints2d_degenerate_frames_no_division_by_zero():
    x = np.array([[5.0, 7.0, 9.0], [5.0, 7.0, 9.0], [3.0, 3.0, 8.0], [0.0, 0.0, 0.0]])
    y = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [4.0, 4.0, 8.0], [0.0, 0.0, 0.0]])
    vis = np.array([[0, 0, 0], [0, 1, 0], [1, 1, 0], [1, 1, 1]])  # none, one, coincident, all at 0
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        out = normalize_joints2d(x, y, vis)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[..., :2], 0)
    np.testing.assert_array_equal(out[..., 2], vis)


def test_normalize_joints2d_shape_error():
    with pytest.raises(ValueError, match="share a"):
        normalize_joints2d(np.zeros((3, 13)), np.zeros((3, 13)), np.zeros((3, 12)))


@settings(max_examples=50, deadline=None)
@given(
    T=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e4),
)
def test_normalize_joints2d_property_bounded_and_finite(T, seed, scale):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(2, T, 13)) * scale
    vis = rng.integers(0, 2, size=(T, 13))
    out = normalize_joints2d(x, y, vis)
    assert np.isfinite(out).all()
    assert np.abs(out[..., :2]).max() <= np.sqrt(13) + 1e-5
    # invariant to translation and scaling of the image
    np.testing.assert_allclose(normalize_joints2d(3 * x + 7, 3 * y - 2, vis), out, atol=1e-4)


def test_phase_labels():
    np.testing.assert_array_equal(phase_labels(6, [2, 4]), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(phase_labels(3, []), [0, 0, 0])
    np.testing.assert_array_equal(phase_labels(4, [2, 2]), [0, 0, 2, 2])


# ---------------------------------------------------------------------------
# Bundled subset
# ---------------------------------------------------------------------------


def test_bundled_default():
    data = load_penn_action()
    assert isinstance(data, Bunch)
    for key in ("videos", "phases", "video_ids", "actions", "views", "splits", "DESCR"):
        assert key in data
    assert sorted(set(data.actions)) == BUNDLED_ACTIONS
    assert set(data.splits) == {"train"}
    n = len(data.videos)
    assert n == 87 + 79
    assert len(data.phases) == len(data.video_ids) == len(data.views) == n
    assert list(data.video_ids) == sorted(data.video_ids)
    assert set(data.views) <= {"front", "back", "left", "right"}
    videos = check_videos(data.videos, frame_shape=(13, 3))
    phases = check_frame_labels(data.phases, videos)
    for video, ph in zip(videos, phases):
        assert video.dtype == np.float32 and ph.dtype == np.int64
        assert ph[0] == 0 and (np.diff(ph) >= 0).all() and ph.max() == 2
        assert set(np.unique(video[..., 2])) <= {0.0, 1.0}
    assert data.joint_names == list(JOINT_NAMES)
    assert data.features == "joints2d"


def test_bundled_descr_has_source_and_citation():
    descr = " ".join(load_penn_action().DESCR.split())
    assert "Penn Action" in descr
    assert "From Actemes to Action" in descr and "ICCV 2013" in descr
    assert "Context-aware" in descr and "CVPR 2022" in descr
    assert "Learning by Aligning Videos in Time" in descr
    assert "make_bundled_data.py" in descr


@pytest.mark.parametrize(
    "split, counts",
    [
        ("train", {"golf_swing": 87, "tennis_forehand": 79}),
        ("val", {"golf_swing": 77, "tennis_forehand": 74}),
        ("all", {"golf_swing": 164, "tennis_forehand": 153}),
    ],
)
def test_bundled_splits(split, counts):
    data = load_penn_action(split=split)
    actions, n = np.unique(data.actions, return_counts=True)
    assert dict(zip(actions.tolist(), n.tolist())) == counts
    if split != "all":
        assert set(data.splits) == {split}


def test_bundled_actions_argument():
    golf = load_penn_action(actions="golf_swing", split="all")
    assert set(golf.actions) == {"golf_swing"}
    both = load_penn_action(actions=["tennis_forehand", "golf_swing", "golf_swing"])
    assert len(both.videos) == 87 + 79


def test_bundled_without_phases():
    data = load_penn_action(split="all", with_phases=False)
    assert data.phases is None
    assert len(data.videos) == 89 + 77 + 80 + 77
    assert check_videos(data.videos, frame_shape=(13, 3))


def test_bundled_errors():
    with pytest.raises(ValueError, match=r"bundled subset holds only .*pushup"):
        load_penn_action(actions="pushup")
    with pytest.raises(ValueError, match=r"bundled subset holds 2D joints only.*smpl"):
        load_penn_action(features="smpl")
    with pytest.raises(ValueError, match=r"bundled subset holds 2D joints only.*rgb"):
        load_penn_action(features="rgb")


def test_argument_errors():
    with pytest.raises(ValueError, match=r"Unknown Penn Action action.*golf'.*baseball_pitch"):
        load_penn_action(actions="golf")
    with pytest.raises(ValueError, match="split must be one of"):
        load_penn_action(split="test")
    with pytest.raises(ValueError, match="features must be one of"):
        load_penn_action(features="joints3d")
    with pytest.raises(TypeError, match="actions must"):
        load_penn_action(actions=3)
    with pytest.raises(TypeError, match="actions must hold strings"):
        load_penn_action(actions=["golf_swing", 3])
    with pytest.raises(ValueError, match="actions is empty"):
        load_penn_action(actions=[])
    with pytest.raises(TypeError, match="with_phases must be a bool"):
        load_penn_action(with_phases="yes")
    with pytest.raises(TypeError, match="root must be a path"):
        load_penn_action(root=3)


def test_get_penn_action_root(monkeypatch, tmp_path):
    monkeypatch.delenv("SKLAV_PENN_ACTION", raising=False)
    assert get_penn_action_root() is None
    monkeypatch.setenv("SKLAV_PENN_ACTION", str(tmp_path))
    assert get_penn_action_root() == tmp_path
    monkeypatch.setenv("SKLAV_PENN_ACTION", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="SKLAV_PENN_ACTION"):
        get_penn_action_root()
    # root=None never reads the environment
    assert len(load_penn_action().videos) == 166


# ---------------------------------------------------------------------------
# A folder in the official layout
# ---------------------------------------------------------------------------


def test_root_joints_and_phases(fake_root):
    data = load_penn_action(fake_root, split="all")
    assert data.video_ids.tolist() == ["0001", "0002", "0003"]
    assert data.actions.tolist() == ["golf_swing", "golf_swing", "tennis_forehand"]
    assert data.views.tolist() == ["front", "back", "left"]
    assert data.splits.tolist() == ["train", "val", "train"]
    np.testing.assert_array_equal(data.phases[0], [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(data.phases[1], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(data.phases[2], [0, 1, 1, 2])
    x, y, vis = _fake_joints(0, 6)
    np.testing.assert_array_equal(data.videos[0], normalize_joints2d(x, y, vis))

    train = load_penn_action(str(fake_root))  # str roots work too
    assert train.video_ids.tolist() == ["0001", "0003"]
    val = load_penn_action(fake_root, actions="golf_swing", split="val")
    assert val.video_ids.tolist() == ["0002"]


def test_root_without_phases(fake_root):
    data = load_penn_action(fake_root, split="all", with_phases=False)
    assert data.phases is None
    assert data.video_ids.tolist() == list(FAKE)
    bowl = load_penn_action(fake_root, actions="bowl", with_phases=False)
    assert bowl.video_ids.tolist() == ["0005"]
    assert bowl.videos[0].shape == (3, 13, 3)
    with pytest.raises(ValueError, match=r"No videos of action\(s\) \['squat'\]"):
        load_penn_action(fake_root, actions="squat", with_phases=False)


def test_annotations_are_the_raw_values_of_the_same_selection(fake_root):
    raw = load_penn_action_annotations(fake_root, split="all")
    data = load_penn_action(fake_root, split="all")
    for key in ("video_ids", "actions", "views", "splits"):
        np.testing.assert_array_equal(raw[key], data[key])
    x, y, vis = _fake_joints(0, 6)
    np.testing.assert_array_equal(raw.x[0], x)
    np.testing.assert_array_equal(raw.y[0], y)
    np.testing.assert_array_equal(raw.visibility[0], vis)
    assert raw.x[0].dtype == np.float64 and raw.visibility[0].dtype == np.uint8
    assert raw.phase_starts == [(2, 4), (3,), (1, 3)]
    assert raw.joint_names == list(JOINT_NAMES)
    for a, b, v, video in zip(raw.x, raw.y, raw.visibility, data.videos):
        np.testing.assert_array_equal(normalize_joints2d(a, b, v), video)
    every = load_penn_action_annotations(fake_root, split="all", with_phases=False)
    assert every.video_ids.tolist() == list(FAKE) and every.phase_starts is None
    with pytest.raises(ValueError, match=r"No phase labels for action\(s\) \['bowl'\]"):
        load_penn_action_annotations(fake_root, actions="bowl")
    with pytest.raises(ValueError, match="split must be one of"):
        load_penn_action_annotations(fake_root, split="test")


def test_bundled_annotations():
    raw = load_penn_action_annotations(split="all", with_phases=False)
    assert len(raw.video_ids) == 89 + 77 + 80 + 77
    data = load_penn_action(split="val")
    raw = load_penn_action_annotations(split="val")
    np.testing.assert_array_equal(raw.video_ids, data.video_ids)
    for starts, phases in zip(raw.phase_starts, data.phases):
        np.testing.assert_array_equal(phase_labels(len(phases), starts), phases)


def test_root_smpl(fake_root):
    data = load_penn_action(fake_root, split="all", features="smpl")
    assert [v.shape for v in data.videos] == [(6, 24, 3), (5, 24, 3), (4, 24, 3)]
    assert data.videos[0].dtype == np.float32
    expected = np.random.default_rng(100).normal(size=(6, 72)).astype(np.float32)
    np.testing.assert_array_equal(data.videos[0].reshape(6, 72), expected)
    assert data.joint_names[0] == "pelvis" and len(data.joint_names) == 24
    # without phases, only videos with SMPL poses come back
    nophase = load_penn_action(fake_root, actions="tennis_forehand", split="all",
                               features="smpl", with_phases=False)
    assert nophase.video_ids.tolist() == ["0003"]
    with pytest.raises(ValueError, match=r"No SMPL poses for action\(s\) \['bowl'\].*golf_swing"):
        load_penn_action(fake_root, actions="bowl", features="smpl", with_phases=False)


def test_root_rgb(fake_root):
    data = load_penn_action(fake_root, actions="golf_swing", split="all", features="rgb")
    assert [v.shape for v in data.videos] == [(6, 10, 12, 3), (5, 10, 12, 3)]
    assert data.videos[0].dtype == np.uint8
    np.testing.assert_allclose(data.videos[0].mean(axis=(1, 2, 3)), 10 * np.arange(6) + 5, atol=2)
    assert data.joint_names is None


def test_root_rgb_errors(tmp_path):
    root = _write_fake_root(tmp_path / "noframes", frames=False)
    with pytest.raises(FileNotFoundError, match=r"features='rgb' needs .*frames"):
        load_penn_action(root, features="rgb")
    root = _write_fake_root(tmp_path / "short")
    (root / "frames" / "0001" / "000006.jpg").unlink()
    with pytest.raises(ValueError, match=r"Video '0001': 5 frames .* for 6 annotated frames"):
        load_penn_action(root, features="rgb")


def test_root_errors(tmp_path, fake_root):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*labels/NNNN.mat"):
        load_penn_action(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no labels/ folder"):
        load_penn_action(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="pass its parent"):
        load_penn_action(fake_root / "labels")
    with pytest.raises(NotADirectoryError):
        load_penn_action(fake_root / "phases.csv")
    # an action without phase labels: the message lists those that have them
    msg = r"No phase labels for action\(s\) \['bowl'\].*\['golf_swing', 'tennis_forehand'\]"
    with pytest.raises(ValueError, match=msg):
        load_penn_action(fake_root, actions="bowl")
    # a split with no phase labels
    msg = r"No phase labels for action 'tennis_forehand' in split 'val'"
    with pytest.raises(ValueError, match=msg):
        load_penn_action(fake_root, actions="tennis_forehand", split="val")
    # split='all' needs phase labels in one of the two splits
    both = load_penn_action(fake_root, actions="tennis_forehand", split="all")
    assert both.video_ids.tolist() == ["0003"]


def test_root_without_phase_table(tmp_path):
    root = _write_fake_root(tmp_path / "p", phases=False)
    with pytest.raises(FileNotFoundError, match=r"phases.csv.*with_phases=False"):
        load_penn_action(root)
    assert len(load_penn_action(root, with_phases=False, split="all").videos) == 5


def test_root_inconsistent_files(tmp_path):
    root = _write_fake_root(tmp_path / "a")
    text = (root / "phases.csv").read_text()
    text = text.replace("0001,golf_swing,train,6", "0001,golf_swing,train,7")
    (root / "phases.csv").write_text(text)
    msg = r"Video '0001': the phase table says .*7 frames.*6 frames"
    with pytest.raises(ValueError, match=msg):
        load_penn_action(root)

    root = _write_fake_root(tmp_path / "b")
    text = (root / "phases.csv").read_text().replace("2 4", "4 2")
    (root / "phases.csv").write_text(text)
    with pytest.raises(ValueError, match=r"line 2 \(video '0001'\).*non-decreasing"):
        load_penn_action(root)

    root = _write_fake_root(tmp_path / "c")
    (root / "labels" / "0003.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match=r"Could not read annotation file .*0003.mat"):
        load_penn_action(root)

    root = _write_fake_root(tmp_path / "d")
    (root / "labels" / "0003.mat").unlink()
    with pytest.raises(FileNotFoundError, match=r"0003.mat' of video '0003' is missing"):
        load_penn_action(root)


# ---------------------------------------------------------------------------
# The real data (shared folder), when present
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_all():
    """All 2326 videos of the shared folder, without phases (loaded once)."""
    return load_penn_action(SHARED, split="all", with_phases=False)


def _assert_same_bunch(bundled, shared, with_phases):
    for key in ("video_ids", "actions", "views", "splits"):
        np.testing.assert_array_equal(bundled[key], shared[key])
    assert len(bundled.videos) == len(shared.videos)
    for a, b in zip(bundled.videos, shared.videos):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b)  # bit for bit
    if with_phases:
        assert len(bundled.phases) == len(shared.phases)
        for a, b in zip(bundled.phases, shared.phases):
            np.testing.assert_array_equal(a, b)
    else:
        assert bundled.phases is None and shared.phases is None
    assert bundled.DESCR == shared.DESCR


@needs_shared
def test_bundled_equals_shared_with_phases():
    bundled = load_penn_action(split="all")
    shared = load_penn_action(SHARED, actions=BUNDLED_ACTIONS, split="all")
    _assert_same_bunch(bundled, shared, with_phases=True)


@needs_shared
def test_bundled_annotations_equal_shared():
    bundled = load_penn_action_annotations(split="all")
    shared = load_penn_action_annotations(SHARED, actions=BUNDLED_ACTIONS, split="all")
    for key in ("video_ids", "actions", "views", "splits"):
        np.testing.assert_array_equal(bundled[key], shared[key])
    for key in ("x", "y", "visibility"):
        for a, b in zip(bundled[key], shared[key]):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    assert bundled.phase_starts == shared.phase_starts


@needs_shared
def test_bundled_equals_shared_without_phases(shared_all):
    bundled = load_penn_action(split="all", with_phases=False)
    keep = np.flatnonzero(np.isin(shared_all.actions, BUNDLED_ACTIONS))
    shared = Bunch(
        **{k: shared_all[k][keep] for k in ("video_ids", "actions", "views", "splits")},
        videos=[shared_all.videos[i] for i in keep],
        phases=None,
        DESCR=shared_all.DESCR,
    )
    _assert_same_bunch(bundled, shared, with_phases=False)


@needs_shared
def test_shared_counts_match_phase_table_and_is_fast():
    with open(SHARED / "phases.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    start = time.perf_counter()
    data = load_penn_action(SHARED, split="all")
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"loading the 5 phase actions took {elapsed:.1f} s"
    assert len(data.videos) == len(rows)
    expected = {(r["action"], r["split"]) for r in rows}
    assert set(zip(data.actions, data.splits)) == expected
    by_id = {r["video_id"]: r for r in rows}
    for vid, video, ph in zip(data.video_ids, data.videos, data.phases):
        row = by_id[vid]
        assert len(video) == len(ph) == int(row["num_frames"])
        starts = [int(s) for s in row["phase_starts"].split()]
        assert ph.max() == len(starts)
        assert [int(np.argmax(ph >= k)) for k in range(1, len(starts) + 1)] == starts
    # the default selects every action with phases, train split (official train set)
    train = load_penn_action(SHARED)
    assert set(train.splits) == {"train"}
    assert len(train.videos) == sum(r["split"] == "train" for r in rows)


@needs_shared
def test_shared_smpl_matches_files():
    data = load_penn_action(SHARED, actions="jumping_jacks", split="val", features="smpl")
    with np.load(SHARED / "smpl" / "jumping_jacks_val.npz") as z:
        ids, lengths, pose = z["video_ids"], z["lengths"], z["pose"]
    assert sorted(ids.tolist()) == data.video_ids.tolist()
    order = np.argsort(ids)
    ends = np.cumsum(lengths)
    for k, i in enumerate(order):
        np.testing.assert_array_equal(
            data.videos[k].reshape(-1, 72), pose[ends[i] - lengths[i] : ends[i]]
        )
        assert len(data.phases[k]) == lengths[i]


@needs_shared
def test_shared_errors_and_all_actions(shared_all):
    msg = r"No phase labels for action\(s\) \['bowl'\].*baseball_swing"
    with pytest.raises(ValueError, match=msg):
        load_penn_action(SHARED, actions="bowl")
    data = shared_all
    assert len(data.videos) == 2326
    assert sorted(set(data.actions)) == list(PENN_ACTIONS)
    assert np.isfinite(np.concatenate([v.reshape(-1) for v in data.videos])).all()


# ---------------------------------------------------------------------------
# Video files and frame folders
# ---------------------------------------------------------------------------

LEVELS = 20 * np.arange(10) + 10  # grey level of frame i


def _write_video(path, codec="mpeg4", n=10, rate=10, h=32, w=48):
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for i in range(n):
            image = np.full((h, w, 3), LEVELS[i], dtype=np.uint8)
            image[: h // 4, : w // 4] = 255 - LEVELS[i]  # not flat: a corner patch
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


def _frame_index(frames):
    # which source frame each decoded frame is, from its dominant grey level
    level = np.median(frames.reshape(len(frames), -1), axis=1)
    return np.abs(level[:, None] - LEVELS[None]).argmin(1).tolist()


@pytest.fixture(scope="module")
def video_path(tmp_path_factory):
    return _write_video(tmp_path_factory.mktemp("video") / "clip.mp4")


@pytest.mark.parametrize("codec, ext", [("mpeg4", "mp4"), ("libx264", "mkv"), ("mjpeg", "avi")])
def test_read_video_codecs(tmp_path, codec, ext):
    av = pytest.importorskip("av")
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        pytest.skip(f"this FFmpeg build cannot encode {codec}")
    frames = read_video(_write_video(tmp_path / f"clip.{ext}", codec=codec))
    assert frames.shape == (10, 32, 48, 3) and frames.dtype == np.uint8
    assert _frame_index(frames) == list(range(10))


@pytest.mark.parametrize(
    "fps, expected",
    [
        (None, list(range(10))),
        (10, list(range(10))),
        (5, [0, 2, 4, 6, 8]),
        (3, [0, 3, 6]),
        (2.5, [0, 4, 8]),
        (20, [i // 2 for i in range(20)]),
        (0.5, [0]),
    ],
)
def test_read_video_fps(video_path, fps, expected):
    assert _frame_index(read_video(video_path, fps=fps)) == expected


@pytest.mark.parametrize(
    "size, shape",
    [(None, (32, 48)), (16, (16, 24)), (8, (8, 12)), ((20, 30), (20, 30)), ([64, 64], (64, 64))],
)
def test_read_video_size(video_path, size, shape):
    frames = read_video(video_path, size=size)
    assert frames.shape == (10,) + shape + (3,)
    assert _frame_index(frames) == list(range(10))


def test_read_video_portrait_shorter_side(tmp_path):
    path = _write_video(tmp_path / "tall.mp4", h=48, w=32, n=3)
    assert read_video(path, size=16).shape == (3, 24, 16, 3)


def test_read_video_errors(tmp_path, video_path):
    pytest.importorskip("av")
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        read_video(tmp_path / "missing.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 10)
    with pytest.raises(ValueError, match=r"Could not (open|decode) video file .*bad.mp4"):
        read_video(bad)
    with pytest.raises(ValueError, match="not a file"):
        read_video(tmp_path)
    with pytest.raises(TypeError, match="path must be a path"):
        read_video(3)
    with pytest.raises(ValueError, match="fps must be a positive"):
        read_video(video_path, fps=0)
    with pytest.raises(TypeError, match="fps must be None"):
        read_video(video_path, fps="10")
    with pytest.raises(ValueError, match="size must be positive"):
        read_video(video_path, size=0)
    with pytest.raises(TypeError, match="size must be None"):
        read_video(video_path, size=(1, 2, 3))


def test_read_video_audio_only(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(ValueError, match=r"sound.wav' has no video stream"):
        read_video(path)


def test_read_video_truncated(tmp_path, video_path):
    pytest.importorskip("av")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video_path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cut.mp4' \(damaged, truncated or not a video\)"):
        read_video(cut)


def test_read_video_truncated_anywhere_says_so(tmp_path, video_path):
    # cut at every point, an mp4 whose index is at the end is never "without a video
    # stream": every error names the file and says it may be truncated
    pytest.importorskip("av")
    data = video_path.read_bytes()
    cut = tmp_path / "cut.mp4"
    messages = set()
    for n in range(0, len(data), 16):
        cut.write_bytes(data[:n])
        try:
            read_video(cut)
        except ValueError as exc:
            messages.add(str(exc))
    assert messages
    for message in messages:
        assert "cut.mp4" in message and "truncated" in message and "no video stream" not in message


def test_read_video_truncated_data_warns(tmp_path):
    # index first (faststart): a cut file still opens and decodes its first frames
    av = pytest.importorskip("av")
    path = tmp_path / "fast.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for _ in range(10):
            image = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)  # incompressible
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match=r"fast.mp4': decoded \d frames; its header declares 10; "
                      "the file may be truncated"):
        frames = read_video(path)
    assert 0 < len(frames) < 10


def test_read_video_frame_budget(tmp_path, video_path, monkeypatch):
    from sklav.datasets import _video_file

    assert read_video(video_path, max_frames=10).shape[0] == 10
    assert read_video(video_path, fps=20, max_frames=None).shape[0] == 20
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"Reading video file '.*clip.mp4' at fps=1e\+06 would give "
                       r"about 1000000 frames, more than max_frames=100000; lower fps"):
        read_video(video_path, fps=1e6)  # would be 4.6 GB of frames
    assert time.perf_counter() - start < 5
    with pytest.raises(ValueError, match=r"about 20 frames, more than max_frames=19"):
        read_video(video_path, fps=20, max_frames=19)
    assert read_video(video_path, fps=20, max_frames=20).shape[0] == 20
    with pytest.raises(ValueError, match=r"clip.mp4' would give about 10 frames, more than max_frames=9"):
        read_video(video_path, max_frames=9)
    # a header without duration: the budget still holds while decoding
    monkeypatch.setattr(_video_file, "_expected_frames", lambda *args: None)
    with pytest.raises(ValueError, match=r"about 10 frames, more than max_frames=9"):
        read_video(video_path, max_frames=9)
    with pytest.raises(ValueError, match=r"at fps=20 would give about 20 frames, more than max_frames=19"):
        read_video(video_path, fps=20, max_frames=19)
    for bad, error in [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="max_frames must be"):
            read_video(video_path, max_frames=bad)


def test_read_video_without_pyav(monkeypatch, video_path):
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` fail
    with pytest.raises(ImportError, match=r"pip install 'sklav\[video\]'"):
        read_video(video_path)


def _write_frames(folder, n, h=8, w=12, names=None, mode="RGB"):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"{i + 1:06d}.jpg" for i in range(n)]
    for i, name in enumerate(names):
        image = Image.fromarray(np.full((h, w, 3), LEVELS[i], dtype=np.uint8)).convert(mode)
        image.save(folder / name, quality=100)
    return folder


def test_read_frame_folder(tmp_path):
    folder = _write_frames(tmp_path / "0001", 5)
    (folder / "notes.txt").write_text("ignored")
    frames = read_frame_folder(folder)
    assert frames.shape == (5, 8, 12, 3) and frames.dtype == np.uint8
    assert _frame_index(frames) == list(range(5))
    assert read_frame_folder(str(folder)).shape == (5, 8, 12, 3)


def test_read_frame_folder_natural_order_and_modes(tmp_path):
    names = ["frame1.jpg", "frame2.JPG", "frame10.jpeg", "frame11.png"]
    folder = _write_frames(tmp_path / "v", 4, names=names)
    assert _frame_index(read_frame_folder(folder)) == [0, 1, 2, 3]
    grey = _write_frames(tmp_path / "g", 2, mode="L")
    frames = read_frame_folder(grey)
    assert frames.shape == (2, 8, 12, 3)
    np.testing.assert_array_equal(frames[..., 0], frames[..., 2])


def test_read_frame_folder_16_bit_png_scaled_not_saturated(tmp_path):
    from PIL import Image

    levels = np.array([0, 1000, 257 * 100, 40000, 65535], dtype=np.uint16)
    folder = tmp_path / "deep"
    folder.mkdir()
    for i, level in enumerate(levels):
        image = Image.fromarray(np.full((4, 6), level, dtype=np.uint16))
        assert image.mode.startswith("I;16")
        image.save(folder / f"{i:06d}.png")
    Image.fromarray(np.full((4, 6, 3), 100, dtype=np.uint8)).save(folder / "000005.png")  # 8-bit
    frames = read_frame_folder(folder)
    assert frames.dtype == np.uint8 and frames.shape == (6, 4, 6, 3)
    np.testing.assert_array_equal(frames[:, 0, 0, 0], [0, 4, 100, 156, 255, 100])
    np.testing.assert_array_equal(frames[..., 0], frames[..., 2])
    np.testing.assert_array_equal(load_video(folder), frames)


def test_read_frame_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_frame_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no frames")
    with pytest.raises(FileNotFoundError, match="holds no frame images"):
        read_frame_folder(tmp_path / "empty")
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        read_frame_folder(tmp_path / "file.jpg")
    folder = _write_frames(tmp_path / "mixed", 2)
    _write_frames(folder, 1, h=9, names=["000003.jpg"])
    with pytest.raises(ValueError, match=r"000003.jpg' is 12x9 .* 12x8"):
        read_frame_folder(folder)
    folder = _write_frames(tmp_path / "corrupt", 2)
    (folder / "000002.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"Could not read frame image .*000002.jpg"):
        read_frame_folder(folder)
    with pytest.raises(TypeError, match="path must be a path"):
        read_frame_folder(None)


# ---------------------------------------------------------------------------
# Videos from paths of any kind: load_video and load_videos
# ---------------------------------------------------------------------------


def test_load_video_array_files(tmp_path):
    poses = np.random.default_rng(0).normal(size=(7, 13, 3)).astype(np.float32)
    np.save(tmp_path / "poses.npy", poses)
    np.testing.assert_array_equal(load_video(tmp_path / "poses.npy", size=4), poses)  # size: RGB only
    assert load_video(str(tmp_path / "poses.npy")).dtype == np.float32
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"could not read the array file .*junk.npy"):
        load_video(tmp_path / "junk.npy")
    for name, array, message in [
        ("flat", np.zeros(7), r"shape \(7,\); a video needs a time axis"),
        ("empty", np.zeros((0, 3)), r"shape \(0, 3\)"),
        ("text", np.array([["a", "b"]]), r"dtype <U1; a video must be numeric"),
        ("complex", np.zeros((3, 2), complex), "dtype complex128"),
    ]:
        np.save(tmp_path / f"{name}.npy", array)
        with pytest.raises(ValueError, match=f"{name}.npy' holds an array of {message}"):
            load_video(tmp_path / f"{name}.npy")
    with pytest.raises(FileNotFoundError, match=r"no such file or folder: '.*missing.npy'"):
        load_video(tmp_path / "missing.npy")
    with pytest.raises(TypeError, match="path must be a path"):
        load_video(3)


@pytest.mark.parametrize("size, shape", [(None, (8, 12)), (4, (4, 6)), ((5, 7), (5, 7)), (6, (6, 9))])
def test_load_video_frame_folder_resized(tmp_path, size, shape):
    folder = _write_frames(tmp_path / "clip", 3)
    frames = load_video(folder, size=size)
    assert frames.shape == (3,) + shape + (3,) and frames.dtype == np.uint8
    assert _frame_index(frames) == [0, 1, 2]


def test_load_video_frame_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no frame images"):
        load_video(tmp_path / "empty")
    folder = _write_frames(tmp_path / "clip", 2)
    with pytest.raises(ValueError, match="size must be positive"):
        load_video(folder, size=0)


def test_load_video_files(tmp_path, video_path, monkeypatch):
    frames = load_video(video_path, fps=5, size=16)
    assert frames.shape == (5, 16, 24, 3) and _frame_index(frames) == [0, 2, 4, 6, 8]
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    with pytest.raises(ValueError, match="broken.mp4"):
        load_video(bad)
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` fail
    with pytest.raises(ImportError, match=r"cannot read the video file '.*clip.mp4': .*sklav\[video\]"):
        load_video(video_path)


def test_load_videos_one_per_frame_shape(tmp_path, video_path):
    a, b = _write_frames(tmp_path / "a", 3), _write_frames(tmp_path / "b", 4, h=16, w=20)
    videos = load_videos([a, b, video_path])  # RGB of other sizes: resized to the first's
    assert [v.shape for v in videos] == [(3, 8, 12, 3), (4, 8, 12, 3), (10, 8, 12, 3)]
    assert _frame_index(videos[1]) == [0, 1, 2, 3]
    assert [v.shape for v in load_videos([b, a], size=(6, 6))] == [(4, 6, 6, 3), (3, 6, 6, 3)]
    np.save(tmp_path / "f5.npy", np.zeros((9, 5)))
    np.save(tmp_path / "f6.npy", np.zeros((9, 6)))
    assert [v.shape for v in load_videos([tmp_path / "f5.npy"] * 2)] == [(9, 5), (9, 5)]
    with pytest.raises(ValueError, match=r"per-frame shapes differ: .*f5.npy \(5,\), .*f6.npy \(6,\)"):
        load_videos([tmp_path / "f5.npy", tmp_path / "f6.npy"])
    with pytest.raises(TypeError, match="a sequence of paths"):
        load_videos(str(tmp_path / "f5.npy"))
    assert load_videos([]) == []
