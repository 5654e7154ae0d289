"""Independent slow references for the tests: plain float64 recursions."""

import numpy as np


def softdtw_reference(D, gamma):
    """Value and expected alignment of Soft-DTW, Cuturi & Blondel's recursions.

    Forward and backward written as in Algorithm 1 and 2 of Cuturi & Blondel
    (2017), in float64, one cell at a time.
    """
    D = np.asarray(D, dtype=np.float64)
    n, m = D.shape
    R = np.full((n + 2, m + 2), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a = np.array([R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]])
            smallest = a.min()
            R[i, j] = D[i - 1, j - 1] + smallest - gamma * np.log(np.exp(-(a - smallest) / gamma).sum())
    value = R[n, m]
    Dp = np.zeros((n + 2, m + 2))
    Dp[1 : n + 1, 1 : m + 1] = D
    E = np.zeros((n + 2, m + 2))
    E[n + 1, m + 1] = 1.0
    R[:, m + 1] = -np.inf
    R[n + 1, :] = -np.inf
    R[n + 1, m + 1] = R[n, m]
    for j in range(m, 0, -1):
        for i in range(n, 0, -1):
            a = np.exp((R[i + 1, j] - R[i, j] - Dp[i + 1, j]) / gamma)
            b = np.exp((R[i, j + 1] - R[i, j] - Dp[i, j + 1]) / gamma)
            c = np.exp((R[i + 1, j + 1] - R[i, j] - Dp[i + 1, j + 1]) / gamma)
            E[i, j] = E[i + 1, j] * a + E[i, j + 1] * b + E[i + 1, j + 1] * c
    return value, E[1 : n + 1, 1 : m + 1]


def sq_euclidean64(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def softdtw_grad_reference(x, y, gamma):
    """Value and gradients w.r.t. x and y of soft-DTW with squared Euclidean cost."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    value, E = softdtw_reference(sq_euclidean64(x, y), gamma)
    grad_x = 2.0 * (x * E.sum(1)[:, None] - E @ y)
    grad_y = 2.0 * (y * E.sum(0)[:, None] - E.T @ x)
    return value, grad_x, grad_y


def dtw_reference(D):
    """Classic DTW cost and one optimal path as a 0/1 matrix."""
    D = np.asarray(D, dtype=np.float64)
    n, m = D.shape
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            R[i, j] = D[i - 1, j - 1] + min(R[i - 1, j - 1], R[i - 1, j], R[i, j - 1])
    path = np.zeros((n, m))
    i, j = n, m
    while (i, j) != (0, 0):
        path[i - 1, j - 1] = 1
        steps = {(i - 1, j - 1): R[i - 1, j - 1], (i - 1, j): R[i - 1, j], (i, j - 1): R[i, j - 1]}
        i, j = min(steps, key=steps.get)
    return R[n, m], path


def sakoe_chiba_reference(n, m, w):
    """Boolean (n, m) mask of tslearn's Sakoe-Chiba band of radius ``w``:
    ``|i - j| <= w``, widened by ``|n - m|`` towards the longer axis."""
    i, j = np.indices((n, m))
    return (j - i >= min(0, m - n) - w) & (j - i <= max(0, m - n) + w)


def banded_softdtw_reference(D, gamma, mask):
    """Value and expected alignment of Soft-DTW restricted to ``mask``.

    Cells outside the mask are unreachable (``R = +inf``, ``E = 0``). The
    forward keeps each cell's soft-min probabilities over its three
    predecessors; the backward sends each cell's ``E`` back along them.
    Plain float64 loops, one cell at a time.
    """
    D = np.asarray(D, dtype=np.float64)
    n, m = D.shape
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    P = np.zeros((n + 1, m + 1, 3))  # weights of (i-1, j-1), (i-1, j), (i, j-1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if not mask[i - 1, j - 1]:
                continue
            a = np.array([R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]])
            smallest = a.min()
            p = np.exp(-(a - smallest) / gamma)
            R[i, j] = D[i - 1, j - 1] + smallest - gamma * np.log(p.sum())
            P[i, j] = p / p.sum()
    E = np.zeros((n + 2, m + 2))
    E[n, m] = 1.0
    for i in range(n, 0, -1):
        for j in range(m, 0, -1):
            if (i, j) != (n, m):
                E[i, j] = E[i + 1, j + 1] * P[min(i + 1, n), min(j + 1, m), 0] * (i < n and j < m)
                E[i, j] += E[i + 1, j] * P[min(i + 1, n), j, 1] * (i < n)
                E[i, j] += E[i, j + 1] * P[i, min(j + 1, m), 2] * (j < m)
    return R[n, m], E[1 : n + 1, 1 : m + 1]
