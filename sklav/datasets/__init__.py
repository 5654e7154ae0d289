"""Datasets and video readers.

- :func:`load_penn_action`: Penn Action videos as normalised 2D joints, SMPL
  poses or RGB frames, with the per-frame action phases used to evaluate LAV.
  Without a ``root`` it loads a small subset bundled with sklav (golf_swing
  and tennis_forehand joints and phases), so examples run offline.
- :func:`load_penn_action_annotations`: the same selection of videos, as the
  raw joint coordinates and phase starts stored in the files.
- :func:`get_penn_action_root`: the full data's folder, from the
  ``SKLAV_PENN_ACTION`` environment variable.
- :func:`read_video` and :func:`read_frame_folder`: one real video, from an
  encoded file (PyAV) or a folder of jpg frames, as ``(T, H, W, 3)`` uint8.
- :func:`load_video` and :func:`load_videos`: videos from paths of any kind
  (``.npy`` arrays, frame folders, video files), as the command line reads them.
- :class:`VideoFile` and :func:`open_video`: a video file or frame folder
  read on demand (only the frames indexed are decoded), as ``LAVEncoder``
  reads paths.
- :func:`render_poses`: a video of 2D skeletons (Penn Action's joints by
  default) drawn as RGB frames, stick figures of real motion.
- ``PENN_ACTION_EDGES``: the bones of Penn Action's 13-joint skeleton.
- :func:`convert_keypoints` and ``KEYPOINT_LAYOUTS``: keypoints of common
  pose estimators (COCO, MediaPipe BlazePose, OpenPose BODY_25) mapped to
  Penn Action's 13 joints and back, sides matched anatomically.
"""

from ._penn_action import get_penn_action_root, load_penn_action
from ._penn_selection import load_penn_action_annotations
from ._penn_sources import PENN_ACTION_EDGES
from ._lazy_video import VideoFile, open_video
from ._video import load_video, load_videos, read_frame_folder, read_video
from .keypoints import KEYPOINT_LAYOUTS, convert_keypoints
from .render import render_poses

__all__ = [
    "load_penn_action",
    "load_penn_action_annotations",
    "get_penn_action_root",
    "read_video",
    "read_frame_folder",
    "load_video",
    "load_videos",
    "VideoFile",
    "open_video",
    "render_poses",
    "PENN_ACTION_EDGES",
    "convert_keypoints",
    "KEYPOINT_LAYOUTS",
]
