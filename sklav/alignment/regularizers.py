"""Temporal regularizers on one embedded video, and the LAV loss (paper Eq. 6-8).

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

import torch

from .softdtw import _check_gamma, _check_lengths, _check_tensor, soft_dtw

__all__ = ["idm", "sfa", "contrastive_idm", "lav_loss", "REGULARIZERS"]


def _frame_mask_and_times(emb, t, lengths):
    """Validated (B, n) validity mask and float timestamps."""
    _check_tensor(emb, "emb", 3)
    B, n, _ = emb.shape
    lengths = _check_lengths(lengths, B, n, "lengths").to(emb.device)
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


def _check_sigma_margin(sigma, margin):
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}.")
    if not margin > 0:
        raise ValueError(f"margin must be > 0, got {margin}.")


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
    >>> from sklav.alignment import idm
    >>> emb = torch.tensor([[[0.0], [1.0], [3.0]]])
    >>> idm(emb)  # 2 * (1/2 + 9/5 + 4/2)
    tensor([8.6000])
    """
    D, gap, pair_mask = _pairwise_terms(emb, t, lengths)
    terms = D / (gap * gap + 1.0)
    return (terms * pair_mask).sum((1, 2))


def sfa(emb, t=None, sigma=1.0, margin=2.0, lengths=None):
    """Slow feature analysis: Eq. 7 of the paper without its weights.

    Near pairs (``|t_i - t_j| <= sigma``) contribute ``D_ij``; far pairs
    ``max(0, margin - D_ij)``. Summed over ordered pairs of valid frames.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
    t : torch.Tensor of shape (B, n) or (n,), optional
    sigma : float, default=1.0
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
    >>> from sklav.alignment import sfa
    >>> emb = torch.tensor([[[0.0], [1.0], [3.0]]])
    >>> sfa(emb, sigma=1.0, margin=2.0)  # near: 2*(1 + 4); far (0, 2): 2*max(0, 2 - 9)
    tensor([10.])
    """
    _check_sigma_margin(sigma, margin)
    D, gap, pair_mask = _pairwise_terms(emb, t, lengths)
    terms = torch.where(gap > sigma, (margin - D).clamp_min(0.0), D)
    return (terms * pair_mask).sum((1, 2))


def contrastive_idm(emb, t=None, sigma=1.0, margin=2.0, lengths=None):
    """Contrastive inverse difference moment, C-IDM (paper Eq. 7).

    Near pairs (``|t_i - t_j| <= sigma``) contribute ``D_ij / ((t_i-t_j)^2+1)``,
    pulling frames close in time together; far pairs contribute
    ``((t_i-t_j)^2+1) * max(0, margin - D_ij)``, pushing frames far apart in
    time at least ``margin`` apart, the more so the further apart in time.

    Parameters
    ----------
    emb : torch.Tensor of shape (B, n, d)
    t : torch.Tensor of shape (B, n) or (n,), optional
    sigma : float, default=1.0
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
    >>> from sklav.alignment import contrastive_idm
    >>> emb = torch.tensor([[[0.0], [1.0], [1.0]]])
    >>> # near: 2*(1/2 + 0/2); far (0, 2): 2 * 5 * max(0, 2 - 1)
    >>> contrastive_idm(emb, sigma=1.0, margin=2.0)
    tensor([11.])
    """
    _check_sigma_margin(sigma, margin)
    D, gap, pair_mask = _pairwise_terms(emb, t, lengths)
    weight = gap * gap + 1.0
    terms = torch.where(gap > sigma, weight * (margin - D).clamp_min(0.0), D / weight)
    return (terms * pair_mask).sum((1, 2))


REGULARIZERS = {"cidm": contrastive_idm, "idm": idm, "sfa": sfa, None: None}


def _regularize(name, emb, t, lengths, sigma, margin):
    if name == "idm":
        return idm(emb, t, lengths=lengths)
    return REGULARIZERS[name](emb, t, sigma=sigma, margin=margin, lengths=lengths)


def lav_loss(
    x,
    y,
    x_t=None,
    y_t=None,
    x_lengths=None,
    y_lengths=None,
    gamma=0.1,
    alpha=0.5,
    sigma=1.0,
    margin=2.0,
    regularizer="cidm",
    alignment="softdtw",
):
    """The LAV loss of a batch of video pairs (paper Eq. 8).

    Per pair: ``(softdtw_gamma(X, Y) + alpha * (I(X) + I(Y))) / N``, with
    ``I`` the chosen regularizer and ``N`` the pair's mean number of frames
    (the official code's normalisation); the mean over the pairs of the batch.

    Parameters
    ----------
    x : torch.Tensor of shape (B, n, d)
    y : torch.Tensor of shape (B, m, d)
        Embedded frames of the two videos of each pair.
    x_t, y_t : torch.Tensor of shape (B, n) and (B, m), optional
        Frame timestamps for the regularizer (default positions).
    x_lengths, y_lengths : array-like of int of shape (B,), optional
        Valid frames per video in padded batches.
    gamma : float, default=0.1
        Soft-DTW smoothing.
    alpha : float, default=0.5
        Weight of the regularizer.
    sigma, margin : float
        Window and margin of ``'cidm'`` and ``'sfa'``.
    regularizer : {'cidm', 'idm', 'sfa', None}, default='cidm'
        The temporal regularizer (paper Tab. 1 ablation).
    alignment : {'softdtw', None}, default='softdtw'
        The alignment term; None leaves the regularizer alone.

    Returns
    -------
    loss : torch.Tensor, scalar

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import lav_loss
    >>> x = torch.randn(4, 10, 8, requires_grad=True)
    >>> y = torch.randn(4, 12, 8)
    >>> loss = lav_loss(x, y, gamma=0.1, alpha=0.5, sigma=2.0)
    >>> loss.backward()
    >>> loss.dim(), x.grad.shape
    (0, torch.Size([4, 10, 8]))
    """
    if regularizer not in REGULARIZERS:
        raise ValueError(f"regularizer must be one of 'cidm', 'idm', 'sfa' or None, got {regularizer!r}.")
    if alignment not in ("softdtw", None):
        raise ValueError(f"alignment must be 'softdtw' or None, got {alignment!r}.")
    if alignment is None and regularizer is None:
        raise ValueError("lav_loss needs an alignment term or a regularizer; both are None.")
    _check_gamma(gamma)
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}.")
    _check_tensor(x, "x", 3)
    _check_tensor(y, "y", 3)
    B = x.shape[0]
    nx = _check_lengths(x_lengths, B, x.shape[1], "x_lengths").to(x.device)
    ny = _check_lengths(y_lengths, B, y.shape[1], "y_lengths").to(x.device)
    total = x.new_zeros(B)
    if alignment == "softdtw":
        total = total + soft_dtw(x, y, gamma, nx, ny)
    if regularizer is not None:
        total = total + alpha * (
            _regularize(regularizer, x, x_t, nx, sigma, margin)
            + _regularize(regularizer, y, y_t, ny, sigma, margin)
        )
    frames = (nx + ny).to(x.dtype) / 2.0
    return (total / frames).mean()
