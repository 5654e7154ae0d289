"""The LAV objective (paper Eq. 8) as a function and as a skorch criterion.

- :func:`lav_loss`: Soft-DTW between the two embedded videos of each pair
  plus a temporal regularizer on each video.
- :class:`LAVLoss`: the same (optionally plus TCC) as a ``torch.nn.Module``
  that validates its hyper-parameters once; :class:`~sklav.LAVEncoder`'s
  skorch net uses it as its ``criterion``.
"""

from numbers import Real

import torch
from torch import nn

from ..alignment import soft_dtw
from ..utils.param_validation import Interval, StrOptions, validate_params
from ..utils.tensors import check_lengths, check_tensor
from .regularizers import MARGIN, REDUCTIONS, REGULARIZERS, SIGMA, WINDOW_CONSTRAINTS, regularize
from .tcc import TCC_CONSTRAINTS, TCC_DEFAULTS, tcc_loss, tcc_loss_all_pairs

__all__ = ["lav_loss", "LAVLoss", "GAMMA", "ALPHA", "TIME_UNIT"]

# Defaults, written once for lav_loss, LAVLoss and LAVEncoder.
GAMMA = 0.1
ALPHA = 0.5
TIME_UNIT = "fraction"

LAV_CONSTRAINTS = {
    "gamma": [Interval(Real, 0, None, closed="neither")],
    "alpha": [Interval(Real, 0, None, closed="left")],
    **WINDOW_CONSTRAINTS,
    "regularizer": [StrOptions(set(k for k in REGULARIZERS if k)), None],
    "alignment": [StrOptions({"softdtw"}), None],
    "reduction": [StrOptions(set(REDUCTIONS))],
    "normalize": ["boolean"],
}

def lav_loss(
    x,
    y,
    x_t=None,
    y_t=None,
    x_lengths=None,
    y_lengths=None,
    gamma=GAMMA,
    alpha=ALPHA,
    sigma=SIGMA,
    margin=MARGIN,
    regularizer="cidm",
    alignment="softdtw",
    reduction="sum",
    normalize=False,
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
        Frame timestamps for the regularizer (default: positions as fractions
        of each video's valid length).
    x_lengths, y_lengths : array-like of int of shape (B,), optional
        Valid frames per video in padded batches.
    gamma : float, default=0.1
        Soft-DTW smoothing.
    alpha : float, default=0.5
        Weight of the regularizer.
    sigma : float, default=0.1
        Window of ``'cidm'`` and ``'sfa'``, in the units of the timestamps.
    margin : float, default=2.0
        Margin of ``'cidm'`` and ``'sfa'``.
    regularizer : {'cidm', 'idm', 'sfa', None}, default='cidm'
        The temporal regularizer (paper Tab. 1 ablation).
    alignment : {'softdtw', None}, default='softdtw'
        The alignment term; None leaves the regularizer alone.
    reduction : {'sum', 'mean'}, default='sum'
        The regularizer's sum over ordered pairs of frames (the paper's
        equations), or its mean.
    normalize : bool, default=False
        Align with the soft-DTW divergence (``soft_dtw(..., normalize=True)``,
        non-negative) instead of the paper's soft-DTW discrepancy.

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
    settings = dict(gamma=gamma, alpha=alpha, sigma=sigma, margin=margin,
                    regularizer=regularizer, alignment=alignment, reduction=reduction,
                    normalize=normalize)
    validate_params(LAV_CONSTRAINTS, settings, "lav_loss")
    _check_terms(regularizer, alignment)
    return _lav_loss(x, y, x_t, y_t, x_lengths, y_lengths, **settings)


def _check_terms(regularizer, alignment, tcc_weight=0.0):
    if alignment is None and regularizer is None and not tcc_weight:
        raise ValueError(
            "Nothing to train: alignment and regularizer are None (and tcc_weight is 0)."
        )


def _lav_loss(x, y, x_t, y_t, x_lengths, y_lengths, gamma, alpha, sigma, margin,
              regularizer, alignment, reduction, normalize):
    check_tensor(x, "x", 3)
    check_tensor(y, "y", 3)
    B = x.shape[0]
    # int64 CPU tensors; the regularizers move them to the device for their masks
    nx = check_lengths(x_lengths, B, x.shape[1], "x_lengths")
    ny = check_lengths(y_lengths, B, y.shape[1], "y_lengths")
    total = x.new_zeros(B)
    if alignment == "softdtw":
        total = total + soft_dtw(x, y, gamma, nx, ny, normalize=normalize)
    if regularizer is not None:
        total = total + alpha * (
            regularize(regularizer, x, x_t, nx, sigma, margin, reduction)
            + regularize(regularizer, y, y_t, ny, sigma, margin, reduction)
        )
    frames = (nx + ny).to(x.device, x.dtype) / 2.0
    return (total / frames).mean()


_TCC_CONSTRAINTS = {
    "tcc_weight": [Interval(Real, 0, None, closed="left")],
    **{f"tcc_{name}": constraint for name, constraint in TCC_CONSTRAINTS.items()},
    "tcc_normalize_indices": ["boolean", StrOptions({"auto"})],
}


class LAVLoss(nn.Module):
    """The LAV objective as a skorch criterion, optionally plus TCC.

    Hyper-parameters are validated once, here; the forward pass computes
    ``lav_loss(x, y, ...) + tcc_weight * tcc_loss(x, y, ...)`` on the pairs of
    a batch. This is :class:`~sklav.LAVEncoder`'s default ``criterion``; a
    replacement objective is any ``nn.Module`` with the same ``forward``.

    Parameters
    ----------
    gamma, alpha, sigma, margin, regularizer, alignment, reduction, normalize
        As in :func:`lav_loss` (same defaults).
    time_unit : {'fraction', 'position', 'frame'}, default='fraction'
        The regularizer's timestamps, the unit of ``sigma``: the sampled
        frames' indices divided by their video's length (in ``[0, 1)``, as
        the official code), their positions ``0..P-1`` (the paper's
        ``i, j``), or their frame indices.
    tcc_weight : float, default=0.0
        Weight of the added TCC loss; with ``alignment=None`` and
        ``regularizer=None``, TCC alone.
    tcc_cycles : {'batch', 'pairs'}, default='batch'
        Cycle every video through every other video of the batch, as TCC
        does, or only through its partner.
    tcc_temperature, tcc_variance_lambda, tcc_similarity, tcc_loss_type
        :func:`~sklav.losses.tcc_loss`'s ``temperature``,
        ``variance_lambda``, ``similarity`` and ``loss_type`` (same
        defaults).
    tcc_normalize_indices : bool or 'auto', default='auto'
        Divide TCC's timestamps by each video's number of sampled frames.
        'auto': unless ``time_unit='fraction'``, whose timestamps already lie
        in ``[0, 1)`` as TCC's normalised indices do (dividing them again
        would shrink the plain regression's term about ``P**2``-fold).

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import LAVLoss
    >>> criterion = LAVLoss(gamma=0.1, tcc_weight=0.5)
    >>> embeddings = torch.nn.functional.normalize(torch.randn(4, 6, 8), dim=-1)  # x0, y0, x1, y1
    >>> batch = {"lengths": torch.tensor([6, 5, 6, 6]), "frame_indices": 3 * torch.arange(6.0).expand(4, 6),
    ...          "video_lengths": torch.tensor([18, 15, 20, 18])}
    >>> criterion(embeddings, batch).dim()
    0
    >>> LAVLoss(gamma=-1.0)
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'gamma' parameter of LAVLoss must be a float in the range (0.0, inf). Got -1.0 instead.
    """

    def __init__(
        self,
        gamma=GAMMA,
        alpha=ALPHA,
        sigma=SIGMA,
        margin=MARGIN,
        regularizer="cidm",
        alignment="softdtw",
        reduction="sum",
        normalize=False,
        time_unit=TIME_UNIT,
        tcc_weight=0.0,
        tcc_cycles="batch",
        tcc_temperature=TCC_DEFAULTS["temperature"],
        tcc_variance_lambda=TCC_DEFAULTS["variance_lambda"],
        tcc_similarity=TCC_DEFAULTS["similarity"],
        tcc_normalize_indices="auto",
        tcc_loss_type=TCC_DEFAULTS["loss_type"],
    ):
        super().__init__()
        self.lav = dict(gamma=gamma, alpha=alpha, sigma=sigma, margin=margin,
                        regularizer=regularizer, alignment=alignment, reduction=reduction,
                        normalize=normalize)
        self.time_unit = time_unit
        self.tcc = dict(temperature=tcc_temperature, variance_lambda=tcc_variance_lambda,
                        similarity=tcc_similarity, normalize_indices=tcc_normalize_indices,
                        loss_type=tcc_loss_type)
        self.tcc_weight = tcc_weight
        self.tcc_cycles = tcc_cycles
        validate_params(LOSS_CONSTRAINTS, self._settings(), type(self).__name__)
        _check_terms(regularizer, alignment, tcc_weight)

    def _settings(self):
        tcc = {f"tcc_{name}": value for name, value in self.tcc.items()}
        return {**self.lav, "time_unit": self.time_unit, "tcc_weight": self.tcc_weight,
                "tcc_cycles": self.tcc_cycles, **tcc}

    def _timestamps(self, batch, device):
        """The regularizer's timestamps ``(2B, P)`` in ``time_unit``."""
        indices = batch["frame_indices"]
        if self.time_unit == "position":
            times = torch.arange(indices.shape[1], dtype=indices.dtype).expand_as(indices)
        elif self.time_unit == "fraction":
            times = indices / batch["video_lengths"].to(indices.dtype)[:, None]
        else:
            times = indices
        return times.to(device, non_blocking=True)

    def forward(self, embeddings, batch):
        """Loss of a batch of pairs.

        Parameters
        ----------
        embeddings : torch.Tensor of shape (2B, P, d)
            Embedded videos, interleaved ``x0, y0, x1, y1, ...``.
        batch : dict
            ``'lengths'``: int tensor ``(2B,)`` of valid frames per video
            (kept on the CPU); ``'frame_indices'``: tensor ``(2B, P)``, the
            sampled frames' indices in their videos; ``'video_lengths'``:
            int tensor ``(2B,)``, the videos' frame counts (see
            :func:`~sklav.encoders.data.collate_video_pairs`).

        Returns
        -------
        loss : torch.Tensor, scalar
        """
        lengths = batch["lengths"]
        times = self._timestamps(batch, embeddings.device)
        x, y = embeddings[0::2], embeddings[1::2]
        pair = (x, y, times[0::2], times[1::2], lengths[0::2], lengths[1::2])
        loss = embeddings.new_zeros(())
        if self.lav["alignment"] is not None or self.lav["regularizer"] is not None:
            loss = loss + _lav_loss(*pair, **self.lav)
        if self.tcc_weight:
            loss = loss + self.tcc_weight * self._tcc(embeddings, times, lengths, pair)
        return loss

    def _tcc(self, embeddings, times, lengths, pair):
        settings = dict(self.tcc)
        if settings["normalize_indices"] == "auto":
            settings["normalize_indices"] = self.time_unit != "fraction"
        if self.tcc_cycles == "pairs":
            return tcc_loss(*pair, **settings)
        return tcc_loss_all_pairs(embeddings, times, lengths, **settings)

    def extra_repr(self):
        return ", ".join(f"{name}={value!r}" for name, value in self._settings().items())


LOSS_CONSTRAINTS = {
    **LAV_CONSTRAINTS,
    "time_unit": [StrOptions({"position", "fraction", "frame"})],
    "tcc_cycles": [StrOptions({"batch", "pairs"})],
    **_TCC_CONSTRAINTS,
}
