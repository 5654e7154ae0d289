"""Shared plotting helpers: the optional matplotlib import, axes and figures.

Private to :mod:`sklav.plotting`; every plot function goes through
:func:`get_axes` or :func:`get_figure` and labels its axes with
:func:`set_labels`.
"""

import numpy as np


def import_pyplot():
    """``matplotlib.pyplot``, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sklav.plotting needs matplotlib, a dependency of sklav that is missing "
            "here: pip install matplotlib."
        ) from exc
    return plt


def get_axes(ax):
    """``ax``, or the current axes of pyplot when None."""
    if ax is None:
        return import_pyplot().gca()
    return ax


def get_figure(fig, figsize):
    """``fig`` cleared, or a new constrained-layout figure of ``figsize`` when None."""
    if fig is None:
        return import_pyplot().figure(figsize=figsize, layout="constrained")
    fig.clear()
    return fig


def set_labels(ax, *, xlabel=None, ylabel=None, title=None, legend=False, **title_kwargs):
    """Set the axis labels and title that are not None, and draw the legend if asked."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title, **title_kwargs)
    if legend:
        ax.legend()
    return ax


def as_2d_float(values, name):
    """``values`` as a non-empty 2-D float64 array."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {values.shape}.")
    return values
