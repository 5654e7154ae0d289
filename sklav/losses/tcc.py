"""Temporal Cycle-Consistency (TCC) loss, cycle-back regression variant.

TCC (Dwibedi et al., "Temporal Cycle-Consistency Learning", CVPR 2019) asks
every frame of a video to come back to itself after a soft round trip through
another video: frame ``u_i`` of ``x`` picks its soft nearest neighbour
``v~ = sum_j alpha_j v_j`` in ``y``, which in turn softly points back at the
frames of ``x`` with weights ``beta``. Cycle-back regression penalises the
distance between ``t_i`` and the timestamp ``mu = sum_k beta_k t_k`` it lands
on; the variance-aware form divides that squared error by the variance of
``beta``'s timestamps and adds the log-variance, as in the official code.

LAV uses TCC as a baseline and as an optional extra term; :func:`tcc_loss`
works on batches of (possibly padded) embedding pairs, and
:func:`tcc_loss_all_pairs` cycles every video of a batch through every
other one, as TCC trains, without gathering the pairs.
"""

from numbers import Real

import torch

from ..utils.param_validation import Interval, StrOptions, validate_params
from ..utils.tensors import check_lengths, check_pair, check_timestamps

__all__ = ["tcc_loss", "tcc_loss_all_pairs", "TCC_DEFAULTS"]

# Defaults, written once for tcc_loss and LAVLoss's ``tcc_*`` settings.
TCC_DEFAULTS = dict(
    temperature=0.1,
    variance_lambda=0.001,
    similarity="l2",
    normalize_indices=True,
    loss_type="regression_mse_var",
    scale_by_dim=False,
)

TCC_CONSTRAINTS = {
    "temperature": [Interval(Real, 0, None, closed="neither")],
    "variance_lambda": [Interval(Real, 0, None, closed="left")],
    "similarity": [StrOptions({"l2", "cosine"})],
    "normalize_indices": ["boolean"],
    "loss_type": [StrOptions({"regression_mse_var", "regression_mse"})],
    "scale_by_dim": ["boolean"],
}


# --------------------------------------------------------------------------
# input checks


def _promote(x, y):
    """``x`` and ``y`` in their common floating dtype."""
    dtype = torch.promote_types(x.dtype, y.dtype)
    return x.to(dtype), y.to(dtype)


# --------------------------------------------------------------------------
# the loss


def _scaled_similarity(a, b, similarity, temperature, scale_by_dim):
    """(B, p, q) logits: similarity of every frame of ``a`` to every frame of ``b``.

    Divided by the temperature and, with ``scale_by_dim``, by the number of
    features as the official TCC code does for its unnormalised embeddings;
    'cosine' is the plain dot product (a cosine for L2-normalised embeddings).
    """
    dot = a @ b.transpose(1, 2)
    if similarity == "l2":
        squared_a = (a * a).sum(-1, keepdim=True)
        squared_b = (b * b).sum(-1).unsqueeze(1)
        # Clamped: rounding can make the expansion slightly negative.
        logits = -(squared_a + squared_b - 2.0 * dot).clamp_min(0.0)
    else:
        logits = dot
    return logits / ((a.shape[-1] if scale_by_dim else 1.0) * temperature)


def _valid_frames(x, lengths, times, normalize_indices, names):
    """Padded frames zeroed (so that no NaN leaks through a zero weight), their mask, the timestamps."""
    batch, n, _ = x.shape
    lengths = check_lengths(lengths, batch, n, names[0]).to(x.device)
    times = check_timestamps(times, batch, n, names[1], x.dtype, x.device)
    mask = torch.arange(n, device=x.device) < lengths.unsqueeze(1)
    x = x.masked_fill(~mask.unsqueeze(-1), 0.0)
    times = torch.where(mask, times, torch.zeros_like(times))
    if normalize_indices:
        times = times / lengths.unsqueeze(1).to(times.dtype)
    return x, mask, times


def _masked_softmax(logits, key_mask):
    return logits.masked_fill(~key_mask.unsqueeze(1), float("-inf")).softmax(-1)


def _cycle_back_regression(u, v, u_mask, v_mask, u_times, temperature, similarity,
                           variance_lambda, loss_type, scale_by_dim):
    """Per-pair mean, over the valid frames of ``u``, of the U -> V -> U loss."""
    alpha = _masked_softmax(_scaled_similarity(u, v, similarity, temperature, scale_by_dim), v_mask)
    nearest = alpha @ v  # soft nearest neighbour in v of every frame of u
    beta = _masked_softmax(_scaled_similarity(nearest, u, similarity, temperature, scale_by_dim), u_mask)
    frame_loss = _regression(beta, u_times.unsqueeze(1), u_times, variance_lambda, loss_type)
    frame_loss = torch.where(u_mask, frame_loss, torch.zeros_like(frame_loss))
    return frame_loss.sum(-1) / u_mask.sum(-1)


def _regression(beta, key_times, query_times, variance_lambda, loss_type):
    """Per-frame loss of landing at ``sum_k beta_k t_k`` (``key_times`` broadcast against ``beta``)."""
    predicted = (beta * key_times).sum(-1)
    frame_loss = (query_times - predicted) ** 2
    if loss_type == "regression_mse_var":
        variance = (beta * (key_times - predicted.unsqueeze(-1)) ** 2).sum(-1)
        # Only guards an exactly one-hot beta (variance 0) against inf / nan.
        log_variance = variance.clamp_min(torch.finfo(variance.dtype).eps ** 2).log()
        frame_loss = frame_loss * torch.exp(-log_variance) + variance_lambda * log_variance
    return frame_loss


def tcc_loss(
    x,
    y,
    x_t=None,
    y_t=None,
    x_lengths=None,
    y_lengths=None,
    temperature=TCC_DEFAULTS["temperature"],
    variance_lambda=TCC_DEFAULTS["variance_lambda"],
    similarity=TCC_DEFAULTS["similarity"],
    normalize_indices=TCC_DEFAULTS["normalize_indices"],
    loss_type=TCC_DEFAULTS["loss_type"],
    scale_by_dim=TCC_DEFAULTS["scale_by_dim"],
):
    """Temporal cycle-consistency loss (cycle-back regression) of paired sequences.

    For each pair ``(x[b], y[b])`` and each valid frame ``u_i`` of ``x[b]``:

    - ``alpha = softmax_j(s(u_i, v_j))`` over the valid frames of ``y[b]`` and
      ``v~ = sum_j alpha_j v_j`` (the soft nearest neighbour);
    - ``beta = softmax_k(s(v~, u_k))`` over the valid frames of ``x[b]``,
      ``mu = sum_k beta_k t_k`` and ``sigma^2 = sum_k beta_k (t_k - mu)^2``;
    - ``regression_mse``: ``(t_i - mu)^2``; ``regression_mse_var``:
      ``(t_i - mu)^2 / sigma^2 + variance_lambda * log(sigma^2)``.

    ``s(u, v)`` is ``-||u - v||^2 / temperature`` for ``'l2'`` and
    ``u . v / temperature`` for ``'cosine'``, further divided by the number
    of features ``d`` with ``scale_by_dim``. The loss of a pair is the
    mean over its valid frames of ``x``, averaged with the same loss for
    ``Y -> X -> Y``; the result is the mean over the pairs.

    Parameters
    ----------
    x : torch.Tensor of shape (B, n, d)
        Frame embeddings of the first sequence of each pair.
    y : torch.Tensor of shape (B, m, d)
        Frame embeddings of the second sequence of each pair.
    x_t, y_t : array-like of shape (B, n) and (B, m), optional
        Timestamps of the frames (e.g. the indices of sampled frames in the
        original video). Default: frame positions ``0, 1, ...``. They carry
        no gradient.
    x_lengths, y_lengths : array-like of int of shape (B,), optional
        Valid frames of each padded sequence; frames from the length onward
        are ignored (any value, even NaN, is allowed there). Default: all.
    temperature : float, default=0.1
        Softmax temperature, > 0; smaller means harder nearest neighbours.
    variance_lambda : float, default=0.001
        Weight, >= 0, of the log-variance term of ``'regression_mse_var'``.
    similarity : {'l2', 'cosine'}, default='l2'
        Negative squared Euclidean distance, or dot product.
    normalize_indices : bool, default=True
        Divide the timestamps of each sequence by its number of valid frames.
    loss_type : {'regression_mse_var', 'regression_mse'}, default='regression_mse_var'
        Variance-aware regression, or plain squared error.
    scale_by_dim : bool, default=False
        Also divide the similarities by the number of features, as the
        official TCC code does for its unnormalised embeddings. On unit-norm
        embeddings (LAV's) that keeps the logits within ``4 / (d *
        temperature)`` (0.31 for d=128), the soft nearest neighbours near
        uniform and the loss flat: TCC then cannot learn.

    Returns
    -------
    loss : torch.Tensor
        Scalar, differentiable with respect to ``x`` and ``y``.

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import tcc_loss
    >>> x = 3.0 * torch.eye(4).unsqueeze(0)  # 4 well separated frames
    >>> loss = tcc_loss(x, x, loss_type="regression_mse")
    >>> loss.item() < 1e-6
    True
    >>> collapsed = x.mean(dim=1, keepdim=True).expand(1, 4, 4)  # no temporal structure
    >>> round(tcc_loss(x, collapsed, loss_type="regression_mse").item(), 4)
    0.0781
    """
    # Padded frames may hold anything, NaN included: no finiteness check.
    check_pair(x, y, finite=False)
    x, y = _promote(x, y)
    settings = dict(temperature=temperature, variance_lambda=variance_lambda,
                    similarity=similarity, normalize_indices=normalize_indices, loss_type=loss_type,
                    scale_by_dim=scale_by_dim)
    validate_params(TCC_CONSTRAINTS, settings, "tcc_loss")

    x, x_mask, x_t = _valid_frames(x, x_lengths, x_t, normalize_indices, ("x_lengths", "x_t"))
    y, y_mask, y_t = _valid_frames(y, y_lengths, y_t, normalize_indices, ("y_lengths", "y_t"))
    options = dict(temperature=temperature, similarity=similarity,
                   variance_lambda=variance_lambda, loss_type=loss_type, scale_by_dim=scale_by_dim)
    x_to_y = _cycle_back_regression(x, y, x_mask, y_mask, x_t, **options)
    y_to_x = _cycle_back_regression(y, x, y_mask, x_mask, y_t, **options)
    return (0.5 * (x_to_y + y_to_x)).mean()


def tcc_loss_all_pairs(
    embeddings,
    times=None,
    lengths=None,
    *,
    temperature=TCC_DEFAULTS["temperature"],
    variance_lambda=TCC_DEFAULTS["variance_lambda"],
    similarity=TCC_DEFAULTS["similarity"],
    normalize_indices=TCC_DEFAULTS["normalize_indices"],
    loss_type=TCC_DEFAULTS["loss_type"],
    scale_by_dim=TCC_DEFAULTS["scale_by_dim"],
):
    """TCC over every ordered pair of distinct videos of a batch, as TCC trains.

    Equal to the mean of :func:`tcc_loss` over all pairs ``(a, b)``, ``a <
    b``, of the batch (each cycles both ways), computed in one pass over the
    batch's similarity matrix instead of on gathered copies of the pairs.

    Parameters
    ----------
    embeddings : torch.Tensor of shape (B, n, d)
        Frame embeddings of ``B >= 2`` (possibly padded) videos.
    times : array-like of shape (B, n), optional
        Timestamps of the frames; default: positions ``0, 1, ...``.
    lengths : array-like of int of shape (B,), optional
        Valid frames of each video; default: all.
    temperature, variance_lambda, similarity, normalize_indices, loss_type, scale_by_dim
        As in :func:`tcc_loss`.

    Returns
    -------
    loss : torch.Tensor
        Scalar, differentiable with respect to ``embeddings``.

    Examples
    --------
    >>> import torch
    >>> from sklav.losses import tcc_loss, tcc_loss_all_pairs
    >>> videos = torch.nn.functional.normalize(torch.randn(3, 5, 8, dtype=torch.float64), dim=-1)
    >>> first, second = [0, 0, 1], [1, 2, 2]
    >>> pairs = tcc_loss(videos[first], videos[second])
    >>> bool(torch.isclose(tcc_loss_all_pairs(videos), pairs))
    True
    """
    check_pair(embeddings, embeddings, finite=False)
    settings = dict(temperature=temperature, variance_lambda=variance_lambda,
                    similarity=similarity, normalize_indices=normalize_indices, loss_type=loss_type,
                    scale_by_dim=scale_by_dim)
    validate_params(TCC_CONSTRAINTS, settings, "tcc_loss_all_pairs")
    batch, n, d = embeddings.shape
    if batch < 2:
        raise ValueError(f"tcc_loss_all_pairs needs at least 2 videos, got {batch}.")
    e, mask, t = _valid_frames(embeddings, lengths, times, normalize_indices, ("lengths", "times"))
    flat = e.reshape(1, batch * n, d)
    # alpha[a, i, b, j]: frame i of video a picks frame j of video b
    logits = _scaled_similarity(flat, flat, similarity, temperature, scale_by_dim).view(batch, n, batch, n)
    alpha = logits.masked_fill(~mask.view(1, 1, batch, n), float("-inf")).softmax(-1)
    nearest = torch.einsum("aibj,bjd->aibd", alpha, e).reshape(batch, n * batch, d)
    beta = _masked_softmax(_scaled_similarity(nearest, e, similarity, temperature, scale_by_dim), mask)
    frame_loss = _regression(beta.view(batch, n, batch, n), t.view(batch, 1, 1, n), t.view(batch, n, 1),
                             variance_lambda, loss_type)
    frame_loss = torch.where(mask.unsqueeze(-1), frame_loss, torch.zeros_like(frame_loss))
    per_pair = frame_loss.sum(1) / mask.sum(1, keepdim=True)  # [a, b]: the cycle a -> b -> a
    return per_pair[~torch.eye(batch, dtype=torch.bool, device=e.device)].mean()
