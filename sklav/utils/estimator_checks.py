"""Estimator checks for ragged video inputs, in the spirit of scikit-learn's.

scikit-learn's checks feed 2-D arrays, which a video estimator rejects, and
``check_estimator`` skips every check of an estimator whose tags say so.
This module sorts scikit-learn's checks (:func:`sklearn_checks`): the
data-free ones run as they are, each of the others is skipped with its
reason, usually the name of its port here. The ports (:func:`video_checks`)
redo scikit-learn's data-dependent checks on lists of videos of different
lengths. They are generic over the kind of estimator, read from its
methods: a transformer (``transform``: one ``(T_i, D)`` array per video), a
per-frame classifier or regressor (``fit(X, y)`` with per-frame ``y``,
``predict``) and an aligner (``predict`` and ``deviation``). Each check is a
plain function ``check(name, estimator, X, y=None)`` raising
``AssertionError`` on failure.
"""

import inspect
import os
import pickle
import tempfile
from functools import partial

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from sklearn.utils.validation import check_is_fitted

from ._sklearn_checks import OUTPUT_METHODS, SKLEARN_DATA_CHECKS, SKLEARN_DATA_FREE_CHECKS, sklearn_checks

__all__ = [
    "OUTPUT_METHODS", "SKLEARN_DATA_CHECKS", "SKLEARN_DATA_FREE_CHECKS", "VIDEO_CHECKS",
    "sklearn_checks", "video_checks", "video_transformer_checks",
]

# --------------------------------------------------------------------------
# helpers


def _fit(estimator, X, y):
    return estimator.fit(X) if y is None else estimator.fit(X, y)


def _outputs(fitted, X):
    return {m: getattr(fitted, m)(X) for m in OUTPUT_METHODS if hasattr(fitted, m)}


def _assert_same(a, b, msg, exact=False):
    """Two ``{method: list of per-video arrays}`` agree."""
    assert a.keys() == b.keys(), msg
    for method in a:
        assert len(a[method]) == len(b[method]), f"{msg}: {method} gives another number of videos"
        for i, (x, y) in enumerate(zip(a[method], b[method])):
            x, y = np.asarray(x), np.asarray(y)
            where = f"{msg} ({method}, video {i})"
            if exact or not np.issubdtype(x.dtype, np.floating):
                np.testing.assert_array_equal(x, y, err_msg=where)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=where)


def _raises(errors, call, msg, match=None):
    try:
        call()
    except errors as err:
        if match is not None:
            assert any(word in str(err).lower() for word in match), f"{msg}: unclear error: {err}"
        return
    raise AssertionError(msg)


def _take(y, order):
    return None if y is None else [y[i] for i in order]


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


# --------------------------------------------------------------------------
# the checks


def check_clone(name, estimator, X, y=None):
    """A clone is a new, unfitted estimator with the same parameters."""
    fresh = clone(estimator)
    assert fresh is not estimator and type(fresh) is type(estimator), f"{name}: clone returned the original"
    same = joblib.hash(fresh.get_params()) == joblib.hash(estimator.get_params())
    assert same, f"{name}: the clone has other parameters"
    refitted = clone(_fit(clone(estimator), X, y))
    assert not _is_fitted(refitted), f"{name}: the clone of a fitted estimator is fitted"


def check_fit_returns_self(name, estimator, X, y=None):
    fresh = clone(estimator)
    assert _fit(fresh, X, y) is fresh, f"{name}.fit does not return self"


def check_input_not_mutated(name, estimator, X, y=None):
    """fit and the output methods leave the videos (and y) as they were."""
    copies = [np.array(v, copy=True) for v in X]
    fitted = _fit(clone(estimator), X, y)
    _outputs(fitted, X)
    for i, (video, copy) in enumerate(zip(X, copies)):
        np.testing.assert_array_equal(video, copy, err_msg=f"{name} modified X[{i}]")


def check_params_not_mutated(name, estimator, X, y=None):
    """fit changes no parameter value, nor any object passed as a parameter."""
    fresh = clone(estimator)
    before = {key: joblib.hash(value) for key, value in fresh.get_params().items()}
    _fit(fresh, X, y)
    after = {key: joblib.hash(value) for key, value in fresh.get_params().items()}
    changed = sorted(key for key in before if before[key] != after[key])
    assert not changed, f"{name}.fit changed the parameter(s) {changed}"


def check_dont_overwrite_parameters(name, estimator, X, y=None):
    """fit sets no public attribute but fitted ones (ending in ``_``)."""
    fresh = clone(estimator)
    before = dict(vars(fresh))
    _fit(fresh, X, y)
    public = [k for k in vars(fresh) if not k.startswith("_") and not k.endswith("_")]
    added = [k for k in public if k not in before]
    changed = [k for k in public if k in before and vars(fresh)[k] is not before[k]]
    assert not added and not changed, f"{name}.fit added {added} or replaced {changed}"


def check_not_fitted(name, estimator, X, y=None):
    """Before fit: check_is_fitted and every output method raise NotFittedError."""
    fresh = clone(estimator)
    _raises(NotFittedError, lambda: check_is_fitted(fresh), f"{name} passes check_is_fitted unfitted")
    for method in OUTPUT_METHODS:
        if hasattr(fresh, method):
            _raises(NotFittedError, lambda: getattr(fresh, method)(X),
                    f"{name}.{method} before fit did not raise NotFittedError")
    check_is_fitted(_fit(fresh, X, y))


def check_dtypes(name, estimator, X, y=None):
    """Float and integer videos work; object and complex ones get a clear error."""
    for dtype in (np.float32, np.float64, np.int32, np.int64):
        videos = [v.astype(dtype) for v in X]
        for method, values in _outputs(_fit(clone(estimator), videos, y), videos).items():
            numeric = [np.asarray(v) for v in values if np.asarray(v).dtype.kind in "fiu"]
            assert all(np.isfinite(v).all() for v in numeric), (
                f"{name}.{method} is not finite after fitting on {np.dtype(dtype).name} videos"
            )
    for bad in ([v.astype(str) for v in X], [v.astype(np.complex128) for v in X]):
        _raises((TypeError, ValueError), lambda: _fit(clone(estimator), bad, y),
                f"{name}.fit accepted {bad[0].dtype} videos", match=("dtype", "numeric", "complex"))


def check_nan_inf(name, estimator, X, y=None):
    """NaN and inf in a video raise ValueError in fit and in the output methods."""
    if get_tags(estimator).input_tags.allow_nan:
        return
    fitted = _fit(clone(estimator), X, y)
    for value in (np.nan, np.inf, -np.inf):
        bad = [np.array(v, dtype=np.float64) for v in X]
        bad[-1].flat[len(bad[-1].flat) // 2] = value
        _raises(ValueError, lambda: _fit(clone(estimator), bad, y), f"{name}.fit accepted {value}")
        for method in _outputs(fitted, X[:1]):
            _raises(ValueError, lambda: getattr(fitted, method)(bad), f"{name}.{method} accepted {value}")


def check_readonly_memmap_input(name, estimator, X, y=None):
    """Read-only memory-mapped videos (as joblib passes them) fit and give the same outputs."""
    reference = _outputs(_fit(clone(estimator), X, y), X)
    with tempfile.TemporaryDirectory() as folder:
        mapped = []
        for i, video in enumerate(X):
            np.save(os.path.join(folder, f"{i}.npy"), video)
            mapped.append(np.load(os.path.join(folder, f"{i}.npy"), mmap_mode="r"))
        fresh = clone(estimator)
        assert _fit(fresh, mapped, y) is fresh
        _assert_same(_outputs(fresh, mapped), reference, f"{name}: read-only memmap input differs")
        del mapped, fresh


def check_pickle(name, estimator, X, y=None):
    """pickle, and joblib's read-only memory-mapped load, keep the outputs."""
    fitted = _fit(clone(estimator), X, y)
    reference = _outputs(fitted, X)
    _assert_same(_outputs(pickle.loads(pickle.dumps(fitted)), X), reference,
                 f"{name}: pickle round trip changed the outputs", exact=True)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.joblib")
        joblib.dump(fitted, path)
        loaded = joblib.load(path, mmap_mode="r")
        _assert_same(_outputs(loaded, X), reference,
                     f"{name}: joblib memmap load changed the outputs", exact=True)
        del loaded


def check_sample_order_invariance(name, estimator, X, y=None):
    """The outputs of a video do not depend on the order of the videos."""
    fitted = _fit(clone(estimator), X, y)
    order = np.arange(len(X))[::-1]
    reversed_out = _outputs(fitted, [X[i] for i in order])
    back = {m: [values[j] for j in np.argsort(order)] for m, values in reversed_out.items()}
    _assert_same(back, _outputs(fitted, X), f"{name}: outputs depend on the order of the videos")


def check_subset_invariance(name, estimator, X, y=None):
    """The outputs of a video do not depend on the other videos passed with it."""
    fitted = _fit(clone(estimator), X, y)
    reference = _outputs(fitted, X)
    for i in range(len(X)):
        alone = _outputs(fitted, X[i : i + 1])
        _assert_same(alone, {m: v[i : i + 1] for m, v in reference.items()},
                     f"{name}: outputs of video {i} depend on the other videos")


def check_fit_idempotent(name, estimator, X, y=None):
    """Fitting twice gives the outputs of fitting once."""
    fresh = clone(estimator)
    first = _outputs(_fit(fresh, X, y), X)
    _assert_same(_outputs(_fit(fresh, X, y), X), first, f"{name}: a second fit changed the outputs")


def check_fit_transform(name, estimator, X, y=None):
    """``fit_transform(X)`` equals ``fit(X).transform(X)``."""
    if not hasattr(estimator, "fit_transform"):
        return
    together = clone(estimator).fit_transform(X) if y is None else clone(estimator).fit_transform(X, y)
    apart = _fit(clone(estimator), X, y).transform(X)
    _assert_same({"transform": together}, {"transform": apart}, f"{name}: fit_transform != fit().transform")


def check_empty_data(name, estimator, X, y=None):
    """No videos, a video of no frames, frames of no features: a ValueError."""
    empty_video = [np.zeros((0, *X[0].shape[1:]), dtype=X[0].dtype)] + list(X[1:])
    no_features = [np.zeros((len(v), 0), dtype=v.dtype) for v in X]
    labels = None if y is None else [np.asarray(y[0])[:0]] + list(y[1:])
    for data, target, what in ((X[:0], _take(y, []), "no videos"), (empty_video, labels, "a 0-frame video"),
                               (no_features, y, "0 features per frame")):
        _raises(ValueError, lambda: _fit(clone(estimator), data, target), f"{name}.fit accepted {what}")


def check_preserves_dtype(name, estimator, X, y=None):
    """``transform`` returns the dtypes the tags say it preserves."""
    tags = get_tags(estimator).transformer_tags
    if tags is None or not hasattr(estimator, "transform"):
        return
    for dtype in tags.preserves_dtype:
        videos = [v.astype(dtype) for v in X]
        out = _fit(clone(estimator), videos, y).transform(videos)
        assert all(e.dtype == np.dtype(dtype) for e in out), (
            f"{name}: tags say transform preserves {dtype}, but it returns {out[0].dtype}"
        )


def check_dict_unchanged(name, estimator, X, y=None):
    """The output methods leave ``__dict__`` as fit left it."""
    fitted = _fit(clone(estimator), X, y)
    for method in OUTPUT_METHODS:
        if hasattr(fitted, method):
            before = dict(vars(fitted))
            getattr(fitted, method)(X)
            assert vars(fitted) == before, f"{name}.{method} changed __dict__"


def check_fit_takes_y(name, estimator, X, y=None):
    """fit (and score, fit_transform) take ``y`` second, as pipelines pass it."""
    for method in ("fit", "score", "fit_transform", "fit_predict"):
        if hasattr(estimator, method):
            params = list(inspect.signature(getattr(estimator, method)).parameters)
            assert params[:2] == ["X", "y"], f"{name}.{method} takes {params[:2]}, not (X, y)"


def check_requires_y(name, estimator, X, y=None):
    """An estimator whose tags require y says so when it is missing."""
    if get_tags(estimator).target_tags.required:
        _raises(ValueError, lambda: clone(estimator).fit(X, None), f"{name}.fit accepted y=None",
                match=("y",))


def check_n_features_in(name, estimator, X, y=None):
    fitted = _fit(clone(estimator), X, y)
    if X[0].ndim == 2 and hasattr(fitted, "n_features_in_"):
        assert fitted.n_features_in_ == X[0].shape[1], f"{name}.n_features_in_ is wrong"


def check_one_video(name, estimator, X, y=None):
    """One frame per video, one feature per frame: a fit or a clear ValueError."""
    for data in ([v[:1] for v in X], [v[:, :1] for v in X]):
        labels = None if y is None else [np.asarray(t)[: len(v)] for t, v in zip(y, data)]
        try:
            _outputs(_fit(clone(estimator), data, labels), data)
        except ValueError:
            pass


def check_input_tags(name, estimator, X, y=None):
    """What the input tags say: 2-D and 1-D arrays and sparse matrices are refused
    when the tags say so, a stacked 3-D array of videos is taken when they say so."""
    tags = get_tags(estimator).input_tags
    video = np.asarray(X[0])
    target = None if y is None else np.asarray(y[0])
    refused = [("2-D", video)] * (not tags.two_d_array) + [("1-D", video[:, 0])] * (not tags.one_d_array)
    refused += [("sparse", sparse.csr_matrix(video.reshape(len(video), -1)))] * (not tags.sparse)
    for what, data in refused:
        _raises((ValueError, TypeError), lambda: _fit(clone(estimator), data, target),
                f"{name}.fit accepted a {what} array as X, against its tags")
    if tags.three_d_array and X[0].ndim == 2:
        T = min(len(v) for v in X)
        labels = None if y is None else [np.asarray(t)[:T] for t in y]
        _fit(clone(estimator), np.stack([v[:T] for v in X]), labels)


def check_container_types(name, estimator, X, y=None):
    """A list, a tuple and a 1-D object array of the same videos agree."""
    fitted = _fit(clone(estimator), X, y)
    reference = _outputs(fitted, X)
    as_object = np.empty(len(X), dtype=object)
    as_object[:] = list(X)
    for container in (tuple(X), as_object, [np.asfortranarray(v) for v in X]):
        kind = type(container).__name__
        _assert_same(_outputs(fitted, container), reference, f"{name}: {kind} input differs")
        _assert_same(_outputs(_fit(clone(estimator), container, y), X), reference,
                     f"{name}: fitting on a {kind} differs")


def check_frame_shape_mismatch(name, estimator, X, y=None):
    """Videos of another per-frame shape than in fit give a clear ValueError."""
    fitted = _fit(clone(estimator), X, y)
    other = [np.concatenate([v, v[..., :1]], axis=-1) for v in X]
    for method in _outputs(fitted, X[:1]):
        _raises(ValueError, lambda: getattr(fitted, method)(other),
                f"{name}.{method} accepted videos of another per-frame shape", match=("shape", "features"))


def check_random_state_determinism(name, estimator, X, y=None):
    if "random_state" not in estimator.get_params():
        return
    first = _outputs(_fit(clone(estimator).set_params(random_state=0), X, y), X)
    second = _outputs(_fit(clone(estimator).set_params(random_state=0), X, y), X)
    _assert_same(first, second, f"{name}: same random_state, different results", exact=True)


VIDEO_CHECKS = (
    check_clone, check_fit_returns_self, check_input_not_mutated, check_params_not_mutated,
    check_dont_overwrite_parameters, check_not_fitted, check_dtypes, check_nan_inf,
    check_readonly_memmap_input, check_pickle, check_sample_order_invariance,
    check_subset_invariance, check_fit_idempotent, check_fit_transform, check_empty_data,
    check_preserves_dtype, check_dict_unchanged, check_fit_takes_y, check_requires_y,
    check_n_features_in, check_one_video, check_input_tags, check_container_types,
    check_frame_shape_mismatch, check_random_state_determinism,
)


def video_checks(estimator, X, y=None):
    """Yield ``(estimator, check)``: the ports of scikit-learn's data checks.

    Parameters
    ----------
    estimator : estimator taking a list of videos
    X : list of ndarray
        Small videos of different lengths (at least 2) to run the checks on.
    y : list of ndarray, optional
        Per-frame targets, for estimators that need them.
    """
    name = type(estimator).__name__
    for check in VIDEO_CHECKS:
        yield estimator, partial(check, name, estimator, X, y)


def video_transformer_checks(estimator, videos):
    """Yield ``(estimator, check)``: a few of sklearn's data-free checks, then
    the ragged-input checks this module started with (kept for existing callers;
    ``tests/test_common.py`` runs :func:`sklearn_checks` and :func:`video_checks`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklav import LAVEncoder
    >>> from sklav.utils.estimator_checks import video_transformer_checks
    >>> checks = video_transformer_checks(LAVEncoder(), [np.zeros((5, 2))])
    >>> len(list(checks))
    11
    """
    name = type(estimator).__name__
    for check in (check_no_attributes_set_in_init, check_parameters_default_constructible,
                  check_get_params_invariance, check_set_params):
        yield estimator, partial(check, name, estimator)
    for check in (check_clone, check_not_fitted, check_container_types, check_subset_invariance,
                  check_frame_shape_mismatch, check_random_state_determinism, check_pickle):
        yield estimator, partial(check, name, estimator, videos)
