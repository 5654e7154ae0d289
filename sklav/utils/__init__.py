"""Shared helpers: validation of ragged lists of videos, embedding them, poses.

- :mod:`sklav.utils.validation`: :func:`check_videos`, :func:`check_embeddings`,
  :func:`check_frame_labels`, :func:`check_label_list`, :func:`check_metric`,
  :func:`check_positive_int`.
- :mod:`sklav.utils.embedding`: :func:`embed`, per-frame embeddings of videos
  from an encoder (or of videos already embedded).
- :mod:`sklav.utils.poses`: :func:`normalize_poses`, per-frame centring and
  scaling of joints (the loader's and the encoder's).
- :mod:`sklav.utils.estimator_checks`: scikit-learn's checks, and their ports to
  lists of videos, for estimators on videos.
- :mod:`sklav.utils.tensors`: checks on torch tensors entering the alignment
  kernels and the losses.
- :mod:`sklav.utils.param_validation`: hyper-parameter constraints.
- :mod:`sklav.utils.files`: atomic writes, file modes, leftovers of killed writers.
- :mod:`sklav.utils.signals`: stop signals held over a block that must not be cut.
- :mod:`sklav.utils.weights`: pretrained torchvision weights, whose failed
  download offline names the file to put in torchvision's cache.

Nothing here imports torch at import time.
"""

from .embedding import embed
from .poses import normalize_poses
from .validation import (
    check_embeddings,
    check_frame_labels,
    check_label_list,
    check_metric,
    check_positive_int,
    check_videos,
)

__all__ = [
    "check_videos",
    "check_embeddings",
    "check_frame_labels",
    "check_label_list",
    "check_metric",
    "check_positive_int",
    "embed",
    "normalize_poses",
]
