"""Keypoint layouts of common pose estimators, and conversion between them.

- :data:`KEYPOINT_LAYOUTS`: the joint names of every supported layout, in the
  order the layout publishes them: ``'penn13'`` (Penn Action's 13 joints),
  ``'coco17'`` (COCO's 17 keypoints), ``'blazepose33'`` (MediaPipe's 33 pose
  landmarks), ``'openpose25'`` (OpenPose's BODY_25).
- :func:`convert_keypoints`: ``(T, J, C)`` keypoints from one layout to another.

Sides. COCO, MediaPipe and OpenPose name joints by the person's anatomical
side ("left_shoulder" is the person's left). Penn Action does not: in its
front-view videos its "left" shoulder and hip lie on the image left in
(nearly) every frame, and in its back-view videos on the image right, so
Penn's "left" is the person's anatomical *right* (``tests/test_keypoints.py``
checks this on the real annotations). The conversion follows the anatomy:
COCO's ``right_shoulder`` becomes Penn's ``left_shoulder``, and so on.
"""

import numpy as np

__all__ = ["KEYPOINT_LAYOUTS", "convert_keypoints"]

#: A joint counts as visible when its confidence is at least this (0/1 flags as well).
CONFIDENCE_THRESHOLD = 0.5

_SIDES = ("left", "right")
_LIMBS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")

#: The joint names of every layout, in its published order.
KEYPOINT_LAYOUTS = {
    "penn13": ("head",) + tuple(f"{s}_{limb}" for limb in _LIMBS for s in _SIDES),
    "coco17": ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    + tuple(f"{s}_{limb}" for limb in _LIMBS for s in _SIDES),
    "blazepose33": (
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
        "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),
    "openpose25": (
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
        "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
        "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
    ),
}

_OPENPOSE_PARTS = {"Shoulder": "shoulder", "Elbow": "elbow", "Wrist": "wrist", "Hip": "hip",
                   "Knee": "knee", "Ankle": "ankle", "Eye": "eye", "Ear": "ear", "BigToe": "big_toe",
                   "SmallToe": "small_toe", "Heel": "heel"}


def _anatomical(layout, name):
    """A joint's name in one shared vocabulary, sides anatomical (the person's own)."""
    if layout == "penn13":  # Penn's "left" is the person's right (see the module docstring)
        side, _, part = name.partition("_")
        return f"{_SIDES[1 - _SIDES.index(side)]}_{part}" if part else name
    if layout == "openpose25":
        if name in ("Nose", "Neck", "MidHip"):
            return {"Nose": "nose", "Neck": "neck", "MidHip": "mid_hip"}[name]
        return ("left_" if name[0] == "L" else "right_") + _OPENPOSE_PARTS[name[1:]]
    if layout == "blazepose33" and name.endswith("_foot_index"):
        return name.replace("foot_index", "big_toe")  # MediaPipe's toe tip, OpenPose's big toe
    return name


_ANATOMY = {layout: {_anatomical(layout, n): j for j, n in enumerate(names)}
            for layout, names in KEYPOINT_LAYOUTS.items()}
_FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
# Joints a layout defines from others: Penn's head (the face's centre), OpenPose's neck and mid-hip.
_DERIVED = {"head": _FACE, "neck": ("left_shoulder", "right_shoulder"), "mid_hip": ("left_hip", "right_hip")}


def _check_layout(layout, role):
    if layout not in KEYPOINT_LAYOUTS:
        raise ValueError(f"{role} must be one of {sorted(KEYPOINT_LAYOUTS)}, got {layout!r}.")


def _derived(x, parts, mean_of_visible):
    """The mean of ``parts`` (indices into ``x``'s joints), frame by frame, and its confidence.

    ``mean_of_visible`` (the face, for Penn's head): the mean of those parts
    that are visible, its confidence their mean; otherwise (neck, mid-hip)
    all parts must be visible, the confidence is the smallest of theirs.
    """
    points = x[:, parts, :2]
    if x.shape[-1] == 3:
        conf = x[:, parts, 2]
    else:
        conf = np.isfinite(points).all(-1).astype(x.dtype)
    visible = (conf >= CONFIDENCE_THRESHOLD) & np.isfinite(points).all(-1)
    count = visible.sum(1)
    ok = count > 0 if mean_of_visible else count == len(parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        xy = np.where(visible[..., None], points, 0.0).sum(1) / count[:, None]
        confidence = (np.where(visible, conf, 0.0).sum(1) / count) if mean_of_visible else conf.min(1)
    return np.where(ok[:, None], xy, np.nan), np.where(ok, confidence, 0.0)


def convert_keypoints(x, source, target):
    """Map ``(T, J, C)`` keypoints from one layout's joints to another's.

    Joints are matched by the person's anatomical side (Penn Action's
    "left" joints are the person's right ones; see :mod:`this module
    <sklav.datasets.keypoints>`). A target joint the source has is copied
    (coordinates and confidence as they are). A few are derived: Penn's
    ``head`` is the mean of the source's visible face points (nose, eyes,
    ears; confidence: their mean confidence); OpenPose's ``Neck`` and
    ``MidHip`` are the midpoints of the shoulders and of the hips (both
    visible; confidence: the smaller one). MediaPipe's ``foot_index`` (the
    toe tip) stands for OpenPose's ``BigToe`` and back. Every other target
    joint is missing: coordinates NaN and confidence 0.

    Parameters
    ----------
    x : array-like of shape (T, J, C)
        Keypoints of ``T`` frames in the ``source`` layout (``J`` its number
        of joints), in any units (pixels...). ``C`` is 2 (x, y) or 3 (x, y,
        visibility or confidence); a joint counts as visible for a derived
        joint when its confidence is at least 0.5 (and, for ``C == 2``, its
        coordinates are finite).
    source, target : {'penn13', 'coco17', 'blazepose33', 'openpose25'}
        The layouts (joint names in :data:`KEYPOINT_LAYOUTS`).

    Returns
    -------
    keypoints : ndarray of shape (T, J_target, C), float
        Floating input keeps its dtype, other input becomes float64. Missing
        joints have NaN coordinates (and confidence 0 when ``C == 3``).

    Raises
    ------
    ValueError
        For an unknown layout, or ``x`` not ``(T, J, 2 or 3)`` with ``J``
        the source layout's number of joints.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.datasets import KEYPOINT_LAYOUTS, convert_keypoints
    >>> coco = np.zeros((1, 17, 3))
    >>> coco[0, :, 0] = np.arange(17)  # x = the COCO index
    >>> coco[0, :, 2] = 1.0
    >>> penn = convert_keypoints(coco, "coco17", "penn13")
    >>> penn.shape
    (1, 13, 3)
    >>> names = KEYPOINT_LAYOUTS["coco17"]
    >>> names[int(penn[0, 1, 0])]  # Penn's "left_shoulder" is the person's right
    'right_shoulder'
    >>> float(penn[0, 0, 0])  # Penn's head: the mean of the nose, eyes and ears (0..4)
    2.0
    >>> back = convert_keypoints(penn, "penn13", "coco17")
    >>> back[0, :5, 2]  # COCO's face points: missing in Penn's layout
    array([0., 0., 0., 0., 0.])
    >>> bool(np.isnan(back[0, 0, 0])), float(back[0, 6, 0])  # NaN; right_shoulder back in place
    (True, 6.0)
    """
    _check_layout(source, "source")
    _check_layout(target, "target")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    n_joints = len(KEYPOINT_LAYOUTS[source])
    if x.ndim != 3 or x.shape[1] != n_joints or x.shape[2] not in (2, 3):
        raise ValueError(f"x must be (T, {n_joints}, 2 or 3) keypoints in the {source!r} layout, "
                         f"got shape {x.shape}.")
    if source == target:
        return x.copy()
    have = _ANATOMY[source]
    out = np.full((x.shape[0], len(KEYPOINT_LAYOUTS[target]), x.shape[2]), np.nan, dtype=x.dtype)
    if x.shape[2] == 3:
        out[..., 2] = 0.0
    for name, j in _ANATOMY[target].items():
        if name in have:
            out[:, j] = x[:, have[name]]
        elif name in _DERIVED:
            parts = [have[p] for p in _DERIVED[name] if p in have]
            if not parts or (name != "head" and len(parts) < len(_DERIVED[name])):
                continue
            xy, confidence = _derived(x, parts, mean_of_visible=name == "head")
            out[:, j, :2] = xy
            if x.shape[2] == 3:
                out[:, j, 2] = confidence
    return out
