"""The LAV objective (paper Eq. 8): Soft-DTW between two embedded videos plus
a temporal regularizer on each."""

from ..alignment import soft_dtw
from ..utils.tensors import check_gamma, check_lengths, check_tensor
from .regularizers import REGULARIZERS, idm

__all__ = ["lav_loss"]


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
    >>> from sklav.losses import lav_loss
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
    check_gamma(gamma)
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}.")
    check_tensor(x, "x", 3)
    check_tensor(y, "y", 3)
    B = x.shape[0]
    # int64 CPU tensors; the regularizers move them to the device for their masks
    nx = check_lengths(x_lengths, B, x.shape[1], "x_lengths")
    ny = check_lengths(y_lengths, B, y.shape[1], "y_lengths")
    total = x.new_zeros(B)
    if alignment == "softdtw":
        total = total + soft_dtw(x, y, gamma, nx, ny)
    if regularizer is not None:
        total = total + alpha * (
            _regularize(regularizer, x, x_t, nx, sigma, margin)
            + _regularize(regularizer, y, y_t, ny, sigma, margin)
        )
    frames = (nx + ny).to(x.device, x.dtype) / 2.0
    return (total / frames).mean()
