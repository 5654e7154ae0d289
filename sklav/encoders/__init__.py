"""Frame encoders: the LAV estimator and its networks.

- :class:`LAVEncoder`: fit/transform estimator training a frame encoder
  without labels by aligning pairs of videos in time.
- ``networks``: ResNet-50 and MLP trunks, the temporal context head.
- ``data``: the paper's frame sampling, the pair dataset and its collation.
- ``augment``: training-time augmentation of sampled videos (flip,
  brightness, contrast for frames; mirroring, aspect, rotation for poses).
"""

from .lav import LAVEncoder, LAVNet
from .networks import ContextHead, FrameEncoder

__all__ = ["LAVEncoder", "LAVNet", "FrameEncoder", "ContextHead"]
