"""Estimator checks for ragged video inputs, in the spirit of sklearn's.

scikit-learn's ``check_estimator`` feeds 2-D arrays, which a video estimator
cannot take. :func:`check_video_transformer` runs scikit-learn's data-free
checks and then checks of our own on lists of videos of different lengths.
Each check is a plain function ``check(name, estimator, videos)`` and raises
``AssertionError`` on failure.
"""

import pickle
from functools import partial

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

SKLEARN_DATA_FREE_CHECKS = (
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_get_params_invariance,
    check_set_params,
)


def _assert_same_embeddings(a, b, msg):
    assert len(a) == len(b), msg
    for i, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=f"{msg} (video {i})")


def check_clone(name, estimator, videos):
    clone(estimator)


def check_container_types(name, estimator, videos):
    """A list, a tuple and a 1-D object array of the same videos agree."""
    fitted = clone(estimator).fit(videos)
    reference = fitted.transform(videos)
    as_object = np.empty(len(videos), dtype=object)
    as_object[:] = videos
    for container in (tuple(videos), as_object):
        _assert_same_embeddings(
            fitted.transform(container), reference, f"{name}: {type(container).__name__} input differs"
        )
        _assert_same_embeddings(
            clone(estimator).fit(container).transform(videos), reference,
            f"{name}: fitting on a {type(container).__name__} differs",
        )


def check_transform_order_invariance(name, estimator, videos):
    """A video's embedding does not depend on the other videos or their order."""
    fitted = clone(estimator).fit(videos)
    reference = fitted.transform(videos)
    order = np.arange(len(videos))[::-1]
    reversed_out = fitted.transform([videos[i] for i in order])
    _assert_same_embeddings([reversed_out[j] for j in np.argsort(order)], reference,
                            f"{name}: transform depends on the order of videos")
    _assert_same_embeddings(fitted.transform(videos[:1]), reference[:1],
                            f"{name}: transform depends on the other videos")


def check_not_fitted(name, estimator, videos):
    try:
        clone(estimator).transform(videos)
    except NotFittedError:
        return
    raise AssertionError(f"{name}.transform before fit did not raise NotFittedError")


def check_frame_shape_mismatch(name, estimator, videos):
    fitted = clone(estimator).fit(videos)
    other = [np.concatenate([v, v[..., :1]], axis=-1) for v in videos]
    try:
        fitted.transform(other)
    except ValueError as err:
        assert "per-frame shape" in str(err), f"{name}: unclear error: {err}"
        return
    raise AssertionError(f"{name}.transform accepted videos of another per-frame shape")


def check_random_state_determinism(name, estimator, videos):
    first = clone(estimator).set_params(random_state=0).fit(videos).transform(videos)
    second = clone(estimator).set_params(random_state=0).fit(videos).transform(videos)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: same random_state, different results")


def check_pickle_roundtrip(name, estimator, videos):
    fitted = clone(estimator).fit(videos)
    restored = pickle.loads(pickle.dumps(fitted))
    for a, b in zip(fitted.transform(videos), restored.transform(videos)):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: pickle round trip changed transform")


RAGGED_CHECKS = (
    check_clone,
    check_not_fitted,
    check_container_types,
    check_transform_order_invariance,
    check_frame_shape_mismatch,
    check_random_state_determinism,
    check_pickle_roundtrip,
)


def video_transformer_checks(estimator, videos):
    """Yield ``(estimator, check)`` pairs: sklearn's data-free checks, then ours.

    Parameters
    ----------
    estimator : estimator with fit/transform on lists of videos
    videos : list of ndarray
        Small videos of different lengths to run the checks on.

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
    for check in SKLEARN_DATA_FREE_CHECKS:
        yield estimator, partial(check, name, estimator)
    for check in RAGGED_CHECKS:
        yield estimator, partial(check, name, estimator, videos)
