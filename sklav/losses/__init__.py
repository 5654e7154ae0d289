"""Training objectives on embedded videos.

- :func:`contrastive_idm`, :func:`idm`, :func:`sfa`: temporal regularizers on
  the frames of one video (paper Eq. 6-7).
- :func:`lav_loss`, :class:`LAVLoss`: the LAV objective (paper Eq. 8), Soft-DTW plus a
  regularizer on each video of a pair.
- :func:`tcc_loss`, :func:`tcc_loss_all_pairs`: temporal cycle-consistency
  (Dwibedi et al., 2019), on pairs or on every pair of a batch.
- :class:`TCNLoss`, :class:`SALLoss`: the time-contrastive and
  Shuffle-and-Learn baselines, as criteria for :class:`~sklav.LAVEncoder`.

A criterion is an ``nn.Module`` called as ``criterion(embeddings, batch)``
on the embedded videos of a batch of pairs (see :meth:`LAVLoss.forward`).
"""

from .baselines import SALLoss, TCNLoss
from .lav import LAVLoss, lav_loss
from .regularizers import contrastive_idm, idm, sfa
from .tcc import tcc_loss, tcc_loss_all_pairs

__all__ = ["contrastive_idm", "idm", "sfa", "lav_loss", "LAVLoss", "tcc_loss", "tcc_loss_all_pairs", "TCNLoss", "SALLoss"]
