"""Tensor checks for the alignment kernels and losses.

The one place where the torch entry points of :mod:`sklav.alignment` and
:mod:`sklav.losses` validate their inputs: embedded sequences
(:func:`check_tensor`, :func:`check_pair`), the Soft-DTW smoothing
(:func:`check_gamma`), the valid lengths of padded sequences
(:func:`check_lengths`) and frame timestamps (:func:`check_timestamps`).

Lengths are checked once, on the CPU, and stay there as int64 tensors; a
caller moves them to its data's device only where it builds a mask. No check
here forces a host-device synchronisation on CUDA tensors.
"""

import math

import numpy as np
import torch

__all__ = ["check_tensor", "check_pair", "check_gamma", "check_lengths", "check_timestamps"]


def check_tensor(value, name, ndim, *, finite=True):
    """Check that ``value`` is a non-empty floating-point tensor of ``ndim`` dimensions.

    Parameters
    ----------
    value : object
        What the caller received.
    name : str
        Its name in the error messages.
    ndim : int
        The number of dimensions it must have.
    finite : bool, default=True
        Also reject NaN and inf entries. Only CPU tensors are checked: on
        CUDA the test would wait for the device, so there the caller (the
        training loop) checks the loss instead.

    Raises
    ------
    TypeError
        ``value`` is not a torch tensor, or not a floating-point one.
    ValueError
        ``value`` has another number of dimensions, is empty, or (CPU,
        ``finite``) holds NaN or inf.

    Examples
    --------
    >>> import torch
    >>> from sklav.utils.tensors import check_tensor
    >>> check_tensor(torch.zeros(2, 3), "x", 2)
    >>> check_tensor(torch.zeros(2, 3), "x", 3)
    Traceback (most recent call last):
    ...
    ValueError: x must have 3 dimensions, got shape (2, 3).
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}.")
    if value.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}.")
    if value.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}).")
    # A finite sum proves every entry finite (inf and NaN propagate through
    # additions), in one pass; only a non-finite sum needs the exact test.
    if (
        finite
        and value.device.type == "cpu"
        and not math.isfinite(value.detach().sum())
        and not torch.isfinite(value).all()
    ):
        raise ValueError(f"{name} contains NaN or inf.")


def check_pair(x, y, *, finite=True):
    """Check two batches of sequences, ``(B, n, d)`` and ``(B, m, d)``.

    Parameters
    ----------
    x, y : object
        What the caller received as ``x`` and ``y``.
    finite : bool, default=True
        As in :func:`check_tensor`.

    Raises
    ------
    TypeError, ValueError
        Either fails :func:`check_tensor` with ``ndim=3``, or their batch
        sizes, feature sizes or devices differ.

    Examples
    --------
    >>> import torch
    >>> from sklav.utils.tensors import check_pair
    >>> check_pair(torch.zeros(2, 4, 3), torch.zeros(2, 5, 3))
    >>> check_pair(torch.zeros(2, 4, 3), torch.zeros(1, 5, 3))
    Traceback (most recent call last):
    ...
    ValueError: x and y must have the same batch size, got 2 and 1.
    """
    check_tensor(x, "x", 3, finite=finite)
    check_tensor(y, "y", 3, finite=finite)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same batch size, got {x.shape[0]} and {y.shape[0]}.")
    if x.shape[2] != y.shape[2]:
        raise ValueError(
            f"x and y must have the same feature size, got {x.shape[2]} and {y.shape[2]}."
        )
    if x.device != y.device:
        raise ValueError(f"x and y are on different devices ({x.device} and {y.device}).")


def check_gamma(gamma):
    """The Soft-DTW smoothing as a positive finite float.

    Parameters
    ----------
    gamma : float-like

    Returns
    -------
    gamma : float

    Raises
    ------
    TypeError
        ``gamma`` does not convert to a float.
    ValueError
        ``gamma`` is not positive and finite.

    Examples
    --------
    >>> from sklav.utils.tensors import check_gamma
    >>> check_gamma(1)
    1.0
    """
    try:
        gamma = float(gamma)
    except (TypeError, ValueError):
        raise TypeError(f"gamma must be a positive float, got {gamma!r}.") from None
    if not gamma > 0 or not np.isfinite(gamma):
        raise ValueError(f"gamma must be a positive finite float, got {gamma}.")
    return gamma


def check_lengths(lengths, batch, size, name):
    """Valid lengths of ``batch`` padded sequences of ``size`` frames.

    Parameters
    ----------
    lengths : array-like of int of shape (batch,) or None
        Any integer array-like or tensor, on any device; None means every
        sequence is ``size`` frames long.
    batch : int
        Number of sequences.
    size : int
        Frames of the padded sequences: each length lies in ``[1, size]``.
    name : str
        Its name in the error messages.

    Returns
    -------
    lengths : torch.Tensor of shape (batch,), int64, on the CPU

    Raises
    ------
    TypeError
        ``lengths`` does not hold integers.
    ValueError
        It has not ``batch`` entries, or one lies outside ``[1, size]``.

    Examples
    --------
    >>> from sklav.utils.tensors import check_lengths
    >>> check_lengths([3, 1], 2, 4, "x_lengths")
    tensor([3, 1])
    >>> check_lengths(None, 2, 4, "x_lengths")
    tensor([4, 4])
    """
    if lengths is None:
        return torch.full((batch,), size, dtype=torch.int64)
    lengths = torch.as_tensor(lengths).detach().cpu()
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers, got {lengths.dtype}.")
    lengths = lengths.to(torch.int64).reshape(-1).contiguous()
    if lengths.numel() != batch:
        raise ValueError(f"{name} has {lengths.numel()} entries for a batch of {batch}.")
    bad = (lengths < 1) | (lengths > size)
    if bad.any():
        b = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{name}[{b}] = {int(lengths[b])} is out of range: lengths must lie in [1, {size}]."
        )
    return lengths


def check_timestamps(times, batch, size, name, dtype, device):
    """Frame timestamps ``(batch, size)``, detached, in ``dtype`` on ``device``.

    Parameters
    ----------
    times : array-like of shape (batch, size) or None
        Real timestamps (e.g. the indices of the sampled frames in the
        original video); None means the frame positions ``0, 1, ...``.
    batch, size : int
        The expected shape.
    name : str
        Its name in the error messages.
    dtype : torch.dtype
    device : torch.device

    Returns
    -------
    times : torch.Tensor of shape (batch, size)
        No gradient flows back to ``times``.

    Raises
    ------
    TypeError
        ``times`` holds complex numbers or booleans.
    ValueError
        ``times`` does not have shape ``(batch, size)``.

    Examples
    --------
    >>> import torch
    >>> from sklav.utils.tensors import check_timestamps
    >>> check_timestamps(None, 1, 3, "t", torch.float32, "cpu")
    tensor([[0., 1., 2.]])
    """
    if times is None:
        return torch.arange(size, dtype=dtype, device=device).expand(batch, size)
    if isinstance(times, torch.Tensor):
        times = times.detach()
    times = torch.as_tensor(times, device=device)
    if times.is_complex() or times.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got {times.dtype}.")
    if times.shape != (batch, size):
        raise ValueError(f"{name} must have shape ({batch}, {size}), got {tuple(times.shape)}.")
    return times.to(dtype)
