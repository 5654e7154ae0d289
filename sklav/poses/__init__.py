"""Pose extraction: 2D keypoints of one person per frame from RGB videos, on a CPU, offline.

- :class:`PoseExtractor`: a transformer from videos (files, frame folders,
  ``(T, H, W, 3)`` uint8 arrays) to ``(T, J, 3)`` float32 keypoints (pixel
  x, y, confidence) in Penn Action's, COCO's or MediaPipe's layout;
  ``make_pipeline(PoseExtractor(), encoder)`` embeds real videos with an
  encoder on poses.
- :func:`missing_frames`: the frames without a person in its output.
- :class:`PoseWarning`: warned for videos with such frames.

Backends (private, ``_backends``): MediaPipe's legacy pose solution (the
default; ``pip install 'sklav[pose]'``), MediaPipe Tasks with a ``.task``
model file, torchvision's Keypoint R-CNN. Nothing here imports MediaPipe or
torch until a video is processed.
"""

from .extractor import PoseExtractor, PoseWarning, missing_frames

__all__ = ["PoseExtractor", "PoseWarning", "missing_frames"]
