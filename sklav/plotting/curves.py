"""Few-shot curves: phase classification accuracy against labelled videos."""

from ._base import get_axes


def plot_few_shot_curves(tables, *, ax=None, **errorbar_kwargs):
    """Few-shot accuracy (mean +- std over episodes) of one or several embeddings.

    Parameters
    ----------
    tables : ScoreTable or dict of {str: ScoreTable}
        Results of :func:`sklav.evaluation.few_shot_scores`; a dict draws one
        labelled curve per entry (e.g. ``{"LAV": ..., "raw poses": ...}``).
    ax : matplotlib Axes, optional
        Default: the current axes.
    **errorbar_kwargs
        Passed to every :meth:`matplotlib.axes.Axes.errorbar` call.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    sklav.evaluation.plot_few_shot : one curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
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
    """
    from ..evaluation import plot_few_shot

    if not isinstance(tables, dict):
        tables = {None: tables}
    if not tables:
        raise ValueError("tables is empty; give a ScoreTable or a dict of them.")
    ax = get_axes(ax)
    for label, table in tables.items():
        plot_few_shot(table, ax=ax, label=label, **errorbar_kwargs)
    ax.set_title("few-shot phase classification")
    return ax
