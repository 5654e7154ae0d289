"""Shared plotting helpers: the optional matplotlib import and axes handling."""

import numpy as np


def import_pyplot():
    """``matplotlib.pyplot``, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sklav.plotting needs matplotlib, an optional dependency: "
            "pip install 'sklav[plot]' (or pip install matplotlib)."
        ) from exc
    return plt


def get_axes(ax):
    """``ax``, or the current axes of pyplot when None."""
    if ax is None:
        return import_pyplot().gca()
    return ax


def as_2d_float(values, name):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {values.shape}.")
    return values
