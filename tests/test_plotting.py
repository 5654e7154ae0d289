"""sklav.plotting: every plot draws a non-empty figure."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklav.alignment import Aligner, align  # noqa: E402
from sklav.datasets import load_penn_action  # noqa: E402
from sklav.evaluation import few_shot_scores  # noqa: E402
from sklav.metrics import nearest_frames  # noqa: E402
from sklav.plotting import (  # noqa: E402
    plot_alignment,
    plot_alignment_path,
    plot_deviation,
    plot_distance_matrix,
    plot_few_shot_curves,
    plot_pose,
    plot_retrieval,
)

#: The checkout, so that a fresh interpreter imports this sklav.
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def golf():
    data = load_penn_action(actions="golf_swing", split="val")
    data.flat = [v.reshape(len(v), -1) for v in data.videos[:8]]
    return data


def _png_bytes(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _assert_drawn(fig):
    assert fig.axes, "no axes"
    assert any(ax.has_data() for ax in fig.axes), "no data drawn"
    image = np.asarray(plt.imread(io.BytesIO(_png_bytes(fig))))
    assert image.std() > 0, "blank image"


def test_plot_distance_matrix_of_two_videos(golf):
    fig, ax = plt.subplots()
    returned = plot_distance_matrix(golf.flat[0], golf.flat[1], ax=ax)
    assert returned is ax
    assert ax.images[0].get_array().shape == (len(golf.flat[0]), len(golf.flat[1]))
    assert ax.get_xlabel() == "frame of b"
    assert len(fig.axes) == 2  # and its colorbar
    _assert_drawn(fig)


def test_plot_distance_matrix_self_and_errors(golf):
    fig, ax = plt.subplots()
    plot_distance_matrix(golf.flat[0], ax=ax, colorbar=False)
    assert np.allclose(np.diag(ax.images[0].get_array()), 0)
    result = align(None, golf.flat[0], golf.flat[1])
    with pytest.raises(ValueError, match="not both"):
        plot_distance_matrix(result, golf.flat[1])
    with pytest.raises(ValueError, match="same embedding size"):
        plot_distance_matrix(golf.flat[0], golf.flat[0][:, :5])


def test_plot_alignment_path_follows_the_path(golf):
    result = align(None, golf.flat[0], golf.flat[1])
    fig, ax = plt.subplots()
    plot_distance_matrix(result, ax=ax)
    plot_alignment_path(result, ax=ax, color="red")
    line = ax.lines[-1]
    path = np.array(result.path)
    np.testing.assert_array_equal(line.get_xdata(), path[:, 1])
    np.testing.assert_array_equal(line.get_ydata(), path[:, 0])
    _assert_drawn(fig)
    with pytest.raises(ValueError, match="pairs"):
        plot_alignment_path(np.zeros((3, 3)), ax=ax)


def test_plot_deviation_marks_flagged_frames():
    fig, ax = plt.subplots()
    deviation = np.array([0.0, 0.5, 4.0, 5.0, 0.1, 3.5])
    plot_deviation(deviation, threshold=3.0, ax=ax)
    assert len(ax.patches) == 2  # two runs of flagged frames
    flagged = ax.lines[-1]
    np.testing.assert_array_equal(flagged.get_xdata(), [2, 3, 5])
    _assert_drawn(fig)
    fig, ax = plt.subplots()
    plot_deviation(deviation, threshold=None, ax=ax)
    assert not ax.patches


def test_plot_alignment_uses_the_calibrated_threshold(golf):
    aligner = Aligner().fit(golf.flat[:5])
    result = aligner.align(golf.flat[6])
    fig = plot_alignment(result, labels=("ref", "new"))
    matrix_ax, deviation_ax = fig.axes[:2]
    assert matrix_ax.images and matrix_ax.lines
    assert deviation_ax.get_xlabel() == "frame of new"
    thresholds = [line.get_ydata()[0] for line in deviation_ax.lines if line.get_linestyle() == "--"]
    assert thresholds == [pytest.approx(aligner.threshold_)]
    _assert_drawn(fig)
    with pytest.raises(TypeError, match="Alignment"):
        plot_alignment(np.zeros(3))


def test_plot_few_shot_curves(golf):
    train = (golf.flat[:6], golf.phases[:6])
    val = (golf.flat[6:], golf.phases[6:8])
    tables = {
        "raw": few_shot_scores(train, val, settings=(1, 3, 1.0), n_episodes=2, random_state=0),
        "raw, first joints": few_shot_scores(
            ([v[:, :6] for v in train[0]], train[1]), ([v[:, :6] for v in val[0]], val[1]),
            settings=(1, 3, 1.0), n_episodes=2, random_state=0,
        ),
    }
    fig, ax = plt.subplots()
    plot_few_shot_curves(tables, ax=ax)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(tables)
    _assert_drawn(fig)
    with pytest.raises(ValueError, match="empty"):
        plot_few_shot_curves({}, ax=ax)


def test_plot_few_shot_curves_of_one_table(golf):
    table = few_shot_scores(
        (golf.flat[:6], golf.phases[:6]), (golf.flat[6:], golf.phases[6:8]),
        settings=(3, 1), n_episodes=2, random_state=0,
    )
    fig, ax = plt.subplots()
    assert plot_few_shot_curves(table, ax=ax, color="k") is ax
    assert len(ax.containers) == 1 and ax.get_legend() is None
    line = ax.lines[0]
    assert list(line.get_xdata()) == [1, 3]  # sorted by number of labelled videos
    assert list(line.get_ydata()) == [table[1]["mean"], table[3]["mean"]]
    assert ax.get_xlabel() == "labelled training videos"
    assert ax.get_ylabel() == "phase classification accuracy"
    _assert_drawn(fig)


def test_plot_pose_hides_invisible_joints(golf):
    pose = golf.videos[0][0].copy()
    pose[0, 2] = 0  # head invisible
    fig, ax = plt.subplots()
    plot_pose(pose, ax=ax)
    points = ax.lines[-1]
    assert len(points.get_xdata()) == int((pose[:, 2] != 0).sum())
    assert ax.yaxis_inverted()
    _assert_drawn(fig)
    with pytest.raises(ValueError, match=r"\(J, 2\)"):
        plot_pose(np.zeros((13, 4)), ax=ax)


def test_nearest_frames_skips_the_query_video(golf):
    neighbours = nearest_frames(golf.flat, video=2, frame=5, k=4)
    assert len(neighbours) == 4
    assert all(v != 2 for v, _, _ in neighbours)
    distances = [d for _, _, d in neighbours]
    assert distances == sorted(distances)
    with pytest.raises(ValueError, match="out of range"):
        nearest_frames(golf.flat, video=20, frame=0)
    with pytest.raises(ValueError, match="k="):
        nearest_frames(golf.flat[:2], video=0, frame=0, k=10_000)


def test_plot_retrieval(golf):
    fig = plot_retrieval(golf.flat, golf.videos[:8], video=1, frame=10, k=3, labels=golf.phases)
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title().startswith("query")
    _assert_drawn(fig)
    with pytest.raises(ValueError, match="poses has"):
        plot_retrieval(golf.flat, golf.videos[:3], video=0, frame=0)


def test_pose_plots_import_neither_torch_nor_numba():
    code = (
        "import sys\n"
        "import matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import numpy as np\n"
        "import sklav.plotting\n"
        "from sklav.plotting import plot_pose, plot_retrieval\n"
        "poses = [np.random.default_rng(i).random((6, 13, 3)) for i in range(3)]\n"
        "plot_pose(poses[0][0])\n"
        "plot_retrieval([p.reshape(6, -1) for p in poses], poses, video=0, frame=1, k=2)\n"
        "print('torch' in sys.modules, 'numba' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.split() == ["False", "False"]
