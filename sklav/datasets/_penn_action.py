"""Penn Action loader: 2D joints, SMPL poses or RGB frames, with per-frame phases.

The loader reads the official Penn Action layout (``root/labels/NNNN.mat``),
the CASA phase table (``root/phases.csv``), CASA's SMPL poses
(``root/smpl/{action}_{split}.npz``) and, when present, the official RGB
frames (``root/frames/NNNN/*.jpg``). Without a ``root`` it reads the subset
bundled in ``sklav/datasets/data/`` (see ``benchmarks/make_bundled_data.py``).

:func:`load_penn_action` works in two steps: the *selection* step
(``_penn_selection.py``) picks the videos (actions, split, phase labels) and
hands out their raw annotations from a *source* (``_penn_sources.py``: a
folder or the bundled file, parsed by the same code); the *feature* step here
turns them into per-frame arrays (normalised joints, SMPL poses or frames)
and phase labels. That is what makes the bundled subset reproduce the full
data bit for bit.
"""

import os
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils.poses import normalize_poses
from ._penn_selection import (
    _check_actions,
    _check_split,
    _check_with_phases,
    _select_videos,
    _video_fields,
)
from ._penn_sources import JOINT_NAMES, _open_source

__all__ = ["load_penn_action", "get_penn_action_root"]

#: The 24 SMPL joints, in the order of the 72 axis-angle pose values.
SMPL_JOINT_NAMES = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)

ENV_VAR = "SKLAV_PENN_ACTION"
DESCR_FILE = "penn_action.rst"
_FEATURES = ("joints2d", "smpl", "rgb")


# --------------------------------------------------------------------------
# Per-frame features
# --------------------------------------------------------------------------


def normalize_joints2d(x, y, visibility):
    """Centre and scale 2D joints per frame, on the visible joints.

    The 'joints2d' features: :func:`sklav.utils.normalize_poses` on the
    float64 coordinates, cast to float32. For every frame, the centre is the
    mean of the visible joints and the scale is their root-mean-square
    distance to that centre. Visible joints become ``(p - centre) / scale``;
    invisible joints are set to ``(0, 0)`` (Penn Action stores placeholders
    such as the image corner for some of them), and the visibility flag is
    kept as a third channel.

    Parameters
    ----------
    x, y : array-like of shape (T, J)
        Joint image coordinates in pixels (y pointing down).
    visibility : array-like of shape (T, J)
        Non-zero where the joint is visible.

    Returns
    -------
    joints : ndarray of shape (T, J, 3), dtype float32
        ``(x, y, visibility)`` per joint. In a frame with at least two
        distinct visible joints the visible ones have mean 0 and RMS norm 1,
        so every coordinate lies in ``[-sqrt(J), sqrt(J)]``. A frame with one
        visible joint gives it ``(0, 0)``; a frame with none is all zeros (no
        division by zero in either case).

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.datasets._penn_action import normalize_joints2d
    >>> x = np.array([[0.0, 2.0, 99.0]])
    >>> y = np.array([[0.0, 0.0, 99.0]])
    >>> normalize_joints2d(x, y, [[1, 1, 0]])
    array([[[-1.,  0.,  1.],
            [ 1.,  0.,  1.],
            [ 0.,  0.,  0.]]], dtype=float32)
    """
    xy = np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)], axis=-1)
    visible = np.asarray(visibility) != 0
    if xy.ndim != 3 or visible.shape != xy.shape[:2]:
        raise ValueError(
            f"x, y and visibility must share a (T, J) shape; got {np.shape(x)}, "
            f"{np.shape(y)} and {np.shape(visibility)}."
        )
    out = np.empty(xy.shape[:2] + (3,), dtype=np.float32)
    out[..., :2] = normalize_poses(xy, visible)  # in float64, cast on assignment
    out[..., 2] = visible
    return out


def phase_labels(num_frames, phase_starts):
    """Per-frame phase index from the first frames of phases 1..K-1.

    Parameters
    ----------
    num_frames : int
        Number of frames ``T``.
    phase_starts : sequence of int
        First frame of each phase after phase 0, non-decreasing.

    Returns
    -------
    phases : ndarray of shape (T,), dtype int64
        ``phases[t]`` is the number of entries of ``phase_starts`` that are
        ``<= t``.

    Examples
    --------
    >>> from sklav.datasets._penn_action import phase_labels
    >>> phase_labels(6, [2, 5])
    array([0, 0, 1, 1, 1, 2])
    """
    starts = np.asarray(phase_starts, dtype=np.int64)
    return np.searchsorted(starts, np.arange(num_frames), side="right").astype(np.int64)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def get_penn_action_root():
    """Folder of the full Penn Action data named by ``$SKLAV_PENN_ACTION``.

    :func:`load_penn_action` never reads the environment by itself
    (``root=None`` always means the bundled subset, so results do not depend
    on the machine); pass this function's result as ``root`` to opt in.

    Returns
    -------
    root : pathlib.Path or None
        The folder named by the ``SKLAV_PENN_ACTION`` environment variable, or
        None when the variable is unset or empty (``load_penn_action(root=None)``
        then loads the bundled subset).

    Raises
    ------
    FileNotFoundError
        If the variable names something that is not a folder.

    Examples
    --------
    >>> from sklav.datasets import get_penn_action_root
    >>> root = get_penn_action_root()  # None unless $SKLAV_PENN_ACTION is set
    >>> root is None or root.is_dir()
    True
    """
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    root = Path(value).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"${ENV_VAR} is {value!r}, which is not a folder.")
    return root


def _load_descr():
    ref = resources.files(__package__).joinpath("data").joinpath(DESCR_FILE)
    return ref.read_text(encoding="utf-8")


def _features(source, annotations, actions, split, features):
    """The feature step: per-frame arrays of the selected videos.

    Returns
    -------
    videos : list of ndarray
    annotations : list of _Annotation
        The videos kept, in order ('smpl' keeps only those with SMPL poses).
    joint_names : list of str or None
    """
    if features == "joints2d":
        videos = [normalize_joints2d(a.x, a.y, a.visibility) for a in annotations]
        return videos, annotations, list(JOINT_NAMES)
    if features == "rgb":
        videos = []
        for ann in annotations:
            frames = source.frames(ann.video_id)
            if frames.shape[0] != len(ann):
                raise ValueError(
                    f"Video {ann.video_id!r}: {frames.shape[0]} frames under "
                    f"{str(source.root / 'frames' / ann.video_id)!r} for {len(ann)} "
                    "annotated frames."
                )
            videos.append(frames)
        return videos, annotations, None
    smpl_actions = source.smpl_actions()
    missing = [a for a in actions if a not in smpl_actions]
    if missing:
        raise ValueError(
            f"No SMPL poses for action(s) {missing} under {str(source.root / 'smpl')!r}; "
            f"actions with SMPL poses: {smpl_actions}."
        )
    kept, videos = [], []
    for ann in annotations:
        poses = source.smpl(ann.action, ann.split)
        if poses is None or ann.video_id not in poses:
            continue
        pose = poses[ann.video_id]
        if pose.shape[0] != len(ann):
            raise ValueError(
                f"Video {ann.video_id!r}: {pose.shape[0]} SMPL poses for {len(ann)} frames."
            )
        kept.append(ann)
        videos.append(np.asarray(pose, dtype=np.float32).reshape(len(ann), 24, 3))
    if not kept:
        raise ValueError(f"No SMPL poses for the selected videos of {actions} ({split!r}).")
    return videos, kept, list(SMPL_JOINT_NAMES)


def load_penn_action(root=None, actions=None, split="train", features="joints2d", with_phases=True):
    """Load Penn Action videos as per-frame poses or frames, with action phases.

    Penn Action (Zhang et al., ICCV 2013) holds 2326 videos of 15 actions with
    13 annotated 2D joints per frame. Five actions (baseball_swing, golf_swing,
    jumping_jacks, pushup, tennis_forehand) also have dense per-frame phase
    labels and SMPL poses, as released with CASA (Kwon et al., CVPR 2022);
    the LAV paper itself used 13 actions with labels of its own, not
    available here.

    Parameters
    ----------
    root : str, os.PathLike or None, default=None
        None loads the subset bundled with sklav (golf_swing and
        tennis_forehand, joints only, see ``DESCR``). Otherwise a folder laid
        out as::

            root/labels/NNNN.mat           official annotations (required)
            root/phases.csv                per-frame phases (with_phases=True)
            root/smpl/{action}_{split}.npz SMPL poses (features='smpl')
            root/frames/NNNN/*.jpg         official RGB frames (features='rgb')

        :func:`get_penn_action_root` reads it from ``$SKLAV_PENN_ACTION``.
    actions : str, list of str or None, default=None
        Actions to load. None means every action with phase labels when
        ``with_phases=True`` (every action present otherwise); for the
        bundled subset, every bundled action.
    split : {'train', 'val', 'all'}, default='train'
        Penn Action's official split ('val' is its test split) or both. With
        ``with_phases=True`` every requested action needs phase labels in
        the requested split(s).
    features : {'joints2d', 'smpl', 'rgb'}, default='joints2d'
        Per-frame layout of each video:

        - 'joints2d': float32 ``(T, 13, 3)``, ``(x, y, visibility)`` per joint
          (order in ``joint_names``), image axes (y down). Per frame, the
          visible joints are centred on their mean and divided by their RMS
          distance to it; invisible joints are set to ``(0, 0)`` with
          visibility 0 (the raw files hold placeholders for some of them);
          see :func:`sklav.utils.normalize_poses`.
          :func:`load_penn_action_annotations` returns the raw coordinates.
        - 'smpl': float32 ``(T, 24, 3)``, the SMPL body pose in axis-angle,
          one 3-vector per SMPL joint (order in ``joint_names``; reshape to
          ``(T, 72)`` for the flat SMPL vector). Only videos with SMPL poses
          are returned.
        - 'rgb': uint8 ``(T, H, W, 3)`` frames read from
          ``root/frames/NNNN/*.jpg`` in name order (needs those folders; not
          available for the bundled subset). Full-size frames take a lot of
          memory.
    with_phases : bool, default=True
        True returns only videos with phase labels (and raises for actions
        without them); False allows any of the 15 actions and sets
        ``phases`` to None.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Videos sorted by video id, with fields:

        videos : list of ndarray
            One array per video, laid out as given by ``features``.
        phases : list of ndarray of shape (T,), dtype int64, or None
            Per-frame phase index 0..K-1 (non-decreasing), None when
            ``with_phases=False``.
        video_ids : ndarray of str
            Penn Action video ids ('0001' ... '2326').
        actions, views, splits : ndarray of str
            Action, camera viewpoint (front, back, left, right) and split
            ('train' or 'val') of every video.
        joint_names : list of str or None
            Names of the joint axis (None for 'rgb').
        features : str
            The ``features`` argument.
        DESCR : str
            Description of the dataset, its layout, sources and citations.

    Raises
    ------
    FileNotFoundError
        If ``root`` (or a file it needs: ``labels/``, ``phases.csv``,
        ``frames/``) is missing.
    ValueError
        For an unknown action, split or feature set, an action without phase
        labels (or SMPL poses) when they are needed, a split with no phase
        labels for an action, or inconsistent annotation files.
    TypeError
        For arguments of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.datasets import load_penn_action
    >>> data = load_penn_action()  # the bundled subset, train split
    >>> len(data.videos), np.unique(data.actions).tolist()
    (166, ['golf_swing', 'tennis_forehand'])
    >>> data.videos[0].shape, data.videos[0].dtype, data.phases[0][:5]
    ((58, 13, 3), dtype('float32'), array([0, 0, 0, 0, 0]))
    >>> print(data.video_ids[0], data.actions[0], data.views[0], data.phases[0].max() + 1)
    0789 golf_swing back 3
    >>> golf = load_penn_action(actions="golf_swing", split="val")
    >>> len(golf.videos), golf.joint_names[:3]
    (77, ['head', 'left_shoulder', 'right_shoulder'])
    >>> bool((golf.splits == "val").all())
    True
    >>> load_penn_action(actions="pushup")
    Traceback (most recent call last):
    ...
    ValueError: The bundled subset holds only the actions ['golf_swing', 'tennis_forehand'], not ['pushup']; pass root=... (a Penn Action folder) for the others.
    """
    _check_split(split)
    if features not in _FEATURES:
        raise ValueError(f"features must be one of {list(_FEATURES)}, got {features!r}.")
    _check_with_phases(with_phases)
    actions = _check_actions(actions)
    source = _open_source(root)
    if source.bundled and features != "joints2d":
        raise ValueError(
            f"The bundled subset holds 2D joints only, not features={features!r}; "
            "pass root=... (a Penn Action folder) for 'smpl' or 'rgb'."
        )
    if features == "rgb":
        source.check_frames()

    annotations, actions, table = _select_videos(source, actions, split, with_phases)
    videos, annotations, joint_names = _features(source, annotations, actions, split, features)
    phases = None
    if with_phases:
        phases = [phase_labels(len(a), table[a.video_id][3]) for a in annotations]
    return Bunch(
        videos=videos,
        phases=phases,
        **_video_fields(annotations),
        joint_names=joint_names,
        features=features,
        DESCR=_load_descr(),
    )
