"""Frame-to-frame costs between two batches of sequences, in float64.

- :func:`squared_euclidean_cost`: Soft-DTW's default cost, with a
  hand-written backward;
- :func:`pairwise_cost`: the other named costs (``'euclidean'``, ``'l1'``,
  ``'cosine'``) and user callables, differentiated by autograd.

Soft-DTW's soft-min divides cost differences by gamma, so the cost of
:func:`~sklav.alignment.soft_dtw` on CUDA is computed here in float64 with a
hand-written backward (on the CPU, :mod:`sklav.alignment.softdtw` fuses the
cost into its Soft-DTW autograd function instead).
"""

import torch

__all__ = ["squared_euclidean_cost", "pairwise_cost", "COSTS"]

COSTS = ("sqeuclidean", "euclidean", "l1", "cosine")


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


def pairwise_cost(x, y, cost):
    """Cost ``(B, n, m)`` in float64 of every frame of ``x`` with every frame of ``y``.

    Parameters
    ----------
    x, y : torch.Tensor of shape (B, n, d) and (B, m, d)
    cost : {'sqeuclidean', 'euclidean', 'l1', 'cosine'} or callable
        ``'cosine'`` is ``1 - cos(x_i, y_j)``; a callable ``cost(x, y)``
        returns the ``(B, n, m)`` tensor itself (differentiable, finite).

    Examples
    --------
    >>> import torch
    >>> from sklav.alignment._cost import pairwise_cost
    >>> pairwise_cost(torch.zeros(1, 1, 2), torch.ones(1, 1, 2), "l1")
    tensor([[[2.]]], dtype=torch.float64)
    """
    if callable(cost):
        D = cost(x, y)
        if not isinstance(D, torch.Tensor) or tuple(D.shape) != (x.shape[0], x.shape[1], y.shape[1]):
            raise ValueError(
                f"cost(x, y) must return a tensor of shape {(x.shape[0], x.shape[1], y.shape[1])}, "
                f"got {getattr(D, 'shape', type(D).__name__)}."
            )
        return D.to(torch.float64)
    x, y = x.to(torch.float64), y.to(torch.float64)
    if cost == "sqeuclidean":
        return squared_euclidean_cost(x, y)
    if cost == "euclidean":
        return torch.cdist(x, y, p=2.0)
    if cost == "l1":
        return torch.cdist(x, y, p=1.0)
    if cost == "cosine":
        unit = torch.nn.functional.normalize
        return 1.0 - unit(x, dim=-1) @ unit(y, dim=-1).transpose(1, 2)
    raise ValueError(f"cost must be one of {COSTS} or a callable, got {cost!r}.")
