"""The loader on the real Penn Action files beside the checkout (``penn_root``).

The expected values are read from the raw files here, independently of
sklav's parsers: ``phases.csv`` with the csv module, ``labels/NNNN.mat`` with
scipy. Skipped where the shared data is absent.
"""

import csv

import numpy as np
import pytest
import scipy.io

from sklav.datasets import load_penn_action


@pytest.fixture(scope="module")
def golf(penn_root):
    return load_penn_action(root=penn_root, actions="golf_swing", split="all")


@pytest.fixture(scope="module")
def golf_rows(penn_root):
    with open(penn_root / "phases.csv", newline="") as f:
        return {row["video_id"]: row for row in csv.DictReader(f) if row["action"] == "golf_swing"}


def test_real_phase_labels_follow_the_phase_table(golf, golf_rows):
    assert sorted(golf.video_ids) == sorted(golf_rows)
    for video_id, video, phases, split in zip(golf.video_ids, golf.videos, golf.phases, golf.splits):
        row = golf_rows[video_id]
        starts = [int(s) for s in row["phase_starts"].split()]
        expected = np.array([sum(s <= t for s in starts) for t in range(int(row["num_frames"]))])
        np.testing.assert_array_equal(phases, expected, err_msg=video_id)
        assert phases[0] == 0 and (np.diff(phases) >= 0).all(), video_id  # monotone
        assert len(video) == int(row["num_frames"]) and split == row["split"]
    assert {int(p.max()) + 1 for p in golf.phases} == {3}  # golf_swing: 3 phases


def test_real_joints_match_the_annotation_file(golf, penn_root):
    k = 0
    raw = scipy.io.loadmat(penn_root / "labels" / f"{golf.video_ids[k]}.mat")
    video = golf.videos[k]
    assert raw["action"][0] == "golf_swing" and len(video) == int(raw["nframes"][0, 0])
    visible = raw["visibility"] != 0
    np.testing.assert_array_equal(video[..., 2], visible)
    # documented normalisation: per frame, visible joints centred on their mean
    # and divided by their RMS distance to it
    xy = np.stack([raw["x"], raw["y"]], axis=-1)
    for t in range(len(video)):
        points = xy[t, visible[t]]
        if len(points) < 2:
            continue
        centred = points - points.mean(0)
        expected = centred / np.sqrt((centred**2).sum(1).mean())
        np.testing.assert_allclose(video[t, visible[t], :2], expected, rtol=1e-5, atol=1e-6)


def test_bundled_subset_equals_the_shared_data(golf):
    bundled = load_penn_action(actions="golf_swing", split="all")
    shared = dict(zip(golf.video_ids, range(len(golf.video_ids))))
    for k in (0, len(bundled.video_ids) // 2, len(bundled.video_ids) - 1):
        j = shared[bundled.video_ids[k]]
        np.testing.assert_array_equal(bundled.videos[k], golf.videos[j])
        np.testing.assert_array_equal(bundled.phases[k], golf.phases[j])
        assert (bundled.views[k], bundled.splits[k]) == (golf.views[j], golf.splits[j])
