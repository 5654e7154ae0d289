"""Soft-DTW (Cuturi & Blondel, 2017) as differentiable torch operations.

The value is the soft-minimum, over all monotone alignment paths, of the summed
cost along the path:

    R[i, j] = D[i, j] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1]),
    softmin_gamma(a) = -gamma * log(sum_k exp(-a_k / gamma)),

with ``R[-1, -1] = 0`` and the other borders at ``+inf``; ``soft_dtw`` is
``R[n-1, m-1]``. Its gradient with respect to the cost is the expected
alignment matrix ``E`` (``soft_alignment``), which tends to the hard DTW path
as ``gamma -> 0``.

Precision: the cost of ``soft_dtw(x, y)`` and the whole dynamic programme are
computed in float64 whatever the input dtype, so float32 inputs get values and
gradients within float32 rounding of an exact float64 computation. Kernels:
numba on the CPU (``_softdtw_numba``), Triton on CUDA (``_softdtw_triton``);
without numba, a slower pure-torch wavefront on the CPU (``_softdtw_torch``),
chosen in ``_softdtw_dispatch``.

Band: with ``bandwidth``, the cells outside a Sakoe-Chiba band are
unreachable (``R = +inf``, zero gradient); the band's rule is in
``_band``. The numba kernel sweeps the band's cells only.

Memory: a forward keeps, per cell of the table (or of the band), two
soft-min weights for its backward: float32 (8 bytes) for inputs no more
precise than float32, float64 for float64 inputs.

This module holds the autograd functions and the public API; the input
checks live in :mod:`sklav.utils.tensors`.
"""

import torch

from ..utils.tensors import check_gamma, check_lengths, check_pair, check_tensor
from ._autograd import first_order_only
from ._band import band_limits, band_widths, check_bandwidth
from ._cost import COSTS, pairwise_cost, squared_euclidean_cost
from ._softdtw_dispatch import CPUState, cpu_backward, cpu_forward, kernel_backward, kernel_forward

__all__ = ["soft_dtw", "soft_dtw_from_cost", "soft_alignment", "SoftDTW"]


# --------------------------------------------------------------------------
# autograd


class _SoftDTWFunction(torch.autograd.Function):
    """Soft-DTW of a cost tensor; the backward is a multiply-add sweep."""

    @staticmethod
    def forward(ctx, D, gamma, nx, ny, name, band):
        values, weights = kernel_forward(D, nx, ny, gamma, band)
        ctx.save_for_backward(D)
        ctx.weights, ctx.nx, ctx.ny, ctx.dtype, ctx.name = weights, nx, ny, D.dtype, name
        return values.to(D.dtype)

    @staticmethod
    def backward(ctx, grad_values):
        with torch.no_grad():
            if isinstance(ctx.weights, CPUState):  # scaled and cast in the kernel
                E = kernel_backward(ctx.weights, ctx.nx, ctx.ny, grad_values, ctx.dtype)
            else:
                E = kernel_backward(ctx.weights, ctx.nx, ctx.ny)
                E.mul_(grad_values.to(E.dtype)[:, None, None])
        (E,) = first_order_only(ctx.name, (E,), (*ctx.saved_tensors, grad_values))
        return E, None, None, None, None, None


class _SoftDTWEuclideanCPUFunction(torch.autograd.Function):
    """``soft_dtw(x, y)`` on the CPU, cost and dynamic programme fused.

    The forward computes the float64 Gram matrix ``x @ y.mT`` (one matrix
    product) and the kernel turns it into squared distances as it sweeps.
    The backward gets ``E * grad`` in the inputs' dtype together with its
    row and column sums from the kernel, so each gradient is one batched
    matrix product: ``d/dx = 2 (x * E.sum(2) - E @ y)``.
    """

    @staticmethod
    def forward(ctx, x, y, gamma, nx, ny, band):
        x64 = x.detach().to(torch.float64).contiguous()
        y64 = y.detach().to(torch.float64).contiguous()
        gram = torch.bmm(x64, y64.transpose(1, 2))
        compact = x.dtype != torch.float64  # float32 weights for float32 inputs
        values, state = cpu_forward(gram, nx, ny, gamma, x64, y64, band, compact)
        ctx.save_for_backward(x, y)
        ctx.state, ctx.nx, ctx.ny = state, nx, ny
        return values.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_values):
        x, y = ctx.saved_tensors
        with torch.no_grad():
            E, x_term, y_term = cpu_backward(ctx.state, ctx.nx, ctx.ny, grad_values, x.dtype, (x, y))
            grad_x = grad_y = None
            if ctx.needs_input_grad[0]:
                grad_x = torch.baddbmm(x_term, E, y, beta=2.0, alpha=-2.0)
            if ctx.needs_input_grad[1]:
                grad_y = torch.baddbmm(y_term, E.transpose(1, 2), x, beta=2.0, alpha=-2.0)
        grad_x, grad_y = first_order_only("soft_dtw", (grad_x, grad_y), (x, y, grad_values))
        return grad_x, grad_y, None, None, None, None


# --------------------------------------------------------------------------
# public functions

_BANDWIDTH_DOC = """bandwidth : int, float or None, default=None
        Sakoe-Chiba band: only alignments that stay within ``w`` frames of
        the diagonal count (the other cells are unreachable and get zero
        gradient), and the CPU kernel computes those cells only. An int is
        ``w`` in frames; a float in (0, 1] a fraction of the longer sequence
        of each pair, ``w = ceil(bandwidth * max(n_b, m_b))``. For pairs of
        different lengths the band is widened by ``|n_b - m_b|`` towards the
        longer one (as tslearn's ``sakoe_chiba_mask``), so that the end is
        always reachable: cell ``(i, j)`` is in it when
        ``min(0, m_b - n_b) - w <= j - i <= max(0, m_b - n_b) + w``. None:
        no band."""


def _with_bandwidth_doc(function):
    if function.__doc__:  # None under python -OO
        function.__doc__ = function.__doc__.replace("{bandwidth}", _BANDWIDTH_DOC)
    return function


def _check_sequences(x, y, gamma, x_lengths, y_lengths):
    """The checked inputs of :func:`soft_dtw`: ``x`` and ``y`` in their promoted
    dtype, as torch's binary operations (differentiable casts: each gradient
    comes back in its input's dtype), ``gamma`` and the lengths."""
    check_pair(x, y)
    gamma = check_gamma(gamma)
    B, n, m = x.shape[0], x.shape[1], y.shape[1]
    nx = check_lengths(x_lengths, B, n, "x_lengths")
    ny = check_lengths(y_lengths, B, m, "y_lengths")
    dtype = torch.promote_types(x.dtype, y.dtype)
    return x.to(dtype), y.to(dtype), gamma, nx, ny


@_with_bandwidth_doc
def soft_dtw_from_cost(D, gamma=0.1, x_lengths=None, y_lengths=None, bandwidth=None):
    """Soft-DTW value of each cost matrix in a batch.

    Parameters
    ----------
    D : torch.Tensor of shape (B, n, m)
        Cost of matching frame ``i`` of the first sequence with frame ``j`` of
        the second. Any floating dtype; the recursion runs in float64 and the
        result has ``D``'s dtype.
    gamma : float, default=0.1
        Smoothing (> 0). Smaller is closer to hard DTW.
    x_lengths, y_lengths : array-like of int of shape (B,), optional
        Valid lengths of padded sequences: pair ``b`` uses
        ``D[b, :x_lengths[b], :y_lengths[b]]``; the padding gets zero gradient.
    {bandwidth}

    Returns
    -------
    values : torch.Tensor of shape (B,)
        Differentiable once with respect to ``D`` (double backward raises a
        ``RuntimeError``); the gradient is the expected alignment
        (:func:`soft_alignment`).

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import soft_dtw_from_cost
    >>> D = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    >>> soft_dtw_from_cost(D, gamma=1e-3)  # the diagonal path costs 0
    tensor([0.])
    >>> D = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    >>> soft_dtw_from_cost(D, gamma=1e-3, bandwidth=0)  # the diagonal only
    tensor([3.])
    """
    check_tensor(D, "D", 3)
    gamma = check_gamma(gamma)
    check_bandwidth(bandwidth, "soft_dtw_from_cost")
    B, n, m = D.shape
    nx = check_lengths(x_lengths, B, n, "x_lengths")
    ny = check_lengths(y_lengths, B, m, "y_lengths")
    band = band_limits(band_widths(bandwidth, nx, ny), nx, ny)
    return _SoftDTWFunction.apply(D.contiguous(), gamma, nx, ny, "soft_dtw_from_cost", band)


@_with_bandwidth_doc
def soft_dtw(
    x, y, gamma=0.1, x_lengths=None, y_lengths=None, normalize=False, cost="sqeuclidean",
    bandwidth=None,
):
    """Soft-DTW between batches of sequences.

    Parameters
    ----------
    x : torch.Tensor of shape (B, n, d)
    y : torch.Tensor of shape (B, m, d)
        Batches of sequences (e.g. embedded videos), same batch and feature
        size. Padded sequences take ``x_lengths`` / ``y_lengths``.
    gamma : float, default=0.1
        Smoothing (> 0).
    x_lengths, y_lengths : array-like of int of shape (B,), optional
        Valid lengths per pair; frames past them are ignored and get zero
        gradient.
    normalize : bool, default=False
        Return the soft-DTW divergence of Blondel, Mensch and Vert (2021),
        ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2``: non-negative for this
        cost, and 0 when ``x`` and ``y`` are the same sequence (soft-DTW
        itself is negative for close sequences). With a band, its three
        terms use the same ``w`` per pair, that of ``(x, y)``.
    cost : {'sqeuclidean', 'euclidean', 'l1', 'cosine'} or callable, default='sqeuclidean'
        Frame-to-frame cost in float64 (``'cosine'``: ``1 - cos``; a callable
        returns the ``(B, n, m)`` cost). Only the default has the fused CPU
        kernel and a guaranteed non-negative divergence.
    {bandwidth}

    Returns
    -------
    values : torch.Tensor of shape (B,)
        In the promoted dtype of ``x`` and ``y`` (as torch's operations:
        float32 with float64 gives float64). Differentiable once with
        respect to ``x`` and ``y`` (double backward raises a
        ``RuntimeError``); each gradient has its input's dtype.

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import soft_dtw
    >>> x = torch.tensor([[[0.0], [1.0], [2.0]]])
    >>> y = torch.tensor([[[0.0], [0.0], [1.0], [2.0]]])
    >>> soft_dtw(x, y, gamma=1e-3).round(decimals=3)  # y repeats a frame: DTW cost 0
    tensor([0.])
    >>> soft_dtw(x, y, gamma=1.0) < 0  # soft-min below the best path's cost
    tensor([True])
    >>> soft_dtw(x, x, gamma=1.0, normalize=True)  # the divergence: 0 on identical inputs
    tensor([0.])
    >>> soft_dtw(x, x.flip(1), gamma=1e-3, bandwidth=0)  # frame by frame: 4 + 0 + 4
    tensor([8.])
    """
    x, y, gamma, nx, ny = _check_sequences(x, y, gamma, x_lengths, y_lengths)
    if not (callable(cost) or cost in COSTS):
        raise ValueError(f"cost must be one of {COSTS} or a callable, got {cost!r}.")
    check_bandwidth(bandwidth, "soft_dtw")
    widths = band_widths(bandwidth, nx, ny)
    values = _soft_dtw(x, y, gamma, nx, ny, cost, band_limits(widths, nx, ny))
    if normalize:
        xx = _soft_dtw(x, x, gamma, nx, nx, cost, band_limits(widths, nx, nx))
        yy = _soft_dtw(y, y, gamma, ny, ny, cost, band_limits(widths, ny, ny))
        values = values - 0.5 * (xx + yy)
    if values.device.type == "cpu" and not torch.isfinite(values).all():  # inputs are finite
        raise ValueError("soft_dtw overflowed: the frames are too large for their cost; rescale them.")
    return values


def _soft_dtw(x, y, gamma, nx, ny, cost, band):
    if cost != "sqeuclidean":
        D = pairwise_cost(x, y, cost)
        return _SoftDTWFunction.apply(D.contiguous(), gamma, nx, ny, "soft_dtw", band).to(x.dtype)
    if x.device.type == "cpu":
        return _SoftDTWEuclideanCPUFunction.apply(x, y, gamma, nx, ny, band)
    return _SoftDTWFunction.apply(squared_euclidean_cost(x, y), gamma, nx, ny, "soft_dtw", band)


@_with_bandwidth_doc
def soft_alignment(x, y, gamma=0.1, x_lengths=None, y_lengths=None, bandwidth=None):
    """Expected alignment matrix of two sequences under Soft-DTW.

    ``E[i, j]`` is the probability that frame ``i`` of ``x`` is matched with
    frame ``j`` of ``y`` under the Gibbs distribution over alignment paths
    (the gradient of :func:`soft_dtw` with respect to the cost). As
    ``gamma -> 0`` it tends to the 0/1 indicator of the hard DTW path.

    Parameters
    ----------
    x : torch.Tensor of shape (B, n, d) or (n, d)
    y : torch.Tensor of shape (B, m, d) or (m, d)
    gamma : float, default=0.1
    x_lengths, y_lengths : array-like of int of shape (B,), optional
    {bandwidth}

    Returns
    -------
    E : torch.Tensor of shape (B, n, m), or (n, m) for 2-D inputs
        Float64, no gradient; zero outside each pair's valid lengths and
        band.

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import soft_alignment
    >>> x = torch.tensor([[0.0], [1.0], [2.0]])
    >>> soft_alignment(x, x, gamma=1e-3)
    tensor([[1., 0., 0.],
            [0., 1., 0.],
            [0., 0., 1.]], dtype=torch.float64)
    """
    single = isinstance(x, torch.Tensor) and x.dim() == 2
    if single:
        if not (isinstance(y, torch.Tensor) and y.dim() == 2):
            raise ValueError("x is 2-D, so y must be 2-D as well.")
        x, y = x[None], y[None]
    x, y, gamma, nx, ny = _check_sequences(x, y, gamma, x_lengths, y_lengths)
    check_bandwidth(bandwidth, "soft_alignment")
    band = band_limits(band_widths(bandwidth, nx, ny), nx, ny)
    with torch.no_grad():
        if x.device.type == "cpu":
            x64 = x.to(torch.float64).contiguous()
            y64 = y.to(torch.float64).contiguous()
            _, state = cpu_forward(torch.bmm(x64, y64.transpose(1, 2)), nx, ny, gamma, x64, y64, band)
            E = cpu_backward(state, nx, ny)
        else:
            _, weights = kernel_forward(squared_euclidean_cost(x, y), nx, ny, gamma, band)
            E = kernel_backward(weights, nx, ny)
    return E[0] if single else E


class SoftDTW(torch.nn.Module):
    """Soft-DTW as a module: ``SoftDTW(gamma)(x, y)`` equals ``soft_dtw(x, y, gamma)``.

    Parameters
    ----------
    gamma : float, default=0.1
        Smoothing (> 0).
    normalize : bool, default=False
        The soft-DTW divergence instead (see :func:`soft_dtw`).
    bandwidth : int, float or None, default=None
        Sakoe-Chiba band (see :func:`soft_dtw`).

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import SoftDTW
    >>> x = torch.randn(2, 5, 3, requires_grad=True)
    >>> SoftDTW(gamma=0.1)(x, torch.randn(2, 4, 3)).sum().backward()
    >>> x.grad.shape
    torch.Size([2, 5, 3])
    >>> SoftDTW(gamma=0.1, bandwidth=0.25)
    SoftDTW(gamma=0.1, normalize=False, bandwidth=0.25)
    """

    def __init__(self, gamma=0.1, normalize=False, bandwidth=None):
        super().__init__()
        self.gamma = check_gamma(gamma)
        self.normalize = bool(normalize)
        self.bandwidth = check_bandwidth(bandwidth, "SoftDTW")

    def forward(self, x, y, x_lengths=None, y_lengths=None):
        return soft_dtw(
            x, y, self.gamma, x_lengths, y_lengths, normalize=self.normalize, bandwidth=self.bandwidth
        )

    def extra_repr(self):
        return f"gamma={self.gamma}, normalize={self.normalize}, bandwidth={self.bandwidth}"
