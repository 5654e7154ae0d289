"""Penn Action loader: 2D joints, SMPL poses or RGB frames, with per-frame phases.

The loader reads the official Penn Action layout (``root/labels/NNNN.mat``),
the CASA phase table (``root/phases.csv``), CASA's SMPL poses
(``root/smpl/{action}_{split}.npz``) and, when present, the official RGB
frames (``root/frames/NNNN/*.jpg``). Without a ``root`` it reads the subset
bundled in ``sklav/datasets/data/`` (see ``benchmarks/make_bundled_data.py``).

Both sources go through the same code: a *source* object hands out the raw
annotations (exactly as stored in the ``.mat`` files) and the phase table,
and :func:`load_penn_action` turns them into per-frame features. That is what
makes the bundled subset reproduce the full data bit for bit.
"""

import csv
import os
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils.poses import normalize_poses
from ._video import read_frame_folder

__all__ = ["load_penn_action", "get_penn_action_root"]

#: The 15 Penn Action classes, in the dataset's own (alphabetical) order.
PENN_ACTIONS = (
    "baseball_pitch",
    "baseball_swing",
    "bench_press",
    "bowl",
    "clean_and_jerk",
    "golf_swing",
    "jump_rope",
    "jumping_jacks",
    "pullup",
    "pushup",
    "situp",
    "squat",
    "strum_guitar",
    "tennis_forehand",
    "tennis_serve",
)

#: Penn Action's 13 annotated joints, in the order of the ``x``/``y`` columns.
JOINT_NAMES = (
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

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
BUNDLED_FILE = "penn_action_subset.npz"
DESCR_FILE = "penn_action.rst"
_SPLITS = {"train": ("train",), "val": ("val",), "all": ("train", "val")}
_FEATURES = ("joints2d", "smpl", "rgb")
_MAT_FIELDS = ("action", "pose", "x", "y", "visibility", "train")
_PHASE_COLUMNS = ("video_id", "action", "split", "num_frames", "phase_starts")


# --------------------------------------------------------------------------
# Per-frame features
# --------------------------------------------------------------------------


def normalize_joints2d(x, y, visibility):
    """Centre and scale 2D joints per frame, on the visible joints.

    For every frame, the centre is the mean of the visible joints and the
    scale is their root-mean-square distance to that centre. Visible joints
    become ``(p - centre) / scale``; invisible joints are set to ``(0, 0)``
    (Penn Action stores placeholders such as the image corner for some of
    them), and the visibility flag is kept as a third channel.

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
# Sources: the raw annotations, from a folder or from the bundled file
# --------------------------------------------------------------------------


class _Annotation:
    """Raw annotations of one video, as stored in its ``.mat`` file."""

    __slots__ = ("video_id", "action", "view", "split", "x", "y", "visibility")

    def __init__(self, video_id, action, view, split, x, y, visibility):
        self.video_id = video_id
        self.action = action
        self.view = view
        self.split = split
        self.x = x
        self.y = y
        self.visibility = visibility

    def __len__(self):
        return self.x.shape[0]


def _parse_phase_table(rows, where):
    """Validate phase-table rows into ``{video_id: (action, split, T, starts)}``."""
    table = {}
    for line, row in rows:
        vid = row["video_id"].strip()
        here = f"{where}, line {line} (video {vid!r})"
        split = row["split"].strip()
        if split not in ("train", "val"):
            raise ValueError(f"{here}: split must be 'train' or 'val', got {split!r}.")
        try:
            num_frames = int(row["num_frames"])
            starts = tuple(int(s) for s in row["phase_starts"].split())
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{here}: num_frames and phase_starts must be integers ({exc})."
            ) from None
        if any(b < a for a, b in zip(starts, starts[1:])) or any(
            not 0 < s < num_frames for s in starts
        ):
            raise ValueError(
                f"{here}: phase_starts {list(starts)} must be non-decreasing frame "
                f"indices in [1, {num_frames - 1}]."
            )
        if vid in table:
            raise ValueError(f"{here}: video listed twice.")
        table[vid] = (row["action"].strip(), split, num_frames, starts)
    return table


class _FolderSource:
    """Penn Action laid out as in the official release plus CASA's extras.

    One instance per :func:`load_penn_action` call: parsed ``.mat`` files are
    cached on the instance, never globally.
    """

    bundled = False

    def __init__(self, root):
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(
                f"root must be a path (str or os.PathLike) or None, got {type(root).__name__}."
            )
        root = Path(root).expanduser()
        if not root.exists():
            raise FileNotFoundError(
                f"Penn Action root {str(root)!r} does not exist; expected a folder "
                "holding labels/NNNN.mat (pass root=None for the bundled subset)."
            )
        if not root.is_dir():
            raise NotADirectoryError(f"Penn Action root {str(root)!r} is not a folder.")
        self.labels = root / "labels"
        if not self.labels.is_dir():
            hint = ""
            if next(root.glob("*.mat"), None) is not None:
                hint = f" It holds .mat files itself: pass its parent, {str(root.parent)!r}."
            raise FileNotFoundError(
                f"Penn Action root {str(root)!r} has no labels/ folder; expected the "
                f"official layout root/labels/NNNN.mat.{hint}"
            )
        self.root = root
        self._annotations = {}
        self._smpl = {}

    def describe(self):
        return f"the folder {str(self.root)!r}"

    def video_ids(self):
        ids = sorted(p.stem for p in self.labels.glob("*.mat"))
        if not ids:
            raise FileNotFoundError(f"{str(self.labels)!r} holds no .mat files.")
        return ids

    def annotation(self, video_id):
        if video_id in self._annotations:
            return self._annotations[video_id]
        from scipy.io import loadmat

        path = self.labels / f"{video_id}.mat"
        if not path.is_file():
            raise FileNotFoundError(
                f"Annotation file {str(path)!r} of video {video_id!r} is missing."
            )
        try:
            mat = loadmat(path, variable_names=_MAT_FIELDS)
        except Exception as exc:  # scipy raises several types for bad files
            raise ValueError(f"Could not read annotation file {str(path)!r}: {exc}") from exc
        missing = [f for f in _MAT_FIELDS if f not in mat]
        if missing:
            raise ValueError(f"Annotation file {str(path)!r} lacks the field(s) {missing}.")
        x = np.asarray(mat["x"], dtype=np.float64)
        y = np.asarray(mat["y"], dtype=np.float64)
        visibility = np.asarray(mat["visibility"]).astype(np.uint8)
        if x.ndim != 2 or x.shape[1] != len(JOINT_NAMES) or not (
            y.shape == visibility.shape == x.shape
        ):
            raise ValueError(
                f"Annotation file {str(path)!r}: x, y and visibility must be (T, 13); got "
                f"{x.shape}, {y.shape} and {visibility.shape}."
            )
        train = int(np.asarray(mat["train"]).ravel()[0])
        ann = _Annotation(
            video_id=video_id,
            action=str(np.asarray(mat["action"]).ravel()[0]).strip(),
            view=str(np.asarray(mat["pose"]).ravel()[0]).strip(),
            split="train" if train == 1 else "val",
            x=x,
            y=y,
            visibility=visibility,
        )
        self._annotations[video_id] = ann
        return ann

    def phase_table(self):
        path = self.root / "phases.csv"
        if not path.is_file():
            return None
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in _PHASE_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise ValueError(f"Phase table {str(path)!r} lacks the column(s) {missing}.")
            return _parse_phase_table(
                ((i + 2, row) for i, row in enumerate(reader)), f"Phase table {str(path)!r}"
            )

    def smpl_actions(self):
        folder = self.root / "smpl"
        return sorted({p.stem.rsplit("_", 1)[0] for p in folder.glob("*_*.npz")})

    def smpl(self, action, split):
        """``{video_id: (T, 72) float32}`` for one file, or None when absent."""
        key = (action, split)
        if key not in self._smpl:
            path = self.root / "smpl" / f"{action}_{split}.npz"
            if not path.is_file():
                self._smpl[key] = None
            else:
                try:
                    with np.load(path, allow_pickle=False) as z:
                        ids, lengths, pose = z["video_ids"], z["lengths"], z["pose"]
                except Exception as exc:
                    raise ValueError(f"Could not read SMPL file {str(path)!r}: {exc}") from exc
                if pose.ndim != 2 or pose.shape[1] != 72 or int(np.sum(lengths)) != pose.shape[0]:
                    raise ValueError(
                        f"SMPL file {str(path)!r}: pose must be (sum(lengths), 72); got "
                        f"{pose.shape} for lengths summing to {int(np.sum(lengths))}."
                    )
                ends = np.cumsum(lengths)
                self._smpl[key] = {
                    str(v): pose[e - n : e] for v, n, e in zip(ids, lengths, ends)
                }
        return self._smpl[key]

    def frames(self, video_id):
        return read_frame_folder(self.root / "frames" / video_id)

    def check_frames(self):
        folder = self.root / "frames"
        if not folder.is_dir():
            raise FileNotFoundError(
                f"features='rgb' needs the official RGB frames under {str(folder)!r} "
                "(one folder of .jpg frames per video, frames/NNNN/*.jpg); it does not exist."
            )


class _BundledSource:
    """The subset shipped in ``sklav/datasets/data`` (raw annotations)."""

    bundled = True

    def __init__(self):
        ref = resources.files(__package__).joinpath("data").joinpath(BUNDLED_FILE)
        with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        ends = np.cumsum(data["lengths"])
        self._annotations = {}
        for i, vid in enumerate(data["video_ids"]):
            rows = slice(ends[i] - data["lengths"][i], ends[i])
            vid = str(vid)
            self._annotations[vid] = _Annotation(
                video_id=vid,
                action=str(data["actions"][i]),
                view=str(data["views"][i]),
                split="train" if data["train"][i] == 1 else "val",
                x=data["x"][rows],
                y=data["y"][rows],
                visibility=data["visibility"][rows],
            )
        starts_end = np.cumsum(data["phase_starts_counts"])
        rows = []
        for i, vid in enumerate(data["phase_video_ids"]):
            n = data["phase_starts_counts"][i]
            starts = data["phase_starts"][starts_end[i] - n : starts_end[i]]
            rows.append(
                (
                    i,
                    {
                        "video_id": str(vid),
                        "action": str(data["phase_actions"][i]),
                        "split": str(data["phase_splits"][i]),
                        "num_frames": str(data["phase_num_frames"][i]),
                        "phase_starts": " ".join(map(str, starts)),
                    },
                )
            )
        self._phases = _parse_phase_table(rows, "Bundled phase table")

    def describe(self):
        return "the bundled subset"

    def video_ids(self):
        return sorted(self._annotations)

    def annotation(self, video_id):
        try:
            return self._annotations[video_id]
        except KeyError:
            raise FileNotFoundError(f"Video {video_id!r} is not in the bundled subset.") from None

    def phase_table(self):
        return dict(self._phases)

    def actions(self):
        return sorted({a.action for a in self._annotations.values()})


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


def _check_actions(actions):
    if actions is None:
        return None
    if isinstance(actions, str):
        actions = [actions]
    try:
        actions = list(actions)
    except TypeError:
        raise TypeError(
            f"actions must be None, a string or a list of strings, got {type(actions).__name__}."
        ) from None
    if not actions:
        raise ValueError("actions is empty; pass None for the default actions.")
    for a in actions:
        if not isinstance(a, str):
            raise TypeError(f"actions must hold strings, got {a!r} ({type(a).__name__}).")
    unknown = [a for a in actions if a not in PENN_ACTIONS]
    if unknown:
        raise ValueError(
            f"Unknown Penn Action action(s) {unknown}; the 15 actions are {list(PENN_ACTIONS)}."
        )
    return list(dict.fromkeys(actions))  # de-duplicated, order kept


def _load_descr():
    ref = resources.files(__package__).joinpath("data").joinpath(DESCR_FILE)
    return ref.read_text(encoding="utf-8")


def load_penn_action(root=None, actions=None, split="train", features="joints2d", with_phases=True):
    """Load Penn Action videos as per-frame poses or frames, with action phases.

    Penn Action (Zhang et al., ICCV 2013) holds 2326 videos of 15 actions with
    13 annotated 2D joints per frame. Five actions (baseball_swing, golf_swing,
    jumping_jacks, pushup, tennis_forehand) also have dense per-frame phase
    labels and SMPL poses, as released with CASA (Kwon et al., CVPR 2022);
    these are the alignment benchmark used by LAV.

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
          see ``normalize_joints2d`` in ``sklav.datasets._penn_action``.
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
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}.")
    if features not in _FEATURES:
        raise ValueError(f"features must be one of {list(_FEATURES)}, got {features!r}.")
    if not isinstance(with_phases, (bool, np.bool_)):
        raise TypeError(f"with_phases must be a bool, got {type(with_phases).__name__}.")
    actions = _check_actions(actions)
    splits = _SPLITS[split]

    if root is None:
        source = _BundledSource()
        if features != "joints2d":
            raise ValueError(
                f"The bundled subset holds 2D joints only, not features={features!r}; "
                "pass root=... (a Penn Action folder) for 'smpl' or 'rgb'."
            )
        bundled_actions = source.actions()
        if actions is not None and set(actions) - set(bundled_actions):
            raise ValueError(
                f"The bundled subset holds only the actions {bundled_actions}, not "
                f"{sorted(set(actions) - set(bundled_actions))}; pass root=... (a Penn "
                "Action folder) for the others."
            )
    else:
        source = _FolderSource(root)
        if features == "rgb":
            source.check_frames()

    # --- which videos --------------------------------------------------------
    table = None
    if with_phases:
        table = source.phase_table()
        if table is None:
            raise FileNotFoundError(
                f"with_phases=True needs the phase table {str(source.root / 'phases.csv')!r}, "
                "which does not exist; pass with_phases=False for videos without phases."
            )
        phase_actions = sorted({a for a, _, _, _ in table.values()})
        if actions is None:
            actions = phase_actions
        missing = [a for a in actions if a not in phase_actions]
        if missing:
            raise ValueError(
                f"No phase labels for action(s) {missing} in {source.describe()}; actions "
                f"with phase labels: {phase_actions}. Pass with_phases=False to load "
                "videos without phases."
            )
        for a in actions:
            if not any(ta == a and ts in splits for ta, ts, _, _ in table.values()):
                raise ValueError(
                    f"No phase labels for action {a!r} in split {split!r} in "
                    f"{source.describe()}; pass with_phases=False or another split."
                )
        wanted = set(actions)
        ids = sorted(v for v, (a, s, _, _) in table.items() if a in wanted and s in splits)
        annotations = [source.annotation(v) for v in ids]
        for ann in annotations:
            a, s, n, _ = table[ann.video_id]
            if (ann.action, ann.split, len(ann)) != (a, s, n):
                raise ValueError(
                    f"Video {ann.video_id!r}: the phase table says ({a}, {s}, {n} frames) but "
                    f"its annotation file says ({ann.action}, {ann.split}, {len(ann)} frames)."
                )
    else:
        every = [source.annotation(v) for v in source.video_ids()]
        present = sorted({ann.action for ann in every})
        if actions is None:
            actions = present
        missing = [a for a in actions if a not in present]
        if missing:
            raise ValueError(f"No videos of action(s) {missing} in {source.describe()}.")
        wanted = set(actions)
        annotations = [ann for ann in every if ann.action in wanted and ann.split in splits]
        if not annotations:
            raise ValueError(f"No videos of {actions} in split {split!r} in {source.describe()}.")

    # --- features --------------------------------------------------------------
    if features == "joints2d":
        videos = [normalize_joints2d(a.x, a.y, a.visibility) for a in annotations]
        joint_names = list(JOINT_NAMES)
    elif features == "smpl":
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
        annotations = kept
        joint_names = list(SMPL_JOINT_NAMES)
    else:  # rgb
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
        joint_names = None

    phases = None
    if with_phases:
        phases = [phase_labels(len(a), table[a.video_id][3]) for a in annotations]

    return Bunch(
        videos=videos,
        phases=phases,
        video_ids=np.array([a.video_id for a in annotations], dtype=str),
        actions=np.array([a.action for a in annotations], dtype=str),
        views=np.array([a.view for a in annotations], dtype=str),
        splits=np.array([a.split for a in annotations], dtype=str),
        joint_names=joint_names,
        features=features,
        DESCR=_load_descr(),
    )
