"""Plots of two aligned videos: distance matrix, alignment path, deviation.

- :func:`plot_distance_matrix`, :func:`plot_alignment_path`,
  :func:`plot_deviation`: one panel each.
- :func:`plot_alignment`: the three for one :class:`~sklav.alignment.Alignment`.

:mod:`sklav.alignment` (torch, numba) is imported inside the functions, so
that ``import sklav.plotting`` stays light.
"""

import numpy as np

from ._base import as_2d_float, get_axes, get_figure, set_labels


def _distances(x, y):
    from ..alignment.align import Alignment, squared_distances

    if isinstance(x, Alignment):
        if y is not None:
            raise ValueError("Give either an Alignment or two embedded videos x and y, not both.")
        return x.distances
    x = as_2d_float(x, "x")
    if y is None:
        return squared_distances(x, x)
    y = as_2d_float(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same embedding size, got {x.shape[1]} and {y.shape[1]}."
        )
    return squared_distances(x, y)


def plot_distance_matrix(x, y=None, *, ax=None, cmap="viridis", colorbar=True, labels=("a", "b")):
    """Squared Euclidean distances between the frames of two embedded videos.

    Row ``i``, column ``j`` shows ``||x_i - y_j||^2`` (dark: close). Well
    aligned embeddings of two executions of one action show a dark valley
    from the top-left to the bottom-right corner (the paper's Fig. 4).

    Parameters
    ----------
    x : array-like of shape (n, D), or Alignment
        Embedded frames of the first video, or an alignment whose
        ``distances`` are drawn.
    y : array-like of shape (m, D), optional
        Embedded frames of the second video; None draws ``x`` against itself
        (or the alignment's matrix).
    ax : matplotlib Axes, optional
        Default: the current axes.
    cmap : str, default='viridis'
    colorbar : bool, default=True
    labels : (str, str), default=('a', 'b')
        Names of the two videos, for the axis labels.

    Returns
    -------
    ax : matplotlib Axes
        The axes, with the matrix as ``ax.images[0]``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklav.plotting import plot_distance_matrix
    >>> t = np.linspace(0, 1, 20)
    >>> fig, ax = plt.subplots()
    >>> ax = plot_distance_matrix(np.c_[t, t ** 2], np.c_[t, t ** 3], ax=ax)
    >>> ax.images[0].get_array().shape
    (20, 20)
    """
    D = _distances(x, y)
    ax = get_axes(ax)
    image = ax.imshow(D, cmap=cmap, origin="upper", aspect="auto", interpolation="nearest")
    set_labels(ax, xlabel=f"frame of {labels[1]}", ylabel=f"frame of {labels[0]}")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="squared distance")
    return ax


def plot_alignment_path(path, *, ax=None, **plot_kwargs):
    """Draw an alignment path over a distance matrix drawn by :func:`plot_distance_matrix`.

    Parameters
    ----------
    path : Alignment or array-like of shape (L, 2)
        Pairs ``(i, j)``: frame ``i`` of the first video (row), frame ``j``
        of the second (column).
    ax : matplotlib Axes, optional
        Default: the current axes.
    **plot_kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` (default: a white line).

    Returns
    -------
    ax : matplotlib Axes
        The axes, with the path as its last line.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklav.alignment import align
    >>> from sklav.plotting import plot_alignment_path, plot_distance_matrix
    >>> t = np.linspace(0, 1, 20)[:, None]
    >>> result = align(None, t, t ** 2)
    >>> fig, ax = plt.subplots()
    >>> ax = plot_distance_matrix(result, ax=ax)
    >>> ax = plot_alignment_path(result, ax=ax)
    >>> len(ax.lines[0].get_xdata()) == len(result.path)
    True
    """
    from ..alignment.align import Alignment

    if isinstance(path, Alignment):
        path = path.path
    path = np.asarray(path)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
        raise ValueError(f"path must be pairs (i, j) of shape (L, 2), got shape {path.shape}.")
    ax = get_axes(ax)
    plot_kwargs.setdefault("color", "white")
    plot_kwargs.setdefault("linewidth", 1.5)
    ax.plot(path[:, 1], path[:, 0], **plot_kwargs)
    return ax


def plot_deviation(deviation, *, threshold="auto", ax=None, label=None, **plot_kwargs):
    """Per-frame deviation scores, with the frames above ``threshold`` marked.

    Parameters
    ----------
    deviation : Alignment or array-like of shape (m,)
        The scores (an alignment's ``deviation``).
    threshold : float, 'auto' or None, default='auto'
        Frames scoring above it are shaded and marked in red; 'auto': the
        alignment's own ``threshold`` (3 for an array); None marks none.
    ax : matplotlib Axes, optional
        Default: the current axes.
    label : str, optional
        Legend label of the curve.
    **plot_kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot`.

    Returns
    -------
    ax : matplotlib Axes
        The axes, with the curve, the threshold and the flagged frames.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklav.plotting import plot_deviation
    >>> fig, ax = plt.subplots()
    >>> ax = plot_deviation([0.1, 0.5, 4.0, 5.0, 0.2], threshold=3.0, ax=ax)
    >>> len(ax.patches)  # one shaded run of flagged frames
    1
    """
    from ..alignment.align import DEFAULT_THRESHOLD, Alignment

    if isinstance(deviation, Alignment):
        if threshold == "auto":
            threshold = deviation.threshold
        deviation = deviation.deviation
    elif threshold == "auto":
        threshold = DEFAULT_THRESHOLD
    deviation = np.asarray(deviation, dtype=np.float64)
    if deviation.ndim != 1 or deviation.size == 0:
        raise ValueError(f"deviation must be a non-empty 1-D array, got shape {deviation.shape}.")
    ax = get_axes(ax)
    frames = np.arange(len(deviation))
    ax.plot(frames, deviation, label=label, **plot_kwargs)
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=1)
        flagged = deviation > threshold
        for start, stop in _runs(flagged):
            ax.axvspan(start - 0.5, stop - 0.5, color="tab:red", alpha=0.2, linewidth=0)
        if flagged.any():
            ax.plot(frames[flagged], deviation[flagged], "o", color="tab:red", markersize=3)
    return set_labels(ax, xlabel="frame", ylabel="deviation", legend=label is not None)


def _runs(mask):
    """``(start, stop)`` of each run of True in a boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def plot_alignment(alignment, *, threshold="auto", labels=("a", "b"), fig=None):
    """One figure for an :class:`~sklav.alignment.Alignment`.

    Left: the distance matrix with the hard DTW path (white) and the
    Soft-DTW expected alignment (red contour at probability 0.5). Right: the
    deviation of every frame of ``b`` against the reference ``a``.

    Parameters
    ----------
    alignment : Alignment
        From :func:`sklav.alignment.align` or :meth:`Aligner.align
        <sklav.alignment.Aligner.align>`.
    threshold : float, 'auto' or None, default='auto'
        Deviation above which frames are flagged; 'auto': the alignment's
        ``threshold``; None: no flags.
    labels : (str, str), default=('a', 'b')
        Names of the reference and the aligned video.
    fig : matplotlib Figure, optional
        Drawn into (cleared first); default: a new figure.

    Returns
    -------
    fig : matplotlib Figure
        ``fig.axes``: the matrix, the deviation, the matrix's colorbar.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklav.alignment import align
    >>> from sklav.plotting import plot_alignment
    >>> t = np.linspace(0, 1, 20)[:, None]
    >>> fig = plot_alignment(align(None, t, t ** 2))
    >>> len(fig.axes)  # matrix, its colorbar, deviation
    3
    >>> plt.close("all")
    """
    from ..alignment.align import Alignment

    if not isinstance(alignment, Alignment):
        raise TypeError(
            f"plot_alignment takes an Alignment (from sklav.alignment.align), got "
            f"{type(alignment).__name__}."
        )
    fig = get_figure(fig, figsize=(10, 4))
    matrix_ax, deviation_ax = fig.subplots(1, 2, width_ratios=(1, 1.3))
    plot_distance_matrix(alignment, ax=matrix_ax, labels=labels)
    n, m = alignment.shape
    if n > 1 and m > 1 and alignment.soft.max() > 0.5:
        matrix_ax.contour(alignment.soft, levels=[0.5], colors="tab:red", linewidths=1)
    plot_alignment_path(alignment, ax=matrix_ax, label="DTW path")
    set_labels(matrix_ax, title="distances, DTW path, soft alignment")
    plot_deviation(alignment, threshold=threshold, ax=deviation_ax)
    set_labels(
        deviation_ax,
        xlabel=f"frame of {labels[1]}",
        title=f"deviation of {labels[1]} from {labels[0]}",
    )
    return fig
