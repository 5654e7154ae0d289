"""Penn Action's raw annotations: the sources they come from and their parsing.

A *source* hands out the raw annotations of every video (:class:`_Annotation`,
exactly as stored in its ``labels/NNNN.mat`` file) and the phase table
(``phases.csv``). :class:`_FolderSource` reads a folder in the official layout
(plus CASA's ``phases.csv`` and ``smpl/*.npz`` and the official RGB frames);
:class:`_BundledSource` reads the subset shipped in ``sklav/datasets/data/``,
which holds the same raw values, so both go through the same selection and
feature code (``_penn_selection.py`` and ``_penn_action.py``) and the bundled
subset reproduces the full data bit for bit.
"""

import csv
import os
from importlib import resources
from pathlib import Path

import numpy as np

from ._video import read_frame_folder

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

#: Bones of Penn Action's 13 joints (head, shoulders, elbows, wrists, hips,
#: knees, ankles; left before right), as pairs of joint indices.
PENN_ACTION_EDGES = (
    (0, 1), (0, 2), (1, 2),  # head and shoulders
    (1, 3), (3, 5), (2, 4), (4, 6),  # arms
    (1, 7), (2, 8), (7, 8),  # torso
    (7, 9), (9, 11), (8, 10), (10, 12),  # legs
)


BUNDLED_FILE = "penn_action_subset.npz"
_MAT_FIELDS = ("action", "pose", "x", "y", "visibility", "train")
_PHASE_COLUMNS = ("video_id", "action", "split", "num_frames", "phase_starts")


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



def _open_source(root):
    """The bundled subset for ``root=None``, else the folder ``root``."""
    return _BundledSource() if root is None else _FolderSource(root)
