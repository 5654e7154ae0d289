"""Penn Action skeletons, and frame retrieval results drawn as poses."""

import numbers

import numpy as np

from ..alignment.align import squared_distances
from ..utils import check_videos
from ._base import get_axes, import_pyplot

#: Bones of Penn Action's 13 joints (head, shoulders, elbows, wrists, hips,
#: knees, ankles; left before right), as pairs of joint indices.
PENN_ACTION_EDGES = (
    (0, 1), (0, 2), (1, 2),  # head and shoulders
    (1, 3), (3, 5), (2, 4), (4, 6),  # arms
    (1, 7), (2, 8), (7, 8),  # torso
    (7, 9), (9, 11), (8, 10), (10, 12),  # legs
)


def _visible_joints(pose, visibility):
    """``(J, 2)`` coordinates and a ``(J,)`` visibility mask."""
    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim != 2 or pose.shape[1] not in (2, 3):
        raise ValueError(f"pose must have shape (J, 2) or (J, 3), got {pose.shape}.")
    if visibility == "auto":
        visibility = pose.shape[1] == 3 and np.isin(pose[:, 2], (0.0, 1.0)).all()
    if visibility:
        if pose.shape[1] != 3:
            raise ValueError("visibility=True needs a third channel (J, 3).")
        return pose[:, :2], pose[:, 2] != 0
    return pose[:, :2], np.ones(len(pose), dtype=bool)


def plot_pose(pose, *, ax=None, edges=PENN_ACTION_EDGES, visibility="auto", color="k", title=None):
    """Draw one 2D pose as a skeleton, in image axes (y pointing down).

    Parameters
    ----------
    pose : array-like of shape (J, 2) or (J, 3)
        Joint coordinates, optionally with a visibility channel (as
        :func:`sklav.datasets.load_penn_action` returns per frame).
    ax : matplotlib Axes, optional
        Default: the current axes.
    edges : sequence of (int, int), default=PENN_ACTION_EDGES
        Bones to draw; bones touching an invisible joint are left out.
    visibility : bool or 'auto', default='auto'
        Whether the third channel is a 0/1 visibility flag; 'auto': when it
        holds only 0 and 1.
    color : color, default='k'
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklav.datasets import load_penn_action
    >>> from sklav.plotting import plot_pose
    >>> video = load_penn_action(actions="golf_swing").videos[0]
    >>> fig, ax = plt.subplots()
    >>> ax = plot_pose(video[0], ax=ax)
    >>> bool(ax.yaxis_inverted())
    True
    """
    xy, visible = _visible_joints(pose, visibility)
    ax = get_axes(ax)
    for a, b in edges:
        if a < len(xy) and b < len(xy) and visible[a] and visible[b]:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=color, linewidth=2)
    ax.plot(xy[visible, 0], xy[visible, 1], "o", color=color, markersize=3)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize="small")
    return ax


def nearest_frames(embeddings, video, frame, k=5):
    """The ``k`` frames of the *other* videos nearest to one query frame.

    The retrieval of :func:`sklav.metrics.frame_retrieval_ap`: squared
    Euclidean distance, the query's own video left out of the support set.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings, one array per video.
    video, frame : int
        The query: frame ``frame`` of video ``video``.
    k : int, default=5

    Returns
    -------
    neighbours : list of (int, int, float)
        ``(video, frame, squared distance)``, nearest first.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.plotting import nearest_frames
    >>> X = [np.array([[0.0], [1.0]]), np.array([[0.9], [3.0]]), np.array([[0.2]])]
    >>> [(v, t) for v, t, _ in nearest_frames(X, video=0, frame=0, k=2)]
    [(2, 0), (1, 0)]
    """
    videos = check_videos(embeddings, name="embeddings", min_videos=2, frame_ndim=1)
    for name, value, size in (("video", video, len(videos)), ("frame", frame, None)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r}.")
    if not 0 <= video < len(videos):
        raise ValueError(f"video={video} is out of range for {len(videos)} videos.")
    if not 0 <= frame < len(videos[video]):
        raise ValueError(f"frame={frame} is out of range for video {video} of {len(videos[video])} frames.")
    support = [v for v in range(len(videos)) if v != video]
    owners = np.concatenate([np.full(len(videos[v]), v) for v in support])
    frames = np.concatenate([np.arange(len(videos[v])) for v in support])
    stacked = np.concatenate([np.asarray(videos[v], dtype=np.float64) for v in support])
    if not 1 <= k <= len(stacked):
        raise ValueError(f"k={k} must lie in [1, {len(stacked)}] (the support set's frames).")
    query = np.asarray(videos[video][frame], dtype=np.float64)[None]
    distances = squared_distances(query, stacked)[0]
    order = np.argsort(distances, kind="stable")[:k]
    return [(int(owners[i]), int(frames[i]), float(distances[i])) for i in order]


def plot_retrieval(embeddings, poses, video, frame, *, k=5, labels=None, fig=None):
    """A query frame and its ``k`` nearest frames in other videos, drawn as poses.

    Frames are retrieved by :func:`nearest_frames` on ``embeddings`` and
    drawn from ``poses``. With ``labels``, each retrieved pose is green when
    its phase matches the query's (a hit for AP@K) and red otherwise.

    Parameters
    ----------
    embeddings : list of array-like of shape (T_i, D)
        Per-frame embeddings used for the search.
    poses : list of array-like of shape (T_i, J, 2 or 3)
        The same videos as poses, for drawing.
    video, frame : int
        The query frame.
    k : int, default=5
    labels : list of array-like of shape (T_i,), optional
        Per-frame phase labels.
    fig : matplotlib Figure, optional
        Drawn into (cleared first); default: a new figure.

    Returns
    -------
    fig : matplotlib Figure
        ``1 + k`` axes: the query, then the neighbours, nearest first.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklav.datasets import load_penn_action
    >>> from sklav.plotting import plot_retrieval
    >>> data = load_penn_action(actions="golf_swing", split="val")
    >>> poses, phases = data.videos[:4], data.phases[:4]
    >>> flat = [p.reshape(len(p), -1) for p in poses]
    >>> fig = plot_retrieval(flat, poses, video=0, frame=10, k=3, labels=phases)
    >>> len(fig.axes)
    4
    >>> plt.close("all")
    """
    plt = import_pyplot()
    if len(poses) != len(embeddings):
        raise ValueError(f"poses has {len(poses)} videos but embeddings has {len(embeddings)}.")
    neighbours = nearest_frames(embeddings, video, frame, k=k)
    if fig is None:
        fig = plt.figure(figsize=(1.8 * (k + 1), 2.6), layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(1, k + 1, squeeze=False)[0]
    query_label = None if labels is None else labels[video][frame]
    title = f"query\nvideo {video}, frame {frame}"
    if query_label is not None:
        title += f"\nphase {query_label}"
    plot_pose(poses[video][frame], ax=axes[0], color="tab:blue", title=title)
    for rank, (ax, (v, t, _)) in enumerate(zip(axes[1:], neighbours), start=1):
        title, color = f"#{rank}\nvideo {v}, frame {t}", "k"
        if labels is not None:
            label = labels[v][t]
            title += f"\nphase {label}"
            color = "tab:green" if label == query_label else "tab:red"
        plot_pose(poses[v][t], ax=ax, color=color, title=title)
    return fig
