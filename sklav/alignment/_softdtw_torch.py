"""Pure-torch Soft-DTW kernels on the CPU, the fallback without numba.

The same wavefront as the numba kernels (``_softdtw_numba``), one vector
operation per anti-diagonal, all in float64. ``_softdtw_dispatch``
dispatches here when numba does not import (or when its private switch
``_FORCE_TORCH_KERNEL`` is set, for the tests). With a band (``(B, 2)``
int64: the lowest and highest ``j - i`` of each pair), the cells outside it
are masked: ``R = +inf``, zero weights, ``E = 0``.
"""

import torch

__all__ = ["gram_to_sq_euclidean", "torch_forward", "torch_backward"]


def gram_to_sq_euclidean(gram, x64, y64):
    """Squared distances (B, n, m) from the Gram matrices ``x64 @ y64.mT`` (in place)."""
    sq_x = (x64 * x64).sum(-1)
    sq_y = (y64 * y64).sum(-1)
    return (sq_x[:, :, None] + sq_y[:, None, :]).add_(gram, alpha=-2.0).clamp_min_(0.0)


def _in_band(i, j, band):
    """(B, len(i)) mask of the cells ``(i, j)`` inside each pair's band."""
    offset = (j - i)[None, :]
    return (offset >= band[:, :1]) & (offset <= band[:, 1:])


def torch_forward(D, nx, ny, gamma, band=None):
    """Values (B,) and weights (B, 3, n + 2, m + 2), float64.

    ``weights[b, :, i + 1, j + 1]``: soft-min weights of the diagonal, upper
    and left predecessors of cell ``(i, j)``; zero on the border and outside
    the band.
    """
    B, n, m = D.shape
    R = torch.full((B, n + 1, m + 1), float("inf"), dtype=torch.float64)
    R[:, 0, 0] = 0.0
    weights = torch.zeros((B, 3, n + 2, m + 2), dtype=torch.float64)
    R_flat, W_flat, D_flat = R.view(B, -1), weights.view(B, 3, -1), D.reshape(B, -1)
    for k in range(n + m - 1):
        i = torch.arange(max(0, k - m + 1), min(n - 1, k) + 1)
        j = k - i
        cell = (i + 1) * (m + 1) + j + 1
        z = torch.stack((R_flat[:, cell - m - 2], R_flat[:, cell - m - 1], R_flat[:, cell - 1]), 1)
        z = z.mul_(-1.0 / gamma)
        lse = torch.logsumexp(z, 1)
        r = D_flat[:, i * m + j] - gamma * lse
        w = torch.exp(z - lse[:, None])
        if band is not None:  # cells outside: all-inf predecessors give NaN here
            inside = _in_band(i, j, band)
            r = torch.where(inside, r, float("inf"))
            w = torch.where(inside[:, None], w, 0.0)
        R_flat[:, cell] = r
        W_flat[:, :, (i + 1) * (m + 2) + j + 1] = w
    values = R[torch.arange(B), nx, ny]
    return values, weights


def torch_backward(weights, nx, ny, n, m, band=None):
    """Expected alignment (B, n, m) float64, zero outside the valid lengths
    and the band."""
    B = weights.shape[0]
    E = torch.zeros((B, n + 2, m + 2), dtype=torch.float64)
    E_flat, W_flat = E.view(B, -1), weights.view(B, 3, -1)
    rows = torch.arange(n)[None, :, None]
    cols = torch.arange(m)[None, None, :]
    valid = ((rows < nx[:, None, None]) & (cols < ny[:, None, None])).reshape(B, -1)
    last = ((rows == nx[:, None, None] - 1) & (cols == ny[:, None, None] - 1)).reshape(B, -1)
    s = m + 2
    for k in range(n + m - 2, -1, -1):
        i = torch.arange(max(0, k - m + 1), min(n - 1, k) + 1)
        j = k - i
        cell = (i + 1) * s + j + 1
        value = (
            E_flat[:, cell + s + 1] * W_flat[:, 0, cell + s + 1]
            + E_flat[:, cell + s] * W_flat[:, 1, cell + s]
            + E_flat[:, cell + 1] * W_flat[:, 2, cell + 1]
        )
        flat = i * m + j
        inside = valid[:, flat] if band is None else valid[:, flat] & _in_band(i, j, band)
        E_flat[:, cell] = torch.where(inside, value + last[:, flat], 0.0)
    return E[:, 1 : n + 1, 1 : m + 1].contiguous()
