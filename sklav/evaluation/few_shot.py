"""Few-shot phase classification: accuracy when few training videos carry labels.

- :func:`few_shot_scores`: the protocol, as a :class:`ScoreTable`; plot it with
  :func:`sklav.plotting.plot_few_shot_curves`.
"""

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils import check_random_state

from ..metrics import phase_accuracy
from ..utils import check_positive_int
from ._data import check_split
from .estimators import PhaseClassifier
from .table import ScoreTable


def _n_labelled(setting, n_train):
    """Number of labelled videos for a fraction (float) or a count (int)."""
    if isinstance(setting, bool) or not isinstance(setting, numbers.Real):
        raise TypeError(f"settings must hold fractions (float) or counts (int), got {setting!r}.")
    if isinstance(setting, numbers.Integral):
        if not 1 <= setting <= n_train:
            raise ValueError(
                f"setting {setting} labelled videos is outside [1, {n_train}] "
                f"(the number of training videos)."
            )
        return int(setting)
    if not 0.0 < setting <= 1.0:
        raise ValueError(f"setting {setting} is a fraction outside (0, 1].")
    return max(1, int(round(setting * n_train)))


def _episode(classifier, train, val, labelled, return_train_score):
    videos, labels = train
    fitted = clone(classifier).fit([videos[i] for i in labelled], [labels[i] for i in labelled])
    val_score = phase_accuracy(val[1], fitted.predict(val[0]))
    train_score = phase_accuracy(labels, fitted.predict(videos)) if return_train_score else None
    return val_score, train_score


def few_shot_scores(
    train,
    val,
    *,
    settings=(0.1, 0.5, 1.0),
    n_episodes=10,
    estimator=None,
    return_train_score=False,
    n_jobs=None,
    random_state=None,
):
    """Phase classification accuracy with only some training videos labelled.

    Protocol (TCC Sec. 5.3 / LAV Sec. 5.3 few-shot). For each setting, draw
    ``n`` of the training videos uniformly without replacement (one episode),
    fit ``PhaseClassifier(estimator)`` on their frames and labels only, and
    score the per-frame accuracy (:func:`sklav.metrics.phase_accuracy`) on
    all validation frames; repeat for ``n_episodes`` draws and report the
    mean and standard deviation (``np.std``, ddof=0). A float setting ``f``
    is a fraction, ``n = max(1, round(f * n_train))``; an int setting is the
    number ``n`` itself (so ``1.0`` means all videos, ``1`` one video). When
    ``n`` is all training videos every draw is the same, so one episode is run.
    Validation labels never seen in a draw's training videos count as errors.

    Parameters
    ----------
    train, val : pair (embeddings, labels)
        Lists of ``(T_i, D)`` per-frame embeddings and of ``(T_i,)`` phase
        labels. Only ``train`` is used for fitting.
    settings : sequence of float or int, default=(0.1, 0.5, 1.0)
        Fractions (floats in (0, 1]) or numbers (ints) of labelled videos.
    n_episodes : int, default=10
        Random draws per setting.
    estimator : classifier, default=None
        Passed to :class:`PhaseClassifier` (``None``: ``SVC()``).
    return_train_score : bool, default=False
        Also score each episode's classifier on all training videos.
    n_jobs : int, default=None
        Episodes fitted in parallel (joblib; ``None`` means 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; an int makes the result reproducible.

    Returns
    -------
    table : ScoreTable
        One row per setting, named by the setting, with ``n_labelled``,
        ``mean``, ``std``, ``n_episodes`` (and ``train_mean``, ``train_std``)
        printed, and the per-episode ``scores`` (and ``train_scores``) and
        drawn video indices ``episodes`` kept in the row.

    See Also
    --------
    sklav.plotting.plot_few_shot_curves : plot one or several such tables.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.evaluation import few_shot_scores
    >>> t = [np.arange(n, dtype=float)[:, None] / n for n in (8, 10, 12, 9)]
    >>> y = [(v[:, 0] >= 0.5).astype(int) for v in t]
    >>> table = few_shot_scores((t[:3], y[:3]), (t[3:], y[3:]), settings=(1, 1.0),
    ...                         n_episodes=3, random_state=0)
    >>> table[1]["n_labelled"], table[1.0]["n_labelled"], table[1.0]["n_episodes"]
    (1, 3, 1)
    >>> round(table[1.0]["mean"], 2)
    1.0
    """
    train = check_split(train, "train")
    val = check_split(val, "val")
    n_train = len(train[0])
    counts = [_n_labelled(setting, n_train) for setting in settings]
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    rng = check_random_state(random_state)
    draws = [
        [np.arange(n_train)]
        if n == n_train
        else [np.sort(rng.choice(n_train, size=n, replace=False)) for _ in range(n_episodes)]
        for n in counts
    ]
    classifier = PhaseClassifier(estimator)
    results = Parallel(n_jobs=n_jobs)(
        delayed(_episode)(classifier, train, val, labelled, return_train_score)
        for episodes in draws
        for labelled in episodes
    )
    rows, position = [], 0
    for setting, n, episodes in zip(settings, counts, draws):
        scores = np.array([r[0] for r in results[position : position + len(episodes)]])
        row = {
            "setting": setting,
            "n_labelled": n,
            "mean": float(scores.mean()),
            "std": float(scores.std()),
            "n_episodes": len(episodes),
            "scores": scores,
            "episodes": episodes,
        }
        if return_train_score:
            train_scores = np.array([r[1] for r in results[position : position + len(episodes)]])
            row.update(
                train_mean=float(train_scores.mean()),
                train_std=float(train_scores.std()),
                train_scores=train_scores,
            )
        rows.append(row)
        position += len(episodes)
    columns = ["setting", "n_labelled", "mean", "std", "n_episodes"]
    if return_train_score:
        columns += ["train_mean", "train_std"]
    return ScoreTable(rows, columns)

