"""Metrics and targets built from per-frame phase labels."""

import numbers

import numpy as np

from ..utils import check_frame_labels, check_label_list


def phase_accuracy(y_true, y_pred):
    """Per-frame phase classification accuracy over all frames of all videos.

    Definition: ``sum_i |{t : y_true[i][t] == y_pred[i][t]}| / sum_i T_i``,
    every frame weighing the same (the paper's and TCC's accuracy, computed on
    the stacked frames).

    Parameters
    ----------
    y_true, y_pred : list of array-like of shape (T_i,)
        True and predicted labels, one array per video, of equal lengths.

    Returns
    -------
    accuracy : float

    Raises
    ------
    ValueError
        If the lengths differ, or if one side holds strings and the other
        numbers (``'1'`` never equals ``1``: the accuracy would be 0).

    Examples
    --------
    >>> from sklav.metrics import phase_accuracy
    >>> phase_accuracy([[0, 0, 1], [0, 1]], [[0, 1, 1], [0, 1]])
    0.8
    """
    y_true = check_label_list(y_true, name="y_true")
    y_pred = check_frame_labels(y_pred, y_true, name="y_pred", videos_name="y_true")
    true, pred = np.concatenate(y_true), np.concatenate(y_pred)
    kinds = _label_kind(true, "y_true"), _label_kind(pred, "y_pred")
    if kinds[0] != kinds[1]:
        raise ValueError(
            f"y_true holds {kinds[0]} labels (e.g. {true[0]!r}) and y_pred {kinds[1]} labels "
            f"(e.g. {pred[0]!r}); labels of different types never match. Convert one side, "
            "e.g. with the classifier's classes_."
        )
    return float(np.mean(true == pred))


def _label_kind(labels, name):
    """``'string'`` or ``'numeric'``: what a flat label array holds."""
    if labels.dtype.kind in "US":
        return "string"
    if labels.dtype.kind in "biuf":
        return "numeric"
    kinds = {
        "string" if isinstance(v, str) else "numeric" if isinstance(v, numbers.Number) else "other"
        for v in labels.tolist()
    }
    if len(kinds) != 1 or "other" in kinds:
        raise ValueError(f"{name} mixes label types or holds labels that are neither strings nor numbers.")
    return kinds.pop()


def phase_order(labels):
    """The default phase order: the sorted distinct labels (as TCC's integer phases).

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.metrics.phases import phase_order
    >>> phase_order([np.array([0, 0, 1, 2]), np.array([0, 2, 2])])
    array([0, 1, 2])
    """
    return np.unique(np.concatenate(check_label_list(labels, name="labels")))


def _key_event_frames(ranks, n_events):
    """Frame index t_e of each key event in one video (see ``phase_progress_targets``)."""
    frames = np.arange(len(ranks))
    last_of_phase = np.full(n_events, -1)
    np.maximum.at(last_of_phase, ranks[ranks < n_events], frames[ranks < n_events])
    # A skipped phase inherits the last frame of the latest earlier phase.
    return np.maximum.accumulate(last_of_phase)


def phase_progress_targets(labels, *, phases=None):
    """TCC's phase-progression targets: signed time to each key event, over T.

    Definition (Dwibedi et al. 2019, Sec. 5.1 "Phase Progression", and their
    ``regression_labels_for_class``). With phases ordered ``p_0, ..., p_{P-1}``
    there are ``P - 1`` key events, event ``e`` being the end of phase ``p_e``.
    In a video of ``T`` frames, ``t_e`` is the last frame labelled ``p_e``
    (labels need not be contiguous), and the target of frame ``t`` for event
    ``e`` is::

        progress_e(t) = (t - t_e) / T

    negative before the event, 0 at its last frame, positive after. If a video
    skips phase ``p_e``, ``t_e`` is the last frame of the latest earlier phase
    (``-1`` if none), so the event sits at the transition that replaced it.

    Parameters
    ----------
    labels : list of array-like of shape (T_i,)
        Per-frame phase labels, one array per video.
    phases : array-like of shape (P,), optional
        The phases in temporal order. Default: the sorted distinct labels
        (``np.unique``), right for TCC-style integer phases ``0, 1, ...``;
        give it for string labels. Labels outside ``phases`` are an error.

    Returns
    -------
    targets : list of ndarray of shape (T_i, P - 1)

    Examples
    --------
    >>> from sklav.metrics import phase_progress_targets
    >>> phase_progress_targets([[0, 0, 1, 1, 2]])[0]
    array([[-0.2, -0.6],
           [ 0. , -0.4],
           [ 0.2, -0.2],
           [ 0.4,  0. ],
           [ 0.6,  0.2]])
    """
    labels = check_label_list(labels, name="labels")
    phases = phase_order(labels) if phases is None else np.asarray(phases)
    if phases.ndim != 1 or len(np.unique(phases)) != len(phases):
        raise ValueError("phases must be a 1-D sequence of distinct labels.")
    if len(phases) < 2:
        raise ValueError(
            f"Phase progression needs at least 2 phases (1 key event); got {len(phases)}."
        )
    rank_of = {phase: rank for rank, phase in enumerate(phases.tolist())}
    targets = []
    for i, video_labels in enumerate(labels):
        unknown = set(video_labels.tolist()) - rank_of.keys()
        if unknown:
            raise ValueError(
                f"labels[{i}] has label(s) {sorted(map(repr, unknown))} outside the phases "
                f"{phases.tolist()}."
            )
        ranks = np.array([rank_of[label] for label in video_labels.tolist()])
        t_e = _key_event_frames(ranks, len(phases) - 1)
        frames = np.arange(len(ranks))[:, None]
        targets.append((frames - t_e[None, :]) / len(ranks))
    return targets
