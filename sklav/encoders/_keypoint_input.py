"""Keypoints as pose estimators give them -> the poses LAVEncoder's network takes.

With ``keypoint_layout`` set, :class:`~sklav.LAVEncoder` reads every video as
``(T, J, 2 or 3)`` keypoints of that layout (pixels or any units, with or
without a visibility or confidence channel) and :func:`keypoint_poses` turns
them into the fitted layout's joints (:func:`sklav.datasets.convert_keypoints`),
a joint visible when its confidence is at least 0.5 and its coordinates are
finite, centred and scaled per frame on the visible joints in float64 (as
:func:`sklav.datasets.load_penn_action` does), so that any pixel scale or
offset gives the same network input up to float32 rounding.
"""

import numpy as np

from ..datasets import KEYPOINT_LAYOUTS, convert_keypoints
from ..datasets.keypoints import CONFIDENCE_THRESHOLD
from ..utils.poses import normalize_poses


def keypoint_poses(videos, layout, fitted_layout):
    """``(T, J', 3)`` float32 poses ``(x, y, visible)`` in ``fitted_layout`` for each video.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.encoders._keypoint_input import keypoint_poses
    >>> pixels = np.array([[[100.0, 50.0, 0.9], [300.0, 50.0, 0.7], [5.0, 5.0, 0.2]] + [[0, 0, 0]] * 14])
    >>> poses, = keypoint_poses([pixels], "coco17", "coco17")
    >>> poses[0, :2]  # centred and scaled
    array([[-1.,  0.,  1.],
           [ 1.,  0.,  1.]], dtype=float32)
    >>> bool((poses[0, 2] == 0).all())  # the third point's confidence 0.2 < 0.5: invisible, zeroed
    True
    """
    n_joints = len(KEYPOINT_LAYOUTS[layout])
    poses = []
    for i, video in enumerate(videos):
        x = np.asarray(video, dtype=np.float64)
        if x.ndim != 3 or x.shape[1:] not in ((n_joints, 2), (n_joints, 3)):
            raise ValueError(f"X[{i}] has frames of shape {x.shape[1:]}; keypoint_layout={layout!r} takes "
                             f"({n_joints}, 2) or ({n_joints}, 3) keypoints (x, y[, confidence]).")
        x = convert_keypoints(x, layout, fitted_layout)
        visible = np.isfinite(x[..., :2]).all(-1)
        if x.shape[2] == 3:
            visible &= x[..., 2] >= CONFIDENCE_THRESHOLD
        out = np.empty(x.shape[:2] + (3,), dtype=np.float32)
        xy = normalize_poses(np.where(visible[..., None], x[..., :2], 0.0), visible)
        out[..., :2] = np.where(visible[..., None], xy, 0.0)  # +0, not normalize_poses' -0
        out[..., 2] = visible
        poses.append(out)
    return poses


def fitted_layout(encoder, fitting):
    """The keypoint layout of the network: ``keypoint_layout`` in a new fit, else the fitted one."""
    if fitting and not (encoder.warm_start and hasattr(encoder, "net_")):
        return encoder.keypoint_layout
    fitted = getattr(encoder, "keypoint_layout_", None)
    if fitted is None:
        raise ValueError(f"keypoint_layout={encoder.keypoint_layout!r}, but this encoder was fitted on "
                         "poses as they are (keypoint_layout=None); set keypoint_layout=None.")
    return fitted
