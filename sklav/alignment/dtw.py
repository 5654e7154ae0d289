"""Exact dynamic time warping of embedded videos, compiled with numba.

- :func:`dtw_path`: the least-cost monotone alignment path of a cost matrix
  and its total cost (dynamic programme, then backtracking).
- :func:`squared_distances`: the cost ``D[i, j] = ||x_i - y_j||^2`` of two
  sequences of frame embeddings, as NumPy arrays.
- ``_hard_alignment``: from the path, the matched frame of the first
  sequence for every frame of the second, and their costs (used by the
  deviation scores of :mod:`sklav.alignment.align`).
"""

import numpy as np
from numba import njit

__all__ = ["dtw_path", "squared_distances"]


@njit(cache=True)
def _dtw_accumulate(D):
    n, m = D.shape
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best = R[i - 1, j - 1]
            if R[i - 1, j] < best:
                best = R[i - 1, j]
            if R[i, j - 1] < best:
                best = R[i, j - 1]
            R[i, j] = D[i - 1, j - 1] + best
    return R


@njit(cache=True)
def _dtw_backtrack(R):
    n, m = R.shape[0] - 1, R.shape[1] - 1
    path = np.empty((n + m, 2), dtype=np.int64)
    i, j, k = n, m, 0
    while True:
        path[k, 0] = i - 1
        path[k, 1] = j - 1
        k += 1
        if i == 1 and j == 1:
            break
        # the diagonal wins ties, then the step in a, then the step in b
        diagonal, up, left = R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]
        if diagonal <= up and diagonal <= left:
            i, j = i - 1, j - 1
        elif up <= left:
            i -= 1
        else:
            j -= 1
    return path[:k][::-1].copy()


def dtw_path(cost):
    """Exact DTW: the least-cost monotone alignment path of a cost matrix.

    Parameters
    ----------
    cost : array-like of shape (n, m)
        ``cost[i, j]`` of matching frame ``i`` of the first sequence with
        frame ``j`` of the second; finite.

    Returns
    -------
    path : ndarray of shape (L, 2), int64
        Pairs ``(i, j)`` from ``(0, 0)`` to ``(n - 1, m - 1)``, each step
        ``(1, 1)``, ``(1, 0)`` or ``(0, 1)``; ``max(n, m) <= L <= n + m - 1``.
        On ties the backtracking prefers the diagonal step.
    total : float
        ``sum(cost[i, j] for (i, j) in path)``, the DTW discrepancy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.alignment import dtw_path
    >>> x, y = np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0, 2.0])
    >>> path, total = dtw_path((x[:, None] - y[None, :]) ** 2)
    >>> path.tolist(), total
    ([[0, 0], [0, 1], [1, 2], [2, 3]], 0.0)
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or cost.size == 0:
        raise ValueError(f"cost must be a non-empty 2-D array, got shape {cost.shape}.")
    if not np.isfinite(cost).all():
        raise ValueError("cost contains NaN or inf.")
    R = _dtw_accumulate(np.ascontiguousarray(cost))
    return _dtw_backtrack(R), float(R[-1, -1])


def squared_distances(x, y):
    """``D[i, j] = ||x_i - y_j||^2`` of ``(n, d)`` and ``(m, d)`` arrays, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.alignment.dtw import squared_distances
    >>> squared_distances(np.zeros((1, 2)), np.ones((2, 2)))
    array([[2., 2.]])
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    D = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.maximum(D, 0.0)


def _hard_alignment(D):
    """Path (L, 2), index_map (m,), per-frame cost (m,), total cost."""
    path, total = dtw_path(D)
    costs = D[path[:, 0], path[:, 1]]
    order = np.lexsort((costs, path[:, 1]))  # by frame of b, then by cost
    _, first = np.unique(path[order, 1], return_index=True)
    best = order[first]
    return path, path[best, 0], costs[best], total
