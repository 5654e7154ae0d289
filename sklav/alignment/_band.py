"""The Sakoe-Chiba band of Soft-DTW: which cells of each pair's table count.

``bandwidth`` is a radius ``w`` in frames (an int), or a fraction of the
longer sequence (a float in (0, 1]): ``w_b = ceil(fraction * max(n_b, m_b))``
for pair ``b`` of valid lengths ``n_b``, ``m_b``. Cell ``(i, j)`` is in the
band when

    min(0, m_b - n_b) - w_b <= j - i <= max(0, m_b - n_b) + w_b,

that is ``|i - j| <= w_b`` for equal lengths, widened by ``|n_b - m_b|``
towards the longer sequence otherwise (tslearn's ``sakoe_chiba_mask``), so
that the end cell ``(n_b - 1, m_b - 1)`` is always reachable. The kernels
take the band as its lowest and highest ``j - i`` per pair
(:func:`band_limits`).
"""

import math
from numbers import Integral

import torch

from ..utils.param_validation import Interval, Real, validate_params

__all__ = ["check_bandwidth", "band_widths", "band_limits"]

_BANDWIDTH = [None, Interval(Integral, 0, None, closed="left"), Interval(Real, 0, 1, closed="right")]


def check_bandwidth(bandwidth, caller):
    """``bandwidth`` if it is None, an int >= 0 or a float in (0, 1]; else raise
    ``InvalidParameterError`` (a ``ValueError`` and ``TypeError``) naming ``caller``."""
    validate_params({"bandwidth": _BANDWIDTH}, {"bandwidth": bandwidth}, caller)
    return bandwidth


def band_widths(bandwidth, nx, ny):
    """Radius of each pair's band, ``(B,)`` int64 (None without a band).

    A fraction's product is rounded up, except within 1e-9 of an integer
    (``0.1 * 30`` is 3 frames, not 4).
    """
    if bandwidth is None:
        return None
    if isinstance(bandwidth, Integral):
        return torch.full_like(nx, int(bandwidth))
    longer = torch.maximum(nx, ny).tolist()
    return torch.tensor([math.ceil(float(bandwidth) * L - 1e-9) for L in longer], dtype=torch.int64)


def band_limits(widths, nx, ny):
    """Lowest and highest ``j - i`` of each pair's band, ``(B, 2)`` int64 on
    the CPU, clipped to the table (None without a band)."""
    if widths is None:
        return None
    shift = ny - nx
    lower = torch.maximum(shift.clamp(max=0) - widths, 1 - nx)
    upper = torch.minimum(shift.clamp(min=0) + widths, ny - 1)
    return torch.stack([lower, upper], 1).contiguous()
