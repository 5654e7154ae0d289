"""CPU Soft-DTW kernels, compiled with numba.

The dynamic programme runs anti-diagonal by anti-diagonal (a wavefront), so the
cells of one diagonal are independent and the CPU can overlap their
exponentials; pairs of a batch run in parallel threads. The DP state is float64
whatever the input dtype. The forward saves, per cell, the soft-min weights of
its diagonal and upper predecessors (the left weight is one minus their sum),
so the backward pass is a multiply-add sweep with no exponential.

Conventions (shared with the GPU kernels in ``_softdtw_triton``):

- ``D``: cost, ``(B, n, m)``; pair ``b`` uses ``D[b, :nx[b], :ny[b]]``.
- ``weights[b, i, j, 0]``: weight of ``(i-1, j-1)`` in the soft-min of cell
  ``(i, j)``; ``weights[b, i, j, 1]``: weight of ``(i-1, j)``.
- ``E = d value / d D``, zero outside the valid region.
"""

import math

import numba
import numpy as np

_INF = np.inf


@numba.njit(cache=True, nogil=True, fastmath={"nsz", "arcp", "contract", "reassoc"})
def _forward_pair(D, n, m, gamma, weights, r_prev2, r_prev, r_cur):
    # r_* hold one anti-diagonal of R each, indexed by row i + 1 (slot 0 is
    # row -1, the boundary). Slots no cell of the diagonal writes stay +inf.
    inv_gamma = 1.0 / gamma
    r_prev2[:] = _INF
    r_prev[:] = _INF
    r_cur[:] = _INF
    r_prev2[0] = 0.0  # R[-1, -1]
    for k in range(n + m - 1):
        lo = max(0, k - m + 1)
        hi = min(n - 1, k)
        r_cur[lo] = _INF  # R[lo - 1, k - lo + 1]: outside the table
        for i in range(lo, hi + 1):
            j = k - i
            diag = r_prev2[i]
            up = r_prev[i]
            left = r_prev[i + 1]
            smallest = min(diag, min(up, left))
            e_diag = math.exp((smallest - diag) * inv_gamma)
            e_up = math.exp((smallest - up) * inv_gamma)
            e_left = math.exp((smallest - left) * inv_gamma)
            total = e_diag + e_up + e_left
            r_cur[i + 1] = D[i, j] + smallest - gamma * math.log(total)
            inv_total = 1.0 / total
            weights[i, j, 0] = e_diag * inv_total
            weights[i, j, 1] = e_up * inv_total
        if k == 0:
            r_prev2[0] = _INF  # R[-1, -1] is used by cell (0, 0) only
        r_prev2, r_prev, r_cur = r_prev, r_cur, r_prev2
    return r_prev[n]


@numba.njit(cache=True, nogil=True, fastmath={"nsz", "arcp", "contract", "reassoc"})
def _backward_pair(weights, n, m, E):
    # Reverse wavefront. e_* hold one anti-diagonal of E each, indexed by row;
    # successors outside the table are skipped, so no slot is read stale.
    e_next2 = np.zeros(n)
    e_next = np.zeros(n)
    e_cur = np.zeros(n)
    for k in range(n + m - 2, -1, -1):
        lo = max(0, k - m + 1)
        hi = min(n - 1, k)
        for i in range(lo, hi + 1):
            j = k - i
            if k == n + m - 2:
                value = 1.0
            else:
                value = 0.0
                if i + 1 < n and j + 1 < m:
                    value += e_next2[i + 1] * weights[i + 1, j + 1, 0]
                if i + 1 < n:
                    value += e_next[i + 1] * weights[i + 1, j, 1]
                if j + 1 < m:
                    w_left = 1.0 - weights[i, j + 1, 0] - weights[i, j + 1, 1]
                    value += e_next[i] * w_left
            e_cur[i] = value
            E[i, j] = value
        e_next2, e_next, e_cur = e_next, e_cur, e_next2


@numba.njit(cache=True, parallel=True)
def softdtw_forward(D, nx, ny, gamma):
    """Values ``(B,)`` and soft-min weights ``(B, n, m, 2)``, all float64."""
    B, n, m = D.shape
    values = np.empty(B)
    weights = np.empty((B, n, m, 2))
    for b in numba.prange(B):
        buffers = np.empty((3, nx[b] + 1))
        values[b] = _forward_pair(
            D[b], nx[b], ny[b], gamma, weights[b], buffers[0], buffers[1], buffers[2]
        )
    return values, weights


@numba.njit(cache=True, parallel=True)
def softdtw_backward(weights, nx, ny):
    """Expected alignment ``E = d value / d D``, ``(B, n, m)`` float64."""
    B, n, m = weights.shape[:3]
    E = np.zeros((B, n, m))
    for b in numba.prange(B):
        _backward_pair(weights[b], nx[b], ny[b], E[b])
    return E
