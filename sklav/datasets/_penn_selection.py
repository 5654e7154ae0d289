"""Which Penn Action videos a call selects: actions, split and phase labels.

The selection step shared by :func:`load_penn_action` (``_penn_action.py``
then turns the selected raw annotations into per-frame features) and by
:func:`load_penn_action_annotations`, which returns them raw.
"""

import numpy as np
from sklearn.utils import Bunch

from ._penn_sources import JOINT_NAMES, PENN_ACTIONS, _open_source

__all__ = ["load_penn_action_annotations"]

_SPLITS = {"train": ("train",), "val": ("val",), "all": ("train", "val")}


def _check_split(split):
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}.")
    return _SPLITS[split]


def _check_with_phases(with_phases):
    if not isinstance(with_phases, (bool, np.bool_)):
        raise TypeError(f"with_phases must be a bool, got {type(with_phases).__name__}.")


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


def _select_videos(source, actions, split, with_phases):
    """The raw annotations of the videos selected by ``actions``, ``split`` and phases.

    ``actions`` has been checked by :func:`_check_actions` and ``split`` by
    :func:`_check_split`.

    Returns
    -------
    annotations : list of _Annotation
        Sorted by video id.
    actions : list of str
        The requested actions, None resolved to the default ones.
    table : dict or None
        The phase table ``{video_id: (action, split, T, phase_starts)}`` when
        ``with_phases``, else None.
    """
    splits = _SPLITS[split]
    if source.bundled:
        bundled_actions = source.actions()
        if actions is not None and set(actions) - set(bundled_actions):
            raise ValueError(
                f"The bundled subset holds only the actions {bundled_actions}, not "
                f"{sorted(set(actions) - set(bundled_actions))}; pass root=... (a Penn "
                "Action folder) for the others."
            )
    if not with_phases:
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
        return annotations, actions, None

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
    return annotations, actions, table


def _video_fields(annotations):
    """The per-video fields ``video_ids``, ``actions``, ``views`` and ``splits``."""
    return dict(
        video_ids=np.array([a.video_id for a in annotations], dtype=str),
        actions=np.array([a.action for a in annotations], dtype=str),
        views=np.array([a.view for a in annotations], dtype=str),
        splits=np.array([a.split for a in annotations], dtype=str),
    )


def load_penn_action_annotations(root=None, actions=None, split="train", with_phases=True):
    """Raw Penn Action annotations of the selected videos, as stored in their files.

    The videos are those that :func:`load_penn_action` selects for the same
    arguments with ``features='joints2d'``, but nothing is normalised: ``x``,
    ``y`` and ``visibility`` are the arrays of each ``labels/NNNN.mat`` file
    (Penn Action stores placeholders, such as the image corner, for some
    invisible joints) and the phases are the phase table's first frames. The
    subset bundled with sklav stores exactly these values
    (``benchmarks/make_bundled_data.py`` writes it with this function).

    Parameters
    ----------
    root : str, os.PathLike or None, default=None
        None for the subset bundled with sklav, otherwise a Penn Action
        folder laid out as :func:`load_penn_action` describes (``labels/``,
        and ``phases.csv`` when ``with_phases=True``).
    actions : str, list of str or None, default=None
        Actions to select; None as in :func:`load_penn_action`.
    split : {'train', 'val', 'all'}, default='train'
        Penn Action's official split ('val' is its test split) or both.
    with_phases : bool, default=True
        True selects only videos with phase labels and returns them; False
        allows any of the 15 actions and sets ``phase_starts`` to None.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Videos sorted by video id, with fields:

        video_ids, actions, views, splits : ndarray of str
            As returned by :func:`load_penn_action`.
        x, y : list of ndarray of shape (T, 13), dtype float64
            Joint image coordinates in pixels (y pointing down), joints in
            the order of ``joint_names``.
        visibility : list of ndarray of shape (T, 13), dtype uint8
            1 where the joint is visible.
        phase_starts : list of tuple of int, or None
            First frame of each phase after phase 0 (the phase table's
            ``phase_starts`` column); None when ``with_phases=False``.
        joint_names : list of str
            Penn Action's 13 joints.

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        As :func:`load_penn_action`.

    Examples
    --------
    >>> from sklav.datasets import load_penn_action_annotations
    >>> raw = load_penn_action_annotations(actions="golf_swing")  # bundled, train split
    >>> len(raw.video_ids), raw.x[0].shape, raw.x[0].dtype, raw.visibility[0].dtype
    (87, (58, 13), dtype('float64'), dtype('uint8'))
    >>> print(raw.video_ids[0], raw.views[0], len(raw.phase_starts[0]) + 1, "phases")
    0789 back 3 phases
    """
    _check_split(split)
    _check_with_phases(with_phases)
    actions = _check_actions(actions)
    source = _open_source(root)
    annotations, _, table = _select_videos(source, actions, split, with_phases)
    return Bunch(
        **_video_fields(annotations),
        x=[a.x for a in annotations],
        y=[a.y for a in annotations],
        visibility=[a.visibility for a in annotations],
        phase_starts=None if table is None else [table[a.video_id][3] for a in annotations],
        joint_names=list(JOINT_NAMES),
    )
