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
without numba, a slower pure-torch wavefront on the CPU (``_softdtw_torch``).
This module holds the kernel dispatch, the autograd functions and the public
API; the input checks live in :mod:`sklav.utils.tensors`.
"""

import warnings

import torch

from ..utils.tensors import check_gamma, check_lengths, check_pair, check_tensor
from ._autograd import first_order_only
from ._cost import COSTS, pairwise_cost, squared_euclidean_cost
from ._softdtw_torch import gram_to_sq_euclidean, torch_backward, torch_forward

try:
    from . import _softdtw_numba
except ImportError:  # pragma: no cover - numba missing or broken
    _softdtw_numba = None

__all__ = ["soft_dtw", "soft_dtw_from_cost", "soft_alignment", "SoftDTW"]


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


# Private switch: run the pure-torch CPU kernel even where numba imports
# (for the tests of that fallback).
_FORCE_TORCH_KERNEL = False
_warned_no_numba = False


def _use_numba():
    global _warned_no_numba
    if _softdtw_numba is not None and not _FORCE_TORCH_KERNEL:
        return True
    if _softdtw_numba is None and not _warned_no_numba:
        warnings.warn(
            "sklav: numba is not available, Soft-DTW on the CPU runs a slower pure-torch kernel.",
            RuntimeWarning,
            stacklevel=4,
        )
        _warned_no_numba = True
    return False


class _CPUState:
    """What a CPU forward keeps for its backward (layout private to the backend)."""

    __slots__ = ("numba", "weights", "shape", "device")

    def __init__(self, numba, weights, shape, device):
        self.numba, self.weights, self.shape, self.device = numba, weights, shape, device


def _cpu_forward(G, nx, ny, gamma, x64=None, y64=None):
    """Values (B,) float64 and the state for :func:`_cpu_backward`.

    ``G`` is the float64 CPU cost, or with ``x64``, ``y64`` (float64 CPU
    sequences) their Gram matrices ``x64 @ y64.mT``: the cost is then the
    squared Euclidean distance.
    """
    shape = tuple(G.shape)
    if _use_numba():
        values, weights = _softdtw_numba.softdtw_forward(
            G.numpy(), nx.numpy(), ny.numpy(), gamma,
            None if x64 is None else x64.numpy(), None if y64 is None else y64.numpy(),
            threads=torch.get_num_threads(),
        )
        return torch.from_numpy(values), _CPUState(True, weights, shape, None)
    if x64 is not None:
        G = gram_to_sq_euclidean(G, x64, y64)
    values, weights = torch_forward(G, nx, ny, gamma)
    return values, _CPUState(False, weights, shape, None)


def _cpu_backward(state, nx, ny, scale=None, dtype=torch.float64, xy=None):
    """``E * scale[b]`` (B, n, m) in ``dtype``.

    With ``xy = (x, y)`` (CPU, ``dtype``), also ``x * E.sum(2)[..., None]``
    and ``y * E.sum(1)[..., None]``: ``(E, x_term, y_term)``.
    """
    B, n, m = state.shape
    scale = torch.ones(B, dtype=torch.float64) if scale is None else scale.to("cpu", torch.float64)
    if state.numba and dtype in (torch.float32, torch.float64):  # the dtypes the kernel writes
        E = torch.empty((B, n, m), dtype=dtype)
        sums = torch.empty((B, n + m), dtype=torch.float64).numpy()
        arrays = ()
        if xy is not None:
            x, y = (t.detach().contiguous() for t in xy)
            x_term, y_term = torch.empty_like(x), torch.empty_like(y)
            arrays = (x.numpy(), y.numpy(), x_term.numpy(), y_term.numpy())
        _softdtw_numba.softdtw_backward_into(
            state.weights, nx.numpy(), ny.numpy(), scale.contiguous().numpy(),
            E.numpy(), sums[:, :n], sums[:, n:], *arrays, threads=torch.get_num_threads(),
        )
        return E if xy is None else (E, x_term, y_term)
    if state.numba:
        E = _cpu_backward(state, nx, ny, scale)
    else:
        E = torch_backward(state.weights, nx, ny, n, m).mul_(scale[:, None, None])
    if xy is None:
        return E.to(dtype)
    x, y = xy
    x_term = x.detach() * E.sum(2).to(dtype)[:, :, None]
    y_term = y.detach() * E.sum(1).to(dtype)[:, :, None]
    return E.to(dtype), x_term, y_term


def _kernel_forward(D, nx, ny, gamma):
    """Values (B,) float64 on D's device and the state for the backward."""
    if D.is_cuda:
        triton = _triton_kernels()
        if triton is not None:
            return triton.softdtw_forward_cuda(D, nx.to(D.device), ny.to(D.device), gamma)
        _warn_cuda_fallback()
    values, state = _cpu_forward(D.detach().to("cpu", torch.float64).contiguous(), nx, ny, gamma)
    state.device = D.device
    return values.to(D.device), state


def _kernel_backward(weights, nx, ny, scale=None, dtype=torch.float64):
    """Expected alignment E (B, n, m), float64, on the weights' device.

    ``scale`` and ``dtype`` (CPU kernels): E times ``scale[b]``, in ``dtype``.
    """
    if not isinstance(weights, _CPUState):  # the GPU kernel's weights
        triton = _triton_kernels()
        if triton is not None:
            return triton.softdtw_backward_cuda(weights, nx.to(weights.device), ny.to(weights.device))
        raise RuntimeError("sklav: the Soft-DTW weights come from a GPU kernel that is gone.")
    return _cpu_backward(weights, nx, ny, scale, dtype).to(weights.device)


# --------------------------------------------------------------------------
# autograd


class _SoftDTWFunction(torch.autograd.Function):
    """Soft-DTW of a cost tensor; the backward is a multiply-add sweep."""

    @staticmethod
    def forward(ctx, D, gamma, nx, ny, name):
        values, weights = _kernel_forward(D, nx, ny, gamma)
        ctx.save_for_backward(D)
        ctx.weights, ctx.nx, ctx.ny, ctx.dtype, ctx.name = weights, nx, ny, D.dtype, name
        return values.to(D.dtype)

    @staticmethod
    def backward(ctx, grad_values):
        with torch.no_grad():
            if isinstance(ctx.weights, _CPUState):  # scaled and cast in the kernel
                E = _kernel_backward(ctx.weights, ctx.nx, ctx.ny, grad_values, ctx.dtype)
            else:
                E = _kernel_backward(ctx.weights, ctx.nx, ctx.ny)
                E.mul_(grad_values.to(E.dtype)[:, None, None])
        (E,) = first_order_only(ctx.name, (E,), (*ctx.saved_tensors, grad_values))
        return E, None, None, None, None


class _SoftDTWEuclideanCPUFunction(torch.autograd.Function):
    """``soft_dtw(x, y)`` on the CPU, cost and dynamic programme fused.

    The forward computes the float64 Gram matrix ``x @ y.mT`` (one matrix
    product) and the kernel turns it into squared distances as it sweeps.
    The backward gets ``E * grad`` in the inputs' dtype together with its
    row and column sums from the kernel, so each gradient is one batched
    matrix product: ``d/dx = 2 (x * E.sum(2) - E @ y)``.
    """

    @staticmethod
    def forward(ctx, x, y, gamma, nx, ny):
        x64 = x.detach().to(torch.float64).contiguous()
        y64 = y.detach().to(torch.float64).contiguous()
        values, state = _cpu_forward(torch.bmm(x64, y64.transpose(1, 2)), nx, ny, gamma, x64, y64)
        ctx.save_for_backward(x, y)
        ctx.state, ctx.nx, ctx.ny = state, nx, ny
        return values.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_values):
        x, y = ctx.saved_tensors
        with torch.no_grad():
            E, x_term, y_term = _cpu_backward(ctx.state, ctx.nx, ctx.ny, grad_values, x.dtype, (x, y))
            grad_x = grad_y = None
            if ctx.needs_input_grad[0]:
                grad_x = torch.baddbmm(x_term, E, y, beta=2.0, alpha=-2.0)
            if ctx.needs_input_grad[1]:
                grad_y = torch.baddbmm(y_term, E.transpose(1, 2), x, beta=2.0, alpha=-2.0)
        grad_x, grad_y = first_order_only("soft_dtw", (grad_x, grad_y), (x, y, grad_values))
        return grad_x, grad_y, None, None, None


# --------------------------------------------------------------------------
# public functions


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
    """
    check_tensor(D, "D", 3)
    gamma = check_gamma(gamma)
    B, n, m = D.shape
    nx = check_lengths(x_lengths, B, n, "x_lengths")
    ny = check_lengths(y_lengths, B, m, "y_lengths")
    return _SoftDTWFunction.apply(D.contiguous(), gamma, nx, ny, "soft_dtw_from_cost")


def soft_dtw(x, y, gamma=0.1, x_lengths=None, y_lengths=None, normalize=False, cost="sqeuclidean"):
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
        itself is negative for close sequences).
    cost : {'sqeuclidean', 'euclidean', 'l1', 'cosine'} or callable, default='sqeuclidean'
        Frame-to-frame cost in float64 (``'cosine'``: ``1 - cos``; a callable
        returns the ``(B, n, m)`` cost). Only the default has the fused CPU
        kernel and a guaranteed non-negative divergence.

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
    """
    x, y, gamma, nx, ny = _check_sequences(x, y, gamma, x_lengths, y_lengths)
    if not (callable(cost) or cost in COSTS):
        raise ValueError(f"cost must be one of {COSTS} or a callable, got {cost!r}.")
    values = _soft_dtw(x, y, gamma, nx, ny, cost)
    if normalize:
        values = values - 0.5 * (_soft_dtw(x, x, gamma, nx, nx, cost) + _soft_dtw(y, y, gamma, ny, ny, cost))
    if values.device.type == "cpu" and not torch.isfinite(values).all():  # inputs are finite
        raise ValueError("soft_dtw overflowed: the frames are too large for their cost; rescale them.")
    return values


def _soft_dtw(x, y, gamma, nx, ny, cost):
    if cost != "sqeuclidean":
        D = pairwise_cost(x, y, cost)
        return _SoftDTWFunction.apply(D.contiguous(), gamma, nx, ny, "soft_dtw").to(x.dtype)
    if x.device.type == "cpu":
        return _SoftDTWEuclideanCPUFunction.apply(x, y, gamma, nx, ny)
    return _SoftDTWFunction.apply(squared_euclidean_cost(x, y), gamma, nx, ny, "soft_dtw")


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
    x, y, gamma, nx, ny = _check_sequences(x, y, gamma, x_lengths, y_lengths)
    with torch.no_grad():
        if x.device.type == "cpu":
            x64 = x.to(torch.float64).contiguous()
            y64 = y.to(torch.float64).contiguous()
            _, state = _cpu_forward(torch.bmm(x64, y64.transpose(1, 2)), nx, ny, gamma, x64, y64)
            E = _cpu_backward(state, nx, ny)
        else:
            _, weights = _kernel_forward(squared_euclidean_cost(x, y), nx, ny, gamma)
            E = _kernel_backward(weights, nx, ny)
    return E[0] if single else E


class SoftDTW(torch.nn.Module):
    """Soft-DTW as a module: ``SoftDTW(gamma)(x, y)`` equals ``soft_dtw(x, y, gamma)``.

    Parameters
    ----------
    gamma : float, default=0.1
        Smoothing (> 0).
    normalize : bool, default=False
        The soft-DTW divergence instead (see :func:`soft_dtw`).

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment import SoftDTW
    >>> x = torch.randn(2, 5, 3, requires_grad=True)
    >>> SoftDTW(gamma=0.1)(x, torch.randn(2, 4, 3)).sum().backward()
    >>> x.grad.shape
    torch.Size([2, 5, 3])
    """

    def __init__(self, gamma=0.1, normalize=False):
        super().__init__()
        self.gamma = check_gamma(gamma)
        self.normalize = bool(normalize)

    def forward(self, x, y, x_lengths=None, y_lengths=None):
        return soft_dtw(x, y, self.gamma, x_lengths, y_lengths, normalize=self.normalize)

    def extra_repr(self):
        return f"gamma={self.gamma}, normalize={self.normalize}"
