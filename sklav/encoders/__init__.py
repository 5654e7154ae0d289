"""Frame encoders: the LAV estimator and its networks.

- :class:`LAVEncoder`: fit/transform estimator training a frame encoder
  without labels by aligning pairs of videos in time.
- :class:`ClockEncoder`: the untrained baseline embedding frame ``t`` of a
  ``T``-frame video as ``t / T`` (the time, not the content).
- ``networks``: ResNet-50 and MLP trunks, the temporal context head.
- ``data``: the paper's frame sampling, the pair dataset and its collation.
- errors and warnings of training: :class:`CheckpointError`,
  :class:`CheckpointWarning`, :class:`NonFiniteTrainingError`,
  :class:`TrainingInterruptedWarning`.
- ``augment``: training-time augmentation of sampled videos (flip,
  brightness, contrast for frames; mirroring, aspect, rotation for poses).
- model files: :func:`save` and :func:`load` a fitted encoder without
  pickles (no code runs on load); :func:`is_model_file` tells one by its bytes.
"""

from ._checkpoint import CheckpointError, CheckpointWarning, checkpoint_epoch
from ._training import LAVNet, NonFiniteTrainingError, TrainingInterruptedWarning
from .clock import ClockEncoder
from .lav import LAVEncoder
from ._model_file import is_model_file, load, save
from .networks import ContextHead, FrameEncoder

__all__ = [
    "LAVEncoder",
    "ClockEncoder",
    "LAVNet",
    "FrameEncoder",
    "ContextHead",
    "CheckpointError",
    "CheckpointWarning",
    "checkpoint_epoch",
    "NonFiniteTrainingError",
    "TrainingInterruptedWarning",
    "save",
    "load",
    "is_model_file",
]
