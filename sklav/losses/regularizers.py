"""Temporal regularizers on one embedded video (paper Eq. 6-7).

Each regularizer looks at the frames of a single video: ``emb`` of shape
``(B, n, d)`` holds ``B`` videos of ``n`` embedded frames, ``t`` their
timestamps (by default the positions ``0..n-1`` of the sampled frames, the
``i`` and ``j`` of the paper; the sampled frames' original indices work too).
With ``D_ij = ||emb_i - emb_j||^2``:

- ``idm`` (Eq. 6): ``sum_ij D_ij / ((t_i - t_j)^2 + 1)``; pulls temporally
  close frames together (its minimum is a collapse to a point).
- ``sfa``: slow feature analysis, Eq. 7 without the weights:
  near pairs (``|t_i - t_j| <= sigma``) ``D_ij``, far pairs
  ``max(0, margin - D_ij)``.
- ``contrastive_idm`` (C-IDM, Eq. 7): near pairs ``D_ij / ((t_i-t_j)^2 + 1)``,
  far pairs ``((t_i - t_j)^2 + 1) * max(0, margin - D_ij)``.

Normalisation: each returns the plain sum over all ordered pairs of valid
frames (the diagonal contributes 0), as in the paper's equations;
:func:`lav_loss` divides a pair's total by its number of frames, as the
official code does, so the loss is per frame and its scale does not grow with
``num_frames``.
"""

from numbers import Real

import torch

from ..utils.param_validation import Interval, validate_params
from ..utils.tensors import check_lengths, check_tensor

__all__ = ["idm", "sfa", "contrastive_idm", "REGULARIZERS", "SIGMA", "MARGIN"]

# Defaults, written once for the functions, LAVLoss and LAVEncoder.
SIGMA = 2.0
MARGIN = 2.0


def _frame_mask_and_times(emb, t, lengths):
    """Validated (B, n) validity mask and float timestamps."""
    check_tensor(emb, "emb", 3)
    B, n, _ = emb.shape
    lengths = check_lengths(lengths, B, n, "lengths").to(emb.device)
    mask = torch.arange(n, device=emb.device)[None, :] < lengths[:, None]
    if t is None:
        t = torch.arange(n, device=emb.device, dtype=emb.dtype).expand(B, n)
    else:
        t = torch.as_tensor(t, device=emb.device)
        if t.dim() == 1:
            t = t.expand(B, -1)
        if tuple(t.shape) != (B, n):
            raise ValueError(f"t must have shape ({B}, {n}) or ({n},), got {tuple(t.shape)}.")
        t = t.to(emb.dtype)
    return mask, t


def _pairwise_terms(emb, t, lengths):
    """Squared distances D, time gaps |t_i - t_j|, and the pair mask, (B, n, n)."""
    mask, t = _frame_mask_and_times(emb, t, lengths)
    sq = (emb * emb).sum(-1)
    D = (sq[:, :, None] + sq[:, None, :] - 2.0 * emb @ emb.transpose(1, 2)).clamp_min(0.0)
    gap = (t[:, :, None] - t[:, None, :]).abs()
    pair_mask = mask[:, :, None] & mask[:, None, :]
    return D, gap, pair_mask


WINDOW_CONSTRAINTS = {
    "sigma": [Interval(Real, 0, None, closed="left")],
    "margin": [Interval(Real, 0, None, closed="neither")],
}


def _check_sigma_margin(sigma, margin, caller):
    validate_params(WINDOW_CONSTRAINTS, dict(sigma=sigma, margin=margin), caller)


def idm(emb, t=None, lengths=None):
    """Inverse difference moment (paper Eq. 6), as a loss to minimise.

    ``sum_ij D_ij / ((t_i - t_j)^2 + 1)`` over the valid frames of each video.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
        Embedded frames of ``B`` videos (padded to ``n``).
    t : torch.Tensor of shape (B, n) or (n,), optional
        Frame timestamps; default the positions ``0..n-1``.
    lengths : array-like of int of shape (B,), optional
        Valid frames per video.

    Returns
    -------
    loss : torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import idm
    >>> emb = torch.tensor([[[0.0], [1.0], [3.0]]])
    >>> idm(emb)  # 2 * (1/2 + 9/5 + 4/2)
    tensor([8.6000])
    """
    D, gap, pair_mask = _pairwise_terms(emb, t, lengths)
    terms = D / (gap * gap + 1.0)
    return (terms * pair_mask).sum((1, 2))


def sfa(emb, t=None, sigma=SIGMA, margin=MARGIN, lengths=None):
    """Slow feature analysis: Eq. 7 of the paper without its weights.

    Near pairs (``|t_i - t_j| <= sigma``) contribute ``D_ij``; far pairs
    ``max(0, margin - D_ij)``. Summed over ordered pairs of valid frames.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
    t : torch.Tensor of shape (B, n) or (n,), optional
    sigma : float, default=2.0
        Window, in the units of ``t``, within which frames count as near.
    margin : float, default=2.0
        Squared distance beyond which far pairs cost nothing.
    lengths : array-like of int of shape (B,), optional

    Returns
    -------
    loss : torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import sfa
    >>> emb = torch.tensor([[[0.0], [1.0], [3.0]]])
    >>> sfa(emb, sigma=1.0, margin=2.0)  # near: 2*(1 + 4); far (0, 2): 2*max(0, 2 - 9)
    tensor([10.])
    """
    _check_sigma_margin(sigma, margin, "sfa")
    D, gap, pair_mask = _pairwise_terms(emb, t, lengths)
    terms = torch.where(gap > sigma, (margin - D).clamp_min(0.0), D)
    return (terms * pair_mask).sum((1, 2))


def contrastive_idm(emb, t=None, sigma=SIGMA, margin=MARGIN, lengths=None):
    """Contrastive inverse difference moment, C-IDM (paper Eq. 7).

    Near pairs (``|t_i - t_j| <= sigma``) contribute ``D_ij / ((t_i-t_j)^2+1)``,
    pulling frames close in time together; far pairs contribute
    ``((t_i-t_j)^2+1) * max(0, margin - D_ij)``, pushing frames far apart in
    time at least ``margin`` apart, the more so the further apart in time.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
    t : torch.Tensor of shape (B, n) or (n,), optional
    sigma : float, default=2.0
        Window, in the units of ``t``, within which frames count as near.
    margin : float, default=2.0
        Squared distance beyond which far pairs cost nothing.
    lengths : array-like of int of shape (B,), optional

    Returns
    -------
    loss : torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import contrastive_idm
    >>> emb = torch.tensor([[[0.0], [1.0], [1.0]]])
    >>> # near: 2*(1/2 + 0/2); far (0, 2): 2 * 5 * max(0, 2 - 1)
    >>> contrastive_idm(emb, sigma=1.0, margin=2.0)
    tensor([11.])
    """
    _check_sigma_margin(sigma, margin, "contrastive_idm")
    D, gap, pair_mask = _pairwise_terms(emb, t, lengths)
    weight = gap * gap + 1.0
    terms = torch.where(gap > sigma, weight * (margin - D).clamp_min(0.0), D / weight)
    return (terms * pair_mask).sum((1, 2))


REGULARIZERS = {"cidm": contrastive_idm, "idm": idm, "sfa": sfa, None: None}

