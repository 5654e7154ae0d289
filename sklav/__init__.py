"""sklav: learning video representations by aligning videos in time.

An implementation of LAV (Haresh et al., "Learning by Aligning Videos in
Time", CVPR 2021) as scikit-learn estimators.

The public estimators live in topic subpackages and are re-exported here:

- :class:`LAVEncoder` (``sklav.encoders``): the self-supervised frame encoder;
  :class:`ClockEncoder`, the untrained time baseline.
- :class:`PhaseClassifier`, :class:`ProgressRegressor`,
  :class:`KendallTauScorer`, :class:`FrameRetrievalAP`,
  :class:`PhaseAgreementScorer` (``sklav.evaluation``): the evaluation companions.
- :class:`PoseExtractor` (``sklav.poses``): per-frame keypoints from RGB
  videos (MediaPipe or Keypoint R-CNN), to feed an encoder on poses.
- :func:`save` and :func:`load` (``sklav.encoders``): a fitted LAVEncoder to
  and from a model file that runs no code when loaded.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "LAVEncoder": "sklav.encoders",
    "ClockEncoder": "sklav.encoders",
    "PhaseClassifier": "sklav.evaluation",
    "ProgressRegressor": "sklav.evaluation",
    "KendallTauScorer": "sklav.evaluation",
    "FrameRetrievalAP": "sklav.evaluation",
    "save": "sklav.encoders",
    "load": "sklav.encoders",
    "PhaseAgreementScorer": "sklav.evaluation",
    "PoseExtractor": "sklav.poses",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    # Lazy so that ``import sklav`` stays light (no torch until needed).
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sklav' has no attribute {name!r}")


def __dir__():
    return __all__
