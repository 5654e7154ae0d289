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
numba on the CPU (``_softdtw_numba``), Triton on CUDA (``_softdtw_triton``).
"""

import warnings

import numpy as np
import torch

from . import _softdtw_numba

__all__ = ["soft_dtw", "soft_dtw_from_cost", "soft_alignment", "SoftDTW"]


# --------------------------------------------------------------------------
# input checks


def _check_tensor(value, name, ndim):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}.")
    if value.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}.")
    if value.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}).")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or inf.")


def _check_gamma(gamma):
    try:
        gamma = float(gamma)
    except (TypeError, ValueError):
        raise TypeError(f"gamma must be a positive float, got {gamma!r}.") from None
    if not gamma > 0 or not np.isfinite(gamma):
        raise ValueError(f"gamma must be a positive finite float, got {gamma}.")
    return gamma


def _check_lengths(lengths, batch, size, name):
    """Per-pair lengths as an int64 CPU tensor; full length when None."""
    if lengths is None:
        return torch.full((batch,), size, dtype=torch.int64)
    lengths = torch.as_tensor(lengths).detach().cpu()
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers, got {lengths.dtype}.")
    lengths = lengths.to(torch.int64).reshape(-1)
    if lengths.numel() != batch:
        raise ValueError(f"{name} has {lengths.numel()} entries for a batch of {batch}.")
    bad = (lengths < 1) | (lengths > size)
    if bad.any():
        b = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{name}[{b}] = {int(lengths[b])} is out of range: lengths must lie in [1, {size}]."
        )
    return lengths


# --------------------------------------------------------------------------
# kernel dispatch


def _triton_kernels():
    try:
        from . import _softdtw_triton
    except ImportError:
        return None
    return _softdtw_triton if _softdtw_triton.triton_available() else None


_warned_cuda_fallback = False


def _warn_cuda_fallback():
    global _warned_cuda_fallback
    if not _warned_cuda_fallback:
        warnings.warn(
            "sklav: Triton is not available, Soft-DTW on CUDA tensors runs the CPU kernel.",
            RuntimeWarning,
            stacklevel=4,
        )
        _warned_cuda_fallback = True


def _kernel_forward(D, nx, ny, gamma):
    """Values (B,) and soft-min weights (B, n, m, 2), float64, on D's device."""
    if D.is_cuda:
        triton = _triton_kernels()
        if triton is not None:
            return triton.softdtw_forward_cuda(D, nx.to(D.device), ny.to(D.device), gamma)
        _warn_cuda_fallback()
    values, weights = _softdtw_numba.softdtw_forward(
        D.detach().cpu().numpy(), nx.numpy(), ny.numpy(), gamma
    )
    return torch.from_numpy(values).to(D.device), torch.from_numpy(weights).to(D.device)


def _kernel_backward(weights, nx, ny):
    """Expected alignment E (B, n, m), float64, on the weights' device."""
    if weights.is_cuda:
        triton = _triton_kernels()
        if triton is not None:
            return triton.softdtw_backward_cuda(weights, nx.to(weights.device), ny.to(weights.device))
    E = _softdtw_numba.softdtw_backward(weights.cpu().numpy(), nx.numpy(), ny.numpy())
    return torch.from_numpy(E).to(weights.device)


# --------------------------------------------------------------------------
# autograd


class _SoftDTWFunction(torch.autograd.Function):
    """Soft-DTW of a cost tensor; the backward is a multiply-add sweep."""

    @staticmethod
    def forward(ctx, D, gamma, nx, ny):
        values, weights = _kernel_forward(D, nx, ny, gamma)
        ctx.weights, ctx.nx, ctx.ny = weights, nx, ny
        return values.to(D.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_values):
        E = _kernel_backward(ctx.weights, ctx.nx, ctx.ny)
        E.mul_(grad_values.to(E.dtype)[:, None, None])
        return E, None, None, None


class _SquaredEuclideanFunction(torch.autograd.Function):
    """Pairwise squared Euclidean distances, computed in float64.

    Soft-DTW's soft-min divides cost differences by gamma, so a float32 cost
    would carry its rounding error, amplified 1/gamma times, into the
    gradient. The backward runs in the inputs' dtype: it is a plain matrix
    product, as accurate as the inputs.
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        x64, y64 = x.double(), y.double()
        sq_x = (x64 * x64).sum(-1)
        sq_y = (y64 * y64).sum(-1)
        cost = torch.baddbmm(sq_x[:, :, None] + sq_y[:, None, :], x64, y64.transpose(1, 2), alpha=-2.0)
        return cost.clamp_min_(0.0)

    @staticmethod
    def backward(ctx, grad_cost):
        x, y = ctx.saved_tensors
        grad_cost = grad_cost.to(x.dtype)
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = 2.0 * (x * grad_cost.sum(2, keepdim=True) - torch.bmm(grad_cost, y))
        if ctx.needs_input_grad[1]:
            grad_y = 2.0 * (
                y * grad_cost.sum(1).unsqueeze(-1) - torch.bmm(grad_cost.transpose(1, 2), x)
            )
        return grad_x, grad_y


def squared_euclidean_cost(x, y):
    """Pairwise squared Euclidean distances ``(B, n, m)`` in float64.

    Parameters
    ----------
    x : torch.Tensor of shape (B, n, d)
    y : torch.Tensor of shape (B, m, d)

    Returns
    -------
    cost : torch.Tensor of shape (B, n, m), float64
        ``cost[b, i, j] = ||x[b, i] - y[b, j]||^2``; differentiable.

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment.softdtw import squared_euclidean_cost
    >>> squared_euclidean_cost(torch.zeros(1, 1, 2), torch.ones(1, 2, 2))
    tensor([[[2., 2.]]], dtype=torch.float64)
    """
    return _SquaredEuclideanFunction.apply(x, y)


# --------------------------------------------------------------------------
# public functions


def _check_pair(x, y):
    _check_tensor(x, "x", 3)
    _check_tensor(y, "y", 3)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same batch size, got {x.shape[0]} and {y.shape[0]}.")
    if x.shape[2] != y.shape[2]:
        raise ValueError(
            f"x and y must have the same feature size, got {x.shape[2]} and {y.shape[2]}."
        )
    if x.device != y.device:
        raise ValueError(f"x and y are on different devices ({x.device} and {y.device}).")


def soft_dtw_from_cost(D, gamma=0.1, x_lengths=None, y_lengths=None):
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

    Returns
    -------
    values : torch.Tensor of shape (B,)
        Differentiable with respect to ``D``; the gradient is the expected
        alignment (:func:`soft_alignment`).

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import soft_dtw_from_cost
    >>> D = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    >>> soft_dtw_from_cost(D, gamma=1e-3)  # the diagonal path costs 0
    tensor([0.])
    """
    _check_tensor(D, "D", 3)
    gamma = _check_gamma(gamma)
    B, n, m = D.shape
    nx = _check_lengths(x_lengths, B, n, "x_lengths")
    ny = _check_lengths(y_lengths, B, m, "y_lengths")
    return _SoftDTWFunction.apply(D.contiguous(), gamma, nx, ny)


def soft_dtw(x, y, gamma=0.1, x_lengths=None, y_lengths=None):
    """Soft-DTW between batches of sequences, with squared Euclidean cost.

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

    Returns
    -------
    values : torch.Tensor of shape (B,), dtype of ``x``
        Differentiable with respect to ``x`` and ``y``.

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
    """
    _check_pair(x, y)
    gamma = _check_gamma(gamma)
    B, n, m = x.shape[0], x.shape[1], y.shape[1]
    nx = _check_lengths(x_lengths, B, n, "x_lengths")
    ny = _check_lengths(y_lengths, B, m, "y_lengths")
    values = _SoftDTWFunction.apply(squared_euclidean_cost(x, y), gamma, nx, ny)
    return values.to(x.dtype)


def soft_alignment(x, y, gamma=0.1, x_lengths=None, y_lengths=None):
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

    Returns
    -------
    E : torch.Tensor of shape (B, n, m), or (n, m) for 2-D inputs
        Float64, no gradient; zero outside each pair's valid lengths.

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
    _check_pair(x, y)
    gamma = _check_gamma(gamma)
    B, n, m = x.shape[0], x.shape[1], y.shape[1]
    nx = _check_lengths(x_lengths, B, n, "x_lengths")
    ny = _check_lengths(y_lengths, B, m, "y_lengths")
    with torch.no_grad():
        _, weights = _kernel_forward(squared_euclidean_cost(x, y), nx, ny, gamma)
        E = _kernel_backward(weights, nx, ny)
    return E[0] if single else E


class SoftDTW(torch.nn.Module):
    """Soft-DTW as a module: ``SoftDTW(gamma)(x, y)`` equals ``soft_dtw(x, y, gamma)``.

    Parameters
    ----------
    gamma : float, default=0.1
        Smoothing (> 0).

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import SoftDTW
    >>> x = torch.randn(2, 5, 3, requires_grad=True)
    >>> SoftDTW(gamma=0.1)(x, torch.randn(2, 4, 3)).sum().backward()
    >>> x.grad.shape
    torch.Size([2, 5, 3])
    """

    def __init__(self, gamma=0.1):
        super().__init__()
        self.gamma = _check_gamma(gamma)

    def forward(self, x, y, x_lengths=None, y_lengths=None):
        return soft_dtw(x, y, self.gamma, x_lengths, y_lengths)

    def extra_repr(self):
        return f"gamma={self.gamma}"
