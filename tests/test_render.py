"""Rendering 2D skeletons into RGB frames, and the rendered-RGB benchmark."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklav.datasets import PENN_ACTION_EDGES, render_poses

ROOT = Path(__file__).resolve().parents[1]
PENN = ROOT.parent / "shared" / "data" / "penn_action"


def _joints(T=6, seed=0, visibility=True):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(100, 300, size=(T, 13, 2))
    if not visibility:
        return xy
    return np.concatenate([xy, np.ones((T, 13, 1))], -1)


@pytest.mark.parametrize("size", [16, 64, 112])
def test_shape_and_dtype(size):
    frames = render_poses(_joints(), size=size, rng=0)
    assert frames.shape == (6, size, size, 3) and frames.dtype == np.uint8


def test_same_rng_same_frames_other_rng_other_style():
    a = render_poses(_joints(), rng=np.random.default_rng(3))
    b = render_poses(_joints(), rng=np.random.default_rng(3))
    c = render_poses(_joints(), rng=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("background", ["plain", "gradient", "noise"])
def test_limb_pixel_differs_from_background(background):
    # one vertical limb (left shoulder to left elbow) through the centre; two
    # visible ankles, in no limb, fix the frame to [0, 100]^2
    joints = np.zeros((1, 13, 3))
    joints[0, [1, 3, 11, 12]] = [[50, 20, 1], [50, 80, 1], [0, 0, 1], [100, 100, 1]]
    kwargs = dict(size=64, rng=1, background=background, noise=0, margin=0.0, edges=[(1, 3)], head=None)
    frames = render_poses(joints, **kwargs)
    empty = render_poses(joints * [1, 1, 0], **kwargs)
    on_limb, off_limb = frames[0, 32, 32].astype(int), frames[0, 32, 5].astype(int)
    assert np.abs(on_limb - empty[0, 32, 32]).sum() > 60  # the limb's colour is far from the background
    assert np.array_equal(off_limb, empty[0, 32, 5])  # away from it, background only


def test_invisible_joints_and_their_limbs_are_not_drawn():
    joints = _joints(T=3)
    frames = render_poses(joints, size=48, rng=2, noise=0)
    hidden = joints.copy()
    hidden[:, 6, 2] = 0  # right wrist invisible, its coordinates a placeholder far away
    hidden[:, 6, :2] = -1e4
    hidden_frames = render_poses(hidden, size=48, rng=2, noise=0)
    assert hidden_frames.shape == frames.shape
    assert not np.array_equal(frames, hidden_frames)  # the forearm is gone ...
    # ... and the placeholder did not shrink the figure: other limbs stay in place
    assert (frames != hidden_frames).any(-1).mean() < 0.05
    nan = joints.copy()
    nan[:, 6, :2] = np.nan
    assert np.array_equal(render_poses(nan, size=48, rng=2, noise=0), hidden_frames)
    none = render_poses(joints * [1, 1, 0], size=48, rng=2, noise=0, background="plain")  # nothing visible: background
    assert (none == none[:, :1, :1]).all()


def test_two_channel_joints_and_custom_edges():
    frames = render_poses(_joints(visibility=False)[:, :3], size=32, rng=0, edges=[(0, 1), (1, 2)], groups=[0, 0])
    assert frames.shape == (6, 32, 32, 3)
    assert render_poses(_joints(visibility=False)[:, :3], size=32, rng=0, edges=[], head=None).shape == frames.shape


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"joints": np.zeros((4, 13))}, "must be"),
        ({"joints": np.zeros((0, 13, 2))}, "T >= 1"),
        ({"size": 2}, "size"),
        ({"size": 32.0}, "size"),
        ({"background": "stripes"}, "background"),
        ({"edges": [(0, 20)]}, "joint 20"),
        ({"head": 13}, "joint 13"),
        ({"groups": [0, 1]}, "one non-negative int per edge"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"joints": _joints(), **kwargs}
    with pytest.raises(ValueError, match=match):
        render_poses(**kwargs)


def test_penn_edges_cover_every_joint():
    assert sorted({j for edge in PENN_ACTION_EDGES for j in edge}) == list(range(13))


@pytest.mark.slow
@pytest.mark.skipif(not PENN.exists(), reason="needs ../shared/data/penn_action")
def test_rgb_rendered_benchmark_quick(tmp_path):
    out_csv, out_rst = tmp_path / "rgb.csv", tmp_path / "rgb.rst"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_rgb_rendered.py"), "--quick",
         "--csv", str(out_csv), "--rst", str(out_rst)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(out_csv.open()))
    methods = {row["method"] for row in rows}
    assert {"raw pixels", "untrained trunk", "fine-tuned"} <= methods
    metrics = {row["metric"] for row in rows}
    assert {"classification@1.0", "kendalls_tau"} <= metrics
    assert "wall time" in result.stdout and "kendalls_tau" in out_rst.read_text()
