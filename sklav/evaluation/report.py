"""One-call evaluation report: the paper's table for an encoder or embeddings,
under the standard protocol or a re-timed one (:mod:`sklav.evaluation.protocols`)."""

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from ..metrics import frame_retrieval_ap, kendalls_tau, phase_agreement
from ..metrics.phases import phase_order
from ..utils import embed
from ..utils.param_validation import StrOptions, validate_params
from ._data import check_split
from .estimators import ProgressRegressor
from .few_shot import few_shot_scores
from .protocols import PROTOCOLS, RetimedVideos, retime
from .table import ScoreTable


def _retimed_split(split, name, protocol, rng):
    """``split`` after ``protocol``: a :class:`RetimedVideos`."""
    if isinstance(split, RetimedVideos):
        if protocol != "none":
            raise ValueError(
                f"{name} is already re-timed (a RetimedVideos); evaluate it with protocol='none' "
                f"instead of re-timing it again with protocol={protocol!r}."
            )
        check_split((split.videos, split.labels), name, min_videos=2)
        return split
    videos, labels = check_split(split, name, min_videos=2)
    return retime(videos, labels, protocol, random_state=rng)


def _progress_targets(train, val):
    """Train and val progression targets, of the original videos, in the train phase order."""
    phases = phase_order(train.original_labels)
    unseen = set(np.concatenate(val.original_labels).tolist()) - set(phases.tolist())
    if unseen:
        raise ValueError(
            f"y has label(s) {sorted(unseen, key=repr)} that are not in phases_ = {phases.tolist()} "
            "(the phases of the train videos)."
        )
    return train.progress_targets(phases), val.progress_targets(phases)


def _embed_split(encoder, split, name):
    videos, labels = split
    embeddings = embed(encoder, videos, name=f"{name} embeddings")
    if len(embeddings) != len(labels) or any(
        len(e) != len(lab) for e, lab in zip(embeddings, labels)
    ):
        raise ValueError(
            f"The encoder changed the number of videos or frames of {name}; evaluate "
            "needs one embedding per labelled frame."
        )
    return embeddings, labels


def evaluate(
    encoder,
    train,
    val,
    *,
    label_fractions=(0.1, 0.5, 1.0),
    ap_k=(5, 10, 15),
    n_episodes=10,
    classifier=None,
    regressor=None,
    tau_stride=1,
    metric="sqeuclidean",
    return_train_score=False,
    n_jobs=None,
    random_state=None,
    protocol="none",
    fit_encoder=False,
):
    """The paper's evaluation table in one call, train and val kept apart.

    Rows (Haresh et al. 2021, Tables 2-4; TCC's definitions):

    - ``classification@f`` for each ``f`` in ``label_fractions``: phase
      classification accuracy on all val frames of a
      :class:`PhaseClassifier` fitted on a random fraction ``f`` of the
      labelled train videos, mean and std over ``n_episodes`` draws
      (:func:`few_shot_scores`);
    - ``progress_r2``: :class:`ProgressRegressor` fitted on train, mean R^2
      over key events on val;
    - ``kendalls_tau``: :func:`sklav.metrics.kendalls_tau` among the val videos;
    - ``phase_agreement``: :func:`sklav.metrics.phase_agreement` among the
      val videos (nearest-frame matching): how often a frame's nearest frame
      in another video has its phase;
    - ``ap@k`` for each ``k`` in ``ap_k``: :func:`sklav.metrics.frame_retrieval_ap`
      among the val videos (each val video the query, the other val videos
      the support set).

    Fitted heads only ever see train labels; the encoder is used as given
    (fit it beforehand, on train videos only), or, with ``fit_encoder``, a
    clone of it is fitted on the (re-timed) train videos.

    With ``protocol='crop'`` or ``'warp'`` every train and val video is first
    re-timed (:func:`sklav.evaluation.protocols.retime`), and everything above
    is computed on the re-timed videos and their labels, but for the
    progression targets: a kept frame that was frame ``t`` of the original
    video keeps the target it had there. On Penn Action an untrained clock
    (:class:`sklav.encoders.ClockEncoder`) passes the standard protocol
    (``'none'``); re-timed, its phase scores fall, while its tau stays near 1.

    Parameters
    ----------
    encoder : fitted transformer, None or 'passthrough'
        Anything whose ``transform(list_of_videos)`` returns a list of
        ``(T_i, D)`` embeddings (an encoder, a Pipeline ending in one);
        ``None`` or ``'passthrough'`` (alias ``'identity'``) when the videos
        already are per-frame embeddings; see :func:`sklav.utils.embed`.
    train, val : pair (videos, labels)
        A list of videos (at least 2) and a list of per-frame phase label
        arrays (ints in temporal order, as TCC) for each split.
    label_fractions : sequence of float or int, default=(0.1, 0.5, 1.0)
        Few-shot settings (fractions, or ints for numbers of videos).
    ap_k : sequence of int, default=(5, 10, 15)
        Retrieval depths.
    n_episodes : int, default=10
        Random draws per label fraction.
    classifier : classifier, default=None
        Head of :class:`PhaseClassifier` (``None``: ``SVC()`` as in the paper;
        ``LinearSVC()`` is much faster on large sets).
    regressor : regressor, default=None
        Head of :class:`ProgressRegressor` (``None``: ``LinearRegression()``).
    tau_stride : int, default=1
        Frame stride of Kendall's tau.
    metric : str or callable, default='sqeuclidean'
        Frame distance for Kendall's tau and retrieval.
    return_train_score : bool, default=False
        Also fill a ``train`` column: classification and progress scored on
        the train videos, tau and AP among the train videos.
    n_jobs : int, default=None
        Few-shot episodes fitted in parallel (joblib; ``None`` means 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the few-shot draws and the re-timing; an int makes the table
        reproducible. With ``protocol='none'`` it goes to
        :func:`few_shot_scores` as given; otherwise one generator
        ``check_random_state(random_state)`` re-times the train videos, then
        the val videos (two calls of :func:`~sklav.evaluation.protocols.retime`),
        then draws the few-shot episodes.
    protocol : {'none', 'crop', 'warp'}, default='none'
        ``'none'``: the videos as given (the paper's protocol). ``'crop'``:
        each video cut to a random window of 60-100% of its frames;
        ``'warp'``: each re-timed by a random piecewise speed in ``[0.5, 2]``
        (see :mod:`sklav.evaluation.protocols`). A split given as a
        :class:`~sklav.evaluation.protocols.RetimedVideos` (from ``retime``,
        its videos possibly replaced by their embeddings) is taken as already
        re-timed, with ``protocol='none'``.
    fit_encoder : bool, default=False
        Fit a clone of ``encoder`` on the (re-timed) train videos before
        embedding; the given encoder is left untouched.

    Returns
    -------
    report : ScoreTable
        Rows named as above, columns ``metric``, ``val``, ``val_std`` (the
        std over episodes, classification only) and, with
        ``return_train_score``, ``train`` and ``train_std``. ``report.to_dict()``
        gives plain dicts, ``print(report)`` an RST table.

    Examples
    --------
    >>> import numpy as np
    >>> from sklav.evaluation import evaluate
    >>> rng = np.random.default_rng(0)
    >>> def make(n):
    ...     t = [np.linspace(0, 1, T)[:, None] for T in rng.integers(20, 30, n)]
    ...     return [v + 0.01 * rng.standard_normal(v.shape) for v in t], [
    ...         np.digitize(v[:, 0], [0.3, 0.7]) for v in t]
    >>> report = evaluate(None, make(6), make(4), n_episodes=2, random_state=0)
    >>> print(report.names())  # doctest: +NORMALIZE_WHITESPACE
    ['classification@0.1', 'classification@0.5', 'classification@1.0',
     'progress_r2', 'kendalls_tau', 'phase_agreement', 'ap@5', 'ap@10', 'ap@15']
    >>> round(report["kendalls_tau"]["val"], 2)
    0.99

    The clock, on videos cut to random windows (its phases move):

    >>> from sklav.encoders import ClockEncoder
    >>> cropped = evaluate(ClockEncoder(), make(6), make(4), n_episodes=2, random_state=0,
    ...                    protocol="crop", fit_encoder=True)
    >>> round(cropped["kendalls_tau"]["val"], 2), cropped["phase_agreement"]["val"] < 0.9
    (1.0, True)
    """
    validate_params({"protocol": [StrOptions(set(PROTOCOLS))], "fit_encoder": ["boolean"]},
                    {"protocol": protocol, "fit_encoder": fit_encoder}, "evaluate")
    # 'none' draws nothing: random_state reaches the few-shot draws as given, as before protocols
    rng = random_state if protocol == "none" else check_random_state(random_state)
    retimed = {"train": _retimed_split(train, "train", protocol, rng),
               "val": _retimed_split(val, "val", protocol, rng)}
    if fit_encoder:
        if encoder is None or isinstance(encoder, str):
            raise ValueError(f"fit_encoder=True needs an encoder to fit, got {encoder!r}.")
        encoder = clone(encoder).fit(retimed["train"].videos)
    embedded = {
        split: _embed_split(encoder, (retimed[split].videos, retimed[split].labels), split)
        for split in ("train", "val")
    }
    targets = dict(zip(("train", "val"), _progress_targets(retimed["train"], retimed["val"])))
    splits = ["val", "train"] if return_train_score else ["val"]
    ap_k = [int(k) for k in np.ravel(ap_k)]
    few_shot = few_shot_scores(
        embedded["train"],
        embedded["val"],
        settings=label_fractions,
        n_episodes=n_episodes,
        estimator=classifier,
        return_train_score=return_train_score,
        n_jobs=n_jobs,
        random_state=rng,
    )
    # explicit targets: those of the original videos at the kept frames
    progress = ProgressRegressor(regressor, target="progress").fit(embedded["train"][0], targets["train"])
    rows = {}

    def record(name, split, value, std=None):
        row = rows.setdefault(name, {"metric": name})
        row[split] = value
        if std is not None:
            row[f"{split}_std"] = std

    for row in few_shot:
        name = f"classification@{row['setting']}"
        record(name, "val", row["mean"], row["std"])
        if return_train_score:
            record(name, "train", row["train_mean"], row["train_std"])
    for split in splits:
        embeddings, labels = embedded[split]
        record("progress_r2", split, progress.score(embeddings, targets[split]))
        tau = kendalls_tau(embeddings, stride=tau_stride, metric=metric)
        record("kendalls_tau", split, tau)
        record("phase_agreement", split, phase_agreement(embeddings, labels))
        aps = frame_retrieval_ap(embeddings, labels, k=ap_k, metric=metric)
        for k, ap in zip(ap_k, aps):
            record(f"ap@{k}", split, float(ap))
    columns = ["metric", "val", "val_std"] + (["train", "train_std"] if return_train_score else [])
    return ScoreTable(list(rows.values()), columns)
