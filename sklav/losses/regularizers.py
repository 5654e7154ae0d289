"""Temporal regularizers on one embedded video (paper Eq. 6-7).

Each regularizer looks at the frames of a single video: ``emb`` of shape
``(B, n, d)`` holds ``B`` videos of ``n`` embedded frames, ``t`` their
timestamps (by default ``i / n_b``, the position of each of the ``n_b``
valid frames as a fraction of the sequence, the unit of the default
``sigma``; the paper's positions ``i`` or the frames' original indices work
too, with ``sigma`` in their unit).
With ``D_ij = ||emb_i - emb_j||^2``:

- ``idm`` (Eq. 6 as written, a loss to minimise):
  ``-sum_ij ((t_i - t_j)^2 + 1) * D_ij``; pushes every pair of frames apart,
  frames far apart in time the most. Bounded only because LAV's embeddings
  have unit norm (``D_ij <= 4``).
- ``sfa``: slow feature analysis, Eq. 7 without the weights:
  near pairs (``|t_i - t_j| <= sigma``) ``D_ij``, far pairs
  ``max(0, margin - D_ij)``.
- ``contrastive_idm`` (C-IDM, Eq. 7): near pairs ``D_ij / ((t_i-t_j)^2 + 1)``,
  far pairs ``((t_i - t_j)^2 + 1) * max(0, margin - D_ij)``.

Normalisation (``reduction``): ``'sum'``, the plain sum over all ordered
pairs of valid frames (the diagonal contributes 0), as in the paper's
equations; ``'mean'``, that sum divided by the number of ordered pairs of
distinct valid frames. :func:`~sklav.losses.lav_loss` then divides a pair's
total by its number of frames, as the official code does.
"""

from numbers import Real

import torch

from ..utils.param_validation import Interval, validate_params
from ..utils.tensors import check_lengths, check_tensor

__all__ = ["idm", "sfa", "contrastive_idm", "REGULARIZERS", "SIGMA", "MARGIN"]

# Defaults, written once for the functions, LAVLoss and LAVEncoder.
SIGMA = 0.1  # with the default timestamps, fractions of the video
MARGIN = 2.0


def _frame_mask_and_times(emb, t, lengths):
    """Validated (B, n) validity mask and float timestamps."""
    check_tensor(emb, "emb", 3)
    B, n, _ = emb.shape
    lengths = check_lengths(lengths, B, n, "lengths").to(emb.device)
    mask = torch.arange(n, device=emb.device)[None, :] < lengths[:, None]
    if t is None:
        t = torch.arange(n, device=emb.device, dtype=emb.dtype) / lengths[:, None].to(emb.dtype)
    else:
        t = torch.as_tensor(t, device=emb.device)
        if t.dim() == 1:
            t = t.expand(B, -1)
        if tuple(t.shape) != (B, n):
            raise ValueError(f"t must have shape ({B}, {n}) or ({n},), got {tuple(t.shape)}.")
        t = t.to(emb.dtype)
    return mask, t


REDUCTIONS = ("sum", "mean")


def _reduce(terms, pair_mask, reduction):
    total = (terms * pair_mask).sum((1, 2))
    if reduction == "sum":
        return total
    if reduction != "mean":
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}.")
    valid = pair_mask[:, :, 0].sum(1)  # frames per video
    return total / (valid * (valid - 1)).clamp_min(1).to(total.dtype)


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


def idm(emb, t=None, lengths=None, reduction="sum"):
    """Inverse difference moment (paper Eq. 6), as a loss to minimise.

    ``-sum_ij ((t_i - t_j)^2 + 1) * D_ij`` over the valid frames of each
    video: every pair of frames is pushed apart, the more so the further
    apart in time. With unit-norm embeddings ``D_ij <= 4`` bounds it below.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
        Embedded frames of ``B`` videos (padded to ``n``).
    t : torch.Tensor of shape (B, n) or (n,), optional
        Frame timestamps; default ``i / n_b``, the positions as fractions of
        each video's valid length ``n_b``.
    lengths : array-like of int of shape (B,), optional
        Valid frames per video.
    reduction : {'sum', 'mean'}, default='sum'
        Sum over ordered pairs, or mean over ordered pairs of distinct frames.

    Returns
    -------
    loss : torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import idm
    >>> emb = torch.tensor([[[0.0], [1.0], [3.0]]])
    >>> t = torch.arange(3.0)  # the paper's positions
    >>> idm(emb, t)  # -2 * (2 * 1 + 5 * 9 + 2 * 4)
    tensor([-110.])
    >>> idm(emb, t, reduction="mean")  # over the 6 ordered pairs
    tensor([-18.3333])
    """
    return regularize("idm", emb, t, lengths, None, None, reduction)


def sfa(emb, t=None, sigma=SIGMA, margin=MARGIN, lengths=None, reduction="sum"):
    """Slow feature analysis: Eq. 7 of the paper without its weights.

    Near pairs (``|t_i - t_j| <= sigma``) contribute ``D_ij``; far pairs
    ``max(0, margin - D_ij)``. Summed over ordered pairs of valid frames.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
    t : torch.Tensor of shape (B, n) or (n,), optional
    sigma : float, default=0.1
        Window, in the units of ``t``, within which frames count as near.
    margin : float, default=2.0
        Squared distance beyond which far pairs cost nothing.
    lengths : array-like of int of shape (B,), optional
    reduction : {'sum', 'mean'}, default='sum'
        Sum over ordered pairs, or mean over ordered pairs of distinct frames.

    Returns
    -------
    loss : torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import sfa
    >>> emb = torch.tensor([[[0.0], [1.0], [3.0]]])
    >>> sfa(emb, torch.arange(3.0), sigma=1.0, margin=2.0)  # near: 2*(1 + 4); far (0, 2): 2*max(0, 2 - 9)
    tensor([10.])
    """
    _check_sigma_margin(sigma, margin, "sfa")
    return regularize("sfa", emb, t, lengths, sigma, margin, reduction)


def contrastive_idm(emb, t=None, sigma=SIGMA, margin=MARGIN, lengths=None, reduction="sum"):
    """Contrastive inverse difference moment, C-IDM (paper Eq. 7).

    Near pairs (``|t_i - t_j| <= sigma``) contribute ``D_ij / ((t_i-t_j)^2+1)``,
    pulling frames close in time together; far pairs contribute
    ``((t_i-t_j)^2+1) * max(0, margin - D_ij)``, pushing frames far apart in
    time at least ``margin`` apart, the more so the further apart in time.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
    t : torch.Tensor of shape (B, n) or (n,), optional
    sigma : float, default=0.1
        Window, in the units of ``t``, within which frames count as near.
    margin : float, default=2.0
        Squared distance beyond which far pairs cost nothing.
    lengths : array-like of int of shape (B,), optional
    reduction : {'sum', 'mean'}, default='sum'
        Sum over ordered pairs, or mean over ordered pairs of distinct frames.

    Returns
    -------
    loss : torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import contrastive_idm
    >>> emb = torch.tensor([[[0.0], [1.0], [1.0]]])
    >>> # near: 2*(1/2 + 0/2); far (0, 2): 2 * 5 * max(0, 2 - 1)
    >>> contrastive_idm(emb, torch.arange(3.0), sigma=1.0, margin=2.0)
    tensor([11.])
    """
    _check_sigma_margin(sigma, margin, "contrastive_idm")
    return regularize("cidm", emb, t, lengths, sigma, margin, reduction)


def _idm_terms(D, gap, sigma, margin):
    return -(gap * gap + 1.0) * D


def _sfa_terms(D, gap, sigma, margin):
    return torch.where(gap > sigma, (margin - D).clamp_min(0.0), D)


def _cidm_terms(D, gap, sigma, margin):
    weight = gap * gap + 1.0
    return torch.where(gap > sigma, weight * (margin - D).clamp_min(0.0), D / weight)


_TERMS = {"cidm": _cidm_terms, "idm": _idm_terms, "sfa": _sfa_terms}
REGULARIZERS = {"cidm": contrastive_idm, "idm": idm, "sfa": sfa, None: None}


def regularize(name, emb, t, lengths, sigma, margin, reduction):
    """Regularizer ``name`` of each video, with hyper-parameters the caller
    validated (once, not per batch: :class:`~sklav.losses.LAVLoss`).

    Examples
    --------
    >>> import torch
    >>> from sklav.losses.regularizers import regularize
    >>> emb = torch.tensor([[[0.0], [1.0], [1.0]]])
    >>> regularize("sfa", emb, torch.arange(3.0)[None], None, 1.0, 2.0, "sum")
    tensor([4.])
    >>> regularize("sfa", emb, torch.arange(3.0)[None], None, 1.0, 2.0, "mean")  # over 6 pairs
    tensor([0.6667])
    """
    D, gap, pair_mask = _pairwise_terms(emb, t, lengths)
    return _reduce(_TERMS[name](D, gap, sigma, margin), pair_mask, reduction)

