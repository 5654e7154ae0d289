"""Penn Action skeletons, and frame retrieval results drawn as poses.

- :func:`plot_pose`: one 2D pose as a skeleton (:data:`PENN_ACTION_EDGES`).
- :func:`plot_retrieval`: a query frame and its nearest frames in other
  videos (found by :func:`sklav.metrics.nearest_frames`), drawn as poses.

Imports neither torch nor numba.
"""

import numpy as np

from ..datasets import PENN_ACTION_EDGES
from ..metrics import nearest_frames
from ._base import get_axes, get_figure, set_labels


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
        The axes, with the skeleton; the y axis points down.

    Examples
    --------
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
    return set_labels(ax, title=title, fontsize="small")


def plot_retrieval(embeddings, poses, video, frame, *, k=5, labels=None, fig=None):
    """A query frame and its ``k`` nearest frames in other videos, drawn as poses.

    Frames are retrieved by :func:`sklav.metrics.nearest_frames` on
    ``embeddings`` and drawn from ``poses``. With ``labels``, each retrieved pose is green when
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
    if len(poses) != len(embeddings):
        raise ValueError(f"poses has {len(poses)} videos but embeddings has {len(embeddings)}.")
    neighbours = nearest_frames(embeddings, video, frame, k=k)
    fig = get_figure(fig, figsize=(1.8 * (k + 1), 2.6))
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
