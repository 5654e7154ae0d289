"""Alignment of embedded videos: Soft-DTW, the LAV regularizers and losses.

- :func:`soft_dtw`, :func:`soft_dtw_from_cost`, :class:`SoftDTW`: the Soft-DTW
  discrepancy, batched, differentiable, exact to float32 rounding.
- :func:`soft_alignment`: the expected alignment matrix (its gradient).
- :func:`contrastive_idm`, :func:`idm`, :func:`sfa`: temporal regularizers.
- :func:`lav_loss`: the LAV objective (paper Eq. 8); :func:`tcc_loss`: the
  temporal cycle-consistency loss (Dwibedi et al., 2019).
"""

from .align import Aligner, Alignment, align, dtw_path
from .regularizers import contrastive_idm, idm, lav_loss, sfa
from .softdtw import SoftDTW, soft_alignment, soft_dtw, soft_dtw_from_cost
from .tcc import tcc_loss

__all__ = [
    "SoftDTW",
    "soft_dtw",
    "soft_dtw_from_cost",
    "soft_alignment",
    "contrastive_idm",
    "idm",
    "sfa",
    "lav_loss",
    "tcc_loss",
    "align",
    "Aligner",
    "Alignment",
    "dtw_path",
]
