"""Per-frame pose normalisation, shared by the Penn Action loader and the encoder.

:func:`normalize_poses` is the one place that centres and scales poses: the
loader (:func:`sklav.datasets.load_penn_action`, on float64 image
coordinates) and the encoder's pose preprocessor (on float32 torch tensors)
both call it. It works on numpy arrays and torch tensors alike and computes in
the input's dtype, so each caller keeps its own precision.
"""

import sys

import numpy as np

__all__ = ["normalize_poses"]


def _is_tensor(array):
    torch = sys.modules.get("torch")  # a tensor means torch is imported already
    return torch is not None and isinstance(array, torch.Tensor)


def normalize_poses(coords, visible=None, *, min_scale=None):
    """Centre and scale poses per frame on their visible joints.

    For every frame, the centre is the mean of the visible joints and the
    scale is their root-mean-square distance to that centre; the result is
    ``(p - centre) / scale`` for visible joints and 0 for invisible ones.

    Parameters
    ----------
    coords : ndarray or torch.Tensor of shape (N, J, C)
        Joint coordinates of ``N`` frames (any number ``C`` of axes), float.
        The computation runs in this dtype and framework.
    visible : ndarray or torch.Tensor of shape (N, J), bool, or None
        True where a joint is visible; None means every joint is.
    min_scale : float or None, default=None
        How a frame whose visible joints (nearly) coincide is scaled. None
        divides a frame of zero spread by 1 (its joints are all at the centre,
        so they become 0) and every other frame by its spread, so visible
        joints always end with RMS norm 1. A positive number floors the scale
        at ``min_scale`` instead, which also damps frames whose spread is
        tiny but not zero.

    Returns
    -------
    normalised : ndarray or torch.Tensor of shape (N, J, C)
        Same framework and dtype as ``coords``. A frame with one visible joint
        or none is all zeros (no division by zero).

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.utils import normalize_poses
    >>> coords = np.array([[[0.0, 0.0], [2.0, 0.0], [99.0, 99.0]]])
    >>> normalize_poses(coords, np.array([[True, True, False]]))
    array([[[-1.,  0.],
            [ 1.,  0.],
            [ 0.,  0.]]])
    >>> import torch
    >>> normalize_poses(torch.tensor(coords[:, :2]), min_scale=1e-6)
    tensor([[[-1.,  0.],
             [ 1.,  0.]]], dtype=torch.float64)
    """
    tensor = _is_tensor(coords)
    if visible is None:
        weight = coords.new_ones(coords.shape[:-1] + (1,)) if tensor else np.ones_like(coords[..., :1])
    elif tensor:
        weight = visible[..., None].to(coords.dtype)
    else:
        weight = np.asarray(visible)[..., None].astype(coords.dtype)
    count = weight.sum(1).clip(min=1)  # (N, 1); 1 avoids 0/0 in empty frames
    centre = (coords * weight).sum(1) / count  # (N, C)
    centred = (coords - centre[:, None]) * weight  # invisible joints -> 0
    spread = (centred**2).sum((1, 2)) / count[:, 0]
    spread = spread.sqrt() if tensor else np.sqrt(spread)
    if min_scale is None:
        scale = spread.where(spread > 0, 1.0) if tensor else np.where(spread > 0, spread, 1.0)
    else:
        scale = spread.clip(min=min_scale)
    return centred / scale[:, None, None]
