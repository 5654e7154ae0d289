"""Few-shot curves: phase classification accuracy against labelled videos.

- :func:`plot_few_shot_curves`: one or several tables of
  :func:`sklav.evaluation.few_shot_scores`, one curve each.
"""

from ._base import get_axes, set_labels


def _plot_curve(ax, table, label, **errorbar_kwargs):
    """One few-shot table as an errorbar curve, by increasing ``n_labelled``."""
    rows = sorted(table, key=lambda row: row["n_labelled"])
    errorbar_kwargs.setdefault("marker", "o")
    errorbar_kwargs.setdefault("capsize", 3)
    ax.errorbar(
        [row["n_labelled"] for row in rows],
        [row["mean"] for row in rows],
        yerr=[row["std"] for row in rows],
        label=label,
        **errorbar_kwargs,
    )


def plot_few_shot_curves(tables, *, ax=None, **errorbar_kwargs):
    """Few-shot accuracy (mean +- std over episodes) of one or several embeddings.

    Each table is drawn as one curve: the mean accuracy against the number
    of labelled training videos, with the standard deviation as error bars.

    Parameters
    ----------
    tables : ScoreTable or dict of {str: ScoreTable}
        Results of :func:`sklav.evaluation.few_shot_scores`; a dict draws one
        labelled curve per entry (e.g. ``{"LAV": ..., "raw poses": ...}``),
        with a legend; a single table draws one unlabelled curve.
    ax : matplotlib Axes, optional
        Default: the current axes.
    **errorbar_kwargs
        Passed to every :meth:`matplotlib.axes.Axes.errorbar` call (default:
        ``marker='o'``, ``capsize=3``).

    Returns
    -------
    ax : matplotlib Axes
        The axes, with one errorbar curve per table.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklav.evaluation import ScoreTable
    >>> from sklav.plotting import plot_few_shot_curves
    >>> def table(scores):
    ...     return ScoreTable([{"setting": n, "n_labelled": n, "mean": s, "std": 0.02}
    ...                        for n, s in zip((1, 5, 10), scores)], ["setting", "mean"])
    >>> fig, ax = plt.subplots()
    >>> ax = plot_few_shot_curves({"LAV": table([0.7, 0.8, 0.85]), "raw": table([0.5, 0.6, 0.7])},
    ...                           ax=ax)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['LAV', 'raw']
    >>> ax.get_xlabel()
    'labelled training videos'
    """
    if not isinstance(tables, dict):
        tables = {None: tables}
    if not tables:
        raise ValueError("tables is empty; give a ScoreTable or a dict of them.")
    ax = get_axes(ax)
    for label, table in tables.items():
        _plot_curve(ax, table, label, **errorbar_kwargs)
    return set_labels(
        ax,
        xlabel="labelled training videos",
        ylabel="phase classification accuracy",
        title="few-shot phase classification",
        legend=any(label is not None for label in tables),
    )
