"""Which Soft-DTW kernel runs, and what its forward keeps for its backward.

Numba on the CPU (``_softdtw_numba``), Triton on CUDA (``_softdtw_triton``);
without numba, the slower pure-torch wavefront (``_softdtw_torch``); CUDA
tensors without Triton run the CPU kernel. ``band`` everywhere is the
``(B, 2)`` int64 CPU tensor of :func:`sklav.alignment._band.band_limits`,
or None for the full table.
"""

import warnings

import numpy as np
import torch

from ._softdtw_torch import gram_to_sq_euclidean, torch_backward, torch_forward

try:
    from . import _softdtw_numba
except ImportError:  # pragma: no cover - numba missing or broken
    _softdtw_numba = None

__all__ = ["cpu_forward", "cpu_backward", "kernel_forward", "kernel_backward", "CPUState"]


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
_numba_started = False


def _use_numba():
    global _warned_no_numba
    if _softdtw_numba is not None and not _FORCE_TORCH_KERNEL:
        _start_numba_threads()
        return True
    if _softdtw_numba is None and not _warned_no_numba:
        warnings.warn(
            "sklav: numba is not available, Soft-DTW on the CPU runs a slower pure-torch kernel.",
            RuntimeWarning,
            stacklevel=4,
        )
        _warned_no_numba = True
    return False


def _start_numba_threads():
    """Start numba's thread pool once, keeping torch's thread count.

    Under numba's 'omp' threading layer the start resets OpenMP's thread
    count, which torch shares: a caller's ``torch.set_num_threads(1)`` was
    lost at the first Soft-DTW call, in the middle of a fit.
    """
    global _numba_started
    if not _numba_started:
        threads = torch.get_num_threads()
        _softdtw_numba.numba.get_num_threads()  # the first call starts the pool
        torch.set_num_threads(threads)
        _numba_started = True


class CPUState:
    """What a CPU forward keeps for its backward (layout private to the backend)."""

    __slots__ = ("numba", "weights", "shape", "band", "device")

    def __init__(self, numba, weights, shape, band, device=None):
        self.numba, self.weights, self.shape = numba, weights, shape
        self.band, self.device = band, device


def cpu_forward(G, nx, ny, gamma, x64=None, y64=None, band=None, compact=False):
    """Values (B,) float64 and the state for :func:`cpu_backward`.

    ``G`` is the float64 CPU cost, or with ``x64``, ``y64`` (float64 CPU
    sequences) their Gram matrices ``x64 @ y64.mT``: the cost is then the
    squared Euclidean distance. ``compact``: keep the numba kernel's
    weights in float32 (half the memory, ~1e-8 relative in the backward:
    for inputs no more precise than float32).
    """
    shape = tuple(G.shape)
    if _use_numba():
        values, weights = _softdtw_numba.softdtw_forward(
            G.numpy(), nx.numpy(), ny.numpy(), gamma,
            None if x64 is None else x64.numpy(), None if y64 is None else y64.numpy(),
            threads=torch.get_num_threads(), band=None if band is None else band.numpy(),
            weights_dtype=np.float32 if compact else np.float64,
        )
        return torch.from_numpy(values), CPUState(True, weights, shape, band)
    if x64 is not None:
        G = gram_to_sq_euclidean(G, x64, y64)
    values, weights = torch_forward(G, nx, ny, gamma, band)
    return values, CPUState(False, weights, shape, band)


def cpu_backward(state, nx, ny, scale=None, dtype=torch.float64, xy=None):
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
            band=None if state.band is None else state.band.numpy(),
        )
        return E if xy is None else (E, x_term, y_term)
    if state.numba:
        E = cpu_backward(state, nx, ny, scale)
    else:
        E = torch_backward(state.weights, nx, ny, n, m, state.band).mul_(scale[:, None, None])
    if xy is None:
        return E.to(dtype)
    x, y = xy
    x_term = x.detach() * E.sum(2).to(dtype)[:, :, None]
    y_term = y.detach() * E.sum(1).to(dtype)[:, :, None]
    return E.to(dtype), x_term, y_term


def kernel_forward(D, nx, ny, gamma, band=None):
    """Values (B,) float64 on D's device and the state for the backward."""
    if D.is_cuda:
        triton = _triton_kernels()
        if triton is not None:
            device_band = None if band is None else band.to(D.device)
            return triton.softdtw_forward_cuda(
                D, nx.to(D.device), ny.to(D.device), gamma, band=device_band
            )
        _warn_cuda_fallback()
    compact = D.dtype != torch.float64  # float32 weights for float32 costs
    D64 = D.detach().to("cpu", torch.float64).contiguous()
    values, state = cpu_forward(D64, nx, ny, gamma, band=band, compact=compact)
    state.device = D.device
    return values.to(D.device), state


def kernel_backward(weights, nx, ny, scale=None, dtype=torch.float64):
    """Expected alignment E (B, n, m), float64, on the weights' device.

    ``scale`` and ``dtype`` (CPU kernels): E times ``scale[b]``, in ``dtype``.
    """
    if not isinstance(weights, CPUState):  # the GPU kernel's weights
        triton = _triton_kernels()
        if triton is not None:
            return triton.softdtw_backward_cuda(weights, nx.to(weights.device), ny.to(weights.device))
        raise RuntimeError("sklav: the Soft-DTW weights come from a GPU kernel that is gone.")
    return cpu_backward(weights, nx, ny, scale, dtype).to(weights.device)
