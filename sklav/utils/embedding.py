"""Per-frame embeddings of videos from an encoder, or of videos already embedded.

- :func:`embed`: the one meaning of ``encoder`` across sklav, used by
  :func:`sklav.alignment.align`, :class:`sklav.alignment.Aligner`,
  :func:`sklav.evaluation.evaluate` and the scorers of
  :mod:`sklav.evaluation`.

This module imports neither torch nor numba.
"""

import numpy as np
from sklearn.pipeline import Pipeline

from .validation import check_videos

__all__ = ["PASSTHROUGH", "embed"]

#: Values of ``encoder`` meaning "the videos already are per-frame embeddings"
#: (``'identity'`` is an alias of ``'passthrough'``, as in scikit-learn pipelines).
PASSTHROUGH = (None, "passthrough", "identity")


def _is_passthrough(encoder):
    return encoder is None or (isinstance(encoder, str) and encoder in PASSTHROUGH)


def _transform(encoder, videos):
    if hasattr(encoder, "transform"):
        return encoder.transform(videos)
    if isinstance(encoder, Pipeline) and len(encoder.steps) > 1:
        # e.g. an encoder followed by a PhaseClassifier: embed with all steps but the last.
        return encoder[:-1].transform(videos)
    what = repr(encoder) if isinstance(encoder, str) else type(encoder).__name__
    raise TypeError(
        f"encoder {what} has no transform method, so it cannot embed videos; give a "
        "fitted transformer (e.g. a LAVEncoder), a Pipeline ending in one or in a "
        "PhaseClassifier/ProgressRegressor, or None/'passthrough' for videos that "
        "already are per-frame embeddings."
    )


def embed(encoder, videos, *, name="X"):
    """Per-frame embeddings ``(T_i, D)`` of a list of videos, as float64 arrays.

    Semantics of ``encoder``:

    - ``None`` or ``'passthrough'`` (alias ``'identity'``): the videos already
      are per-frame embeddings and are returned validated, unchanged but for
      the cast to float64;
    - an object with a ``transform`` method (a fitted encoder, or a
      :class:`~sklearn.pipeline.Pipeline` ending in one): ``encoder.transform(videos)``;
    - a :class:`~sklearn.pipeline.Pipeline` whose last step does not
      transform (e.g. an encoder followed by a
      :class:`~sklav.evaluation.PhaseClassifier`): the transform of all its
      steps but the last;
    - anything else: a :class:`TypeError`.

    The encoder is used as given: it is never fitted here. The embeddings are
    then validated as :func:`check_videos` does (same per-frame shape, finite
    values) and must have one per-frame axis.

    Parameters
    ----------
    encoder : None, 'passthrough', fitted transformer or Pipeline
        See above.
    videos : list of array-like
        The videos, each with time on the first axis.
    name : str, default="X"
        Name of ``videos`` in error messages.

    Returns
    -------
    embeddings : list of ndarray of shape (T_i, D), float64
        One array per video, in the input order.

    Raises
    ------
    TypeError
        If ``encoder`` is none of the above.
    ValueError
        If the embeddings are not a valid list of ``(T_i, D)`` arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklav.utils import embed
    >>> videos = [np.ones((3, 2), dtype=np.float32), np.zeros((5, 2))]
    >>> [(e.shape, e.dtype) for e in embed(None, videos)]
    [((3, 2), dtype('float64')), ((5, 2), dtype('float64'))]
    >>> double = FunctionTransformer(lambda X: [2 * x for x in X])
    >>> embed(double, videos)[0]
    array([[2., 2.],
           [2., 2.],
           [2., 2.]])
    >>> embed("raw", videos)
    Traceback (most recent call last):
    ...
    TypeError: encoder 'raw' has no transform method, so it cannot embed videos; ...
    """
    passthrough = _is_passthrough(encoder)
    embedded = check_videos(videos if passthrough else _transform(encoder, videos), name=name)
    for k, e in enumerate(embedded):
        if e.ndim != 2:
            hint = " (pass an encoder, or flatten each frame)" if passthrough else ""
            raise ValueError(
                f"{name}[{k}] embeds to shape {e.shape}; per-frame embeddings must be "
                f"(T, D){hint}."
            )
    return [e.astype(np.float64, copy=False) for e in embedded]
