"""GPU Soft-DTW kernels, written in Triton.

One Triton program handles one pair of the batch and sweeps its dynamic
programme anti-diagonal by anti-diagonal (a wavefront): the cells of one
diagonal depend only on the two previous diagonals, so they form one vector
operation (tiled in chunks of ``BLOCK`` cells when the diagonal is longer).
The DP state is float64 whatever the cost dtype. The forward keeps the last
three diagonals of ``R`` in a small global scratch buffer and saves, per cell,
the soft-min weights of its diagonal and upper predecessors (the left weight
is one minus their sum), so the backward pass is a multiply-add sweep with no
exponential.

Conventions (shared with the CPU kernels in ``_softdtw_numba``):

- ``D``: cost, ``(B, n, m)``; pair ``b`` uses ``D[b, :nx[b], :ny[b]]``.
- ``weights[b, i, j, 0]``: weight of ``(i-1, j-1)`` in the soft-min of cell
  ``(i, j)``; ``weights[b, i, j, 1]``: weight of ``(i-1, j)``.
- ``E = d value / d D``, zero outside the valid region.
- ``band[b] = (lower, upper)``: pair ``b`` counts the cells with
  ``lower <= j - i <= upper`` only. The forward sweeps every cell and masks
  the others (``R = +inf``, zero weights); the backward needs no band: the
  cells outside get zero weight from their successors inside, and their own
  successors outside have ``E = 0``, so their ``E`` is 0.

The module imports without Triton; the kernels raise ``ImportError`` when
called in that case. Setting ``TRITON_INTERPRET=1`` before this module is
imported runs the kernels in Triton's interpreter, on CPU tensors (slow; used
by the tests).
"""

import contextlib
import numbers
import os

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - exercised on machines without triton
    triton = None
    tl = None

__all__ = ["triton_available", "softdtw_forward_cuda", "softdtw_backward_cuda"]

_MAX_BLOCK = 1024  # longest diagonal chunk handled as one vector


def triton_available():
    """Whether the GPU Soft-DTW kernels can run here.

    Returns
    -------
    available : bool
        True when Triton imports and a CUDA device is available.

    Examples
    --------
    >>> from sklav.alignment._softdtw_triton import triton_available
    >>> isinstance(triton_available(), bool)
    True
    """
    return triton is not None and torch.cuda.is_available()


def _interpreting():
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


# --------------------------------------------------------------------------
# kernels
#
# The launches use num_stages=1: software pipelining would prefetch the next
# diagonal's loads before this diagonal's stores, breaking the wavefront's
# dependence through global memory. For the same reason the loads of values
# written by the kernel itself bypass L1 (cache_modifier=".cg").

if triton is not None:
    _INF = tl.constexpr(float("inf"))
    _CG = tl.constexpr(".cg")  # load through L2 only

    @triton.jit
    def _forward_kernel(
        D_ptr, nx_ptr, ny_ptr, band_ptr, gamma_ptr, values_ptr, weights_ptr, scratch_ptr,
        n, m, stride_db, stride_di, stride_dj,
        BLOCK: tl.constexpr,
    ):
        pair = tl.program_id(0).to(tl.int64)
        len_x = tl.load(nx_ptr + pair)
        len_y = tl.load(ny_ptr + pair)
        lower = tl.load(band_ptr + pair * 2)
        upper = tl.load(band_ptr + pair * 2 + 1)
        gamma = tl.load(gamma_ptr)
        D_ptr += pair * stride_db
        weights_ptr += pair * n * m * 2
        # Three rotating diagonals of R, each indexed by the row i.
        scratch_ptr += pair * 3 * n
        lanes = tl.arange(0, BLOCK)
        for k in range(0, len_x + len_y - 1):
            cur = scratch_ptr + (k % 3) * n
            prev = scratch_ptr + ((k + 2) % 3) * n  # diagonal k - 1
            prev2 = scratch_ptr + ((k + 1) % 3) * n  # diagonal k - 2
            lo = tl.maximum(k - len_y + 1, 0)
            hi = tl.minimum(k, len_x - 1)
            for start in range(lo, hi + 1, BLOCK):
                i = start + lanes
                j = k - i
                valid = i <= hi
                inside = valid & (j - i >= lower) & (j - i <= upper)
                r_diag = tl.load(
                    prev2 + i - 1, mask=valid & (i > 0) & (j > 0), other=_INF, cache_modifier=_CG
                )
                r_diag = tl.where((i == 0) & (j == 0), 0.0, r_diag)
                r_up = tl.load(prev + i - 1, mask=valid & (i > 0), other=_INF, cache_modifier=_CG)
                r_left = tl.load(prev + i, mask=valid & (j > 0), other=_INF, cache_modifier=_CG)
                # Every cell inside the band has a finite predecessor; the
                # others get 0 so that they compute no inf - inf, and are
                # then masked: R = +inf, zero weights.
                smallest = tl.minimum(tl.minimum(r_diag, r_up), r_left)
                smallest = tl.where(inside, smallest, 0.0)
                e_diag = tl.exp((smallest - r_diag) / gamma)
                e_up = tl.exp((smallest - r_up) / gamma)
                e_left = tl.exp((smallest - r_left) / gamma)
                total = tl.where(inside, e_diag + e_up + e_left, 1.0)
                cost = tl.load(D_ptr + i * stride_di + j * stride_dj, mask=inside, other=0.0)
                r = cost.to(tl.float64) + smallest - gamma * tl.log(total)
                r = tl.where(inside, r, _INF)
                tl.store(cur + i, r, mask=valid)
                cell = (i * m + j) * 2
                tl.store(weights_ptr + cell, tl.where(inside, e_diag / total, 0.0), mask=valid)
                tl.store(weights_ptr + cell + 1, tl.where(inside, e_up / total, 0.0), mask=valid)
                is_last = valid & (i == len_x - 1) & (j == len_y - 1)
                tl.store(values_ptr + pair + 0 * i, r, mask=is_last)
            # The next diagonal reads what this one stored.
            tl.debug_barrier()

    @triton.jit
    def _backward_kernel(
        weights_ptr, nx_ptr, ny_ptr, E_ptr,
        n, m,
        BLOCK: tl.constexpr,
    ):
        pair = tl.program_id(0).to(tl.int64)
        len_x = tl.load(nx_ptr + pair)
        len_y = tl.load(ny_ptr + pair)
        weights_ptr += pair * n * m * 2
        E_ptr += pair * n * m
        lanes = tl.arange(0, BLOCK)
        last = len_x + len_y - 2
        for step in range(0, len_x + len_y - 1):
            k = last - step
            lo = tl.maximum(k - len_y + 1, 0)
            hi = tl.minimum(k, len_x - 1)
            for start in range(lo, hi + 1, BLOCK):
                i = start + lanes
                j = k - i
                valid = i <= hi
                has_down = valid & (i + 1 < len_x)
                has_right = valid & (j + 1 < len_y)
                has_diag = has_down & has_right
                # Successors: (i+1, j+1) via its diagonal weight, (i+1, j) via
                # its upper weight, (i, j+1) via its left weight.
                diag_cell = (i + 1) * m + j + 1
                down_cell = (i + 1) * m + j
                right_cell = i * m + j + 1
                e_diag = tl.load(E_ptr + diag_cell, mask=has_diag, other=0.0, cache_modifier=_CG)
                w_diag = tl.load(weights_ptr + diag_cell * 2, mask=has_diag, other=0.0)
                e_down = tl.load(E_ptr + down_cell, mask=has_down, other=0.0, cache_modifier=_CG)
                w_up = tl.load(weights_ptr + down_cell * 2 + 1, mask=has_down, other=0.0)
                e_right = tl.load(E_ptr + right_cell, mask=has_right, other=0.0, cache_modifier=_CG)
                w_right0 = tl.load(weights_ptr + right_cell * 2, mask=has_right, other=0.0)
                w_right1 = tl.load(weights_ptr + right_cell * 2 + 1, mask=has_right, other=0.0)
                e = e_diag * w_diag + e_down * w_up + e_right * (1.0 - w_right0 - w_right1)
                e = tl.where((i == len_x - 1) & (j == len_y - 1), 1.0, e)
                tl.store(E_ptr + i * m + j, e, mask=valid)
            tl.debug_barrier()


# --------------------------------------------------------------------------
# host wrappers


def _require_triton():
    if triton is None:
        raise ImportError(
            "The GPU Soft-DTW kernels need Triton (pip install triton); "
            "use the CPU kernels instead."
        )


def _check_device(tensor, name):
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}.")
    if not tensor.is_cuda and not _interpreting():
        raise ValueError(f"{name} must be a CUDA tensor, got one on {tensor.device}.")


def _check_lengths(nx, ny, batch, n, m, device):
    for name, lengths, size in (("nx", nx, n), ("ny", ny, m)):
        _check_device(lengths, name)
        if lengths.dtype != torch.int64 or lengths.shape != (batch,):
            raise ValueError(
                f"{name} must be an int64 tensor of shape ({batch},), "
                f"got {lengths.dtype} of shape {tuple(lengths.shape)}."
            )
        if lengths.device != device:
            raise ValueError(f"{name} is on {lengths.device}, but the data is on {device}.")
        # Out-of-range lengths would make the kernel read and write out of bounds.
        if batch and bool(((lengths < 1) | (lengths > size)).any()):
            raise ValueError(f"{name} has entries outside [1, {size}].")


def _check_band(band, nx, ny, batch, device):
    """The ``(B, 2)`` int64 band, contiguous; the full table's when None."""
    if band is None:
        return torch.stack([1 - nx, ny - 1], 1).contiguous()
    _check_device(band, "band")
    if band.dtype != torch.int64 or band.shape != (batch, 2):
        raise ValueError(
            f"band must be an int64 tensor of shape ({batch}, 2), "
            f"got {band.dtype} of shape {tuple(band.shape)}."
        )
    if band.device != device:
        raise ValueError(f"band is on {band.device}, but the data is on {device}.")
    return band.contiguous()


def _on_device(tensor):
    # Triton launches on the current CUDA device, not on the tensor's.
    return torch.cuda.device(tensor.device) if tensor.is_cuda else contextlib.nullcontext()


def _launch_config(n, m, block_size):
    if block_size is None:
        block_size = min(_MAX_BLOCK, max(16, triton.next_power_of_2(min(n, m))))
    elif (
        not isinstance(block_size, numbers.Integral)
        or block_size < 1
        or block_size & (block_size - 1)
    ):
        raise ValueError(f"block_size must be a power of two, got {block_size!r}.")
    num_warps = min(8, max(1, block_size // 32))
    return int(block_size), num_warps


def softdtw_forward_cuda(D, nx, ny, gamma, *, band=None, block_size=None):
    """Soft-DTW values and soft-min weights of a batch of cost matrices.

    Parameters
    ----------
    D : torch.Tensor of shape (B, n, m)
        Float32 or float64 CUDA tensor of costs; pair ``b`` uses
        ``D[b, :nx[b], :ny[b]]``. Read and upcast to float64 in the kernel.
    nx, ny : torch.Tensor of shape (B,)
        Int64 tensors on ``D``'s device: valid lengths, ``1 <= nx[b] <= n``
        and ``1 <= ny[b] <= m``.
    gamma : float
        Smoothing, > 0.
    band : torch.Tensor of shape (B, 2), optional
        Int64 on ``D``'s device: pair ``b`` counts the cells with
        ``band[b, 0] <= j - i <= band[b, 1]`` only (they must hold ``(0, 0)``
        and ``(nx[b] - 1, ny[b] - 1)``); the others are unreachable and get
        zero weights and ``E``. Every cell when None.
    block_size : int, optional
        Cells of a diagonal processed as one vector (a power of two); longer
        diagonals are tiled. Default: the smallest power of two
        ``>= min(n, m)``, clamped to [16, 1024].

    Returns
    -------
    values : torch.Tensor of shape (B,)
        Float64 Soft-DTW values ``R[nx-1, ny-1]``.
    weights : torch.Tensor of shape (B, n, m, 2)
        Float64 soft-min weights of the diagonal (``[..., 0]``) and upper
        (``[..., 1]``) predecessors of every valid cell; unspecified outside
        ``[0, nx) x [0, ny)``.

    Examples
    --------
    >>> import torch
    >>> D = torch.rand(4, 30, 20, device="cuda")  # doctest: +SKIP
    >>> lengths_x = torch.full((4,), 30, device="cuda")  # doctest: +SKIP
    >>> lengths_y = torch.full((4,), 20, device="cuda")  # doctest: +SKIP
    >>> values, weights = softdtw_forward_cuda(D, lengths_x, lengths_y, 0.1)  # doctest: +SKIP
    >>> values.shape, weights.shape  # doctest: +SKIP
    (torch.Size([4]), torch.Size([4, 30, 20, 2]))
    """
    _require_triton()
    _check_device(D, "D")
    if D.dim() != 3 or D.dtype not in (torch.float32, torch.float64):
        raise ValueError(
            f"D must be a float32 or float64 tensor of shape (B, n, m), "
            f"got {D.dtype} of shape {tuple(D.shape)}."
        )
    batch, n, m = D.shape
    if n == 0 or m == 0:
        raise ValueError(f"D must have non-empty sequences, got shape {tuple(D.shape)}.")
    _check_lengths(nx, ny, batch, n, m, D.device)
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a positive float, got {gamma!r}.")
    if not 0 < gamma < float("inf"):
        raise ValueError(f"gamma must be a positive finite float, got {gamma!r}.")

    band = _check_band(band, nx, ny, batch, D.device)
    values = torch.zeros(batch, dtype=torch.float64, device=D.device)
    weights = torch.empty((batch, n, m, 2), dtype=torch.float64, device=D.device)
    if batch == 0:
        return values, weights
    scratch = torch.empty((batch, 3, n), dtype=torch.float64, device=D.device)
    # A tensor, not a Python float: Triton would pass a scalar float as fp32.
    gamma_t = torch.full((1,), float(gamma), dtype=torch.float64, device=D.device)
    block, num_warps = _launch_config(n, m, block_size)
    with _on_device(D):
        _forward_kernel[(batch,)](
            D, nx.contiguous(), ny.contiguous(), band, gamma_t, values, weights, scratch,
            n, m, D.stride(0), D.stride(1), D.stride(2),
            BLOCK=block, num_warps=num_warps, num_stages=1,
        )
    return values, weights


def softdtw_backward_cuda(weights, nx, ny, *, block_size=None):
    """Expected alignment (gradient of Soft-DTW) from the forward's weights.

    Parameters
    ----------
    weights : torch.Tensor of shape (B, n, m, 2)
        Float64 soft-min weights returned by :func:`softdtw_forward_cuda`.
    nx, ny : torch.Tensor of shape (B,)
        The int64 valid lengths given to the forward.
    block_size : int, optional
        As in :func:`softdtw_forward_cuda`.

    Returns
    -------
    E : torch.Tensor of shape (B, n, m)
        Float64 ``d value / d D``: ``E[b, nx-1, ny-1] = 1``, zero outside the
        valid region.

    Examples
    --------
    >>> import torch
    >>> D = torch.rand(2, 5, 5, device="cuda")  # doctest: +SKIP
    >>> lengths = torch.full((2,), 5, device="cuda")  # doctest: +SKIP
    >>> values, weights = softdtw_forward_cuda(D, lengths, lengths, 1.0)  # doctest: +SKIP
    >>> E = softdtw_backward_cuda(weights, lengths, lengths)  # doctest: +SKIP
    >>> E[:, 0, 0]  # doctest: +SKIP
    tensor([1., 1.], device='cuda:0', dtype=torch.float64)
    """
    _require_triton()
    _check_device(weights, "weights")
    if weights.dim() != 4 or weights.shape[-1] != 2 or weights.dtype != torch.float64:
        raise ValueError(
            f"weights must be a float64 tensor of shape (B, n, m, 2), "
            f"got {weights.dtype} of shape {tuple(weights.shape)}."
        )
    batch, n, m, _ = weights.shape
    _check_lengths(nx, ny, batch, n, m, weights.device)
    weights = weights.contiguous()
    E = torch.zeros((batch, n, m), dtype=torch.float64, device=weights.device)
    if batch == 0:
        return E
    block, num_warps = _launch_config(n, m, block_size)
    with _on_device(weights):
        _backward_kernel[(batch,)](
            weights, nx.contiguous(), ny.contiguous(), E, n, m,
            BLOCK=block, num_warps=num_warps, num_stages=1,
        )
    return E
