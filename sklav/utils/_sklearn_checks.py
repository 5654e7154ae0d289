"""scikit-learn's estimator checks, sorted for estimators on lists of videos.

Re-exported by :mod:`sklav.utils.estimator_checks`: the data-free checks
run as they are; every other one is skipped with its reason, usually the
name of its port to videos in that module.
"""

from functools import partial

from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
)

SKLEARN_DATA_FREE_CHECKS = (
    check_estimator_cloneable,
    check_estimator_tags_renamed,
    check_valid_tag_types,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_mixin_order,
    check_parameters_default_constructible,
    check_get_params_invariance,
    check_set_params,
    check_do_not_raise_errors_in_init_or_set_params,
)

_PORTS = "sklav.utils.estimator_checks"

#: scikit-learn checks that need 2-D (or 1-D, sparse) data: the port here, or why none.
SKLEARN_DATA_CHECKS = {
    "check_estimators_fit_returns_self": "check_fit_returns_self",
    "check_readonly_memmap_input": "check_readonly_memmap_input",
    "check_estimators_overwrite_params": "check_params_not_mutated",
    "check_dont_overwrite_parameters": "check_dont_overwrite_parameters",
    "check_estimators_unfitted": "check_not_fitted",
    "check_transformers_unfitted": "check_not_fitted",
    "check_fit_check_is_fitted": "check_not_fitted",
    "check_estimators_dtypes": "check_dtypes",
    "check_dtype_object": "check_dtypes",
    "check_complex_data": "check_dtypes",
    "check_estimators_nan_inf": "check_nan_inf",
    "check_estimators_pickle": "check_pickle",
    "check_methods_sample_order_invariance": "check_sample_order_invariance",
    "check_methods_subset_invariance": "check_subset_invariance",
    "check_fit_idempotent": "check_fit_idempotent",
    "check_transformer_general": "check_fit_transform",
    "check_estimators_empty_data_messages": "check_empty_data",
    "check_transformer_preserve_dtypes": "check_preserves_dtype",
    "check_dict_unchanged": "check_dict_unchanged",
    "check_fit_score_takes_y": "check_fit_takes_y",
    "check_requires_y_none": "check_requires_y",
    "check_n_features_in": "check_n_features_in",
    "check_n_features_in_after_fitting": "check_frame_shape_mismatch",
    "check_fit2d_1sample": "check_one_video",
    "check_fit2d_1feature": "check_one_video",
    "check_fit1d": "check_input_tags",
    "check_fit2d_predict1d": "check_input_tags",
    "check_estimator_sparse_tag": "check_input_tags",
    "check_positive_only_tag_during_fit": "check_input_tags",
    "check_transformer_data_not_an_array": "check_container_types",
    "check_classifier_data_not_an_array": "check_container_types",
    "check_regressor_data_not_an_array": "check_container_types",
    "check_f_contiguous_array_estimator": "check_container_types",
}
_NO_PORT = {
    "check_estimator_sparse_array": "a list of videos has no sparse form (check_input_tags: sparse refused)",
    "check_estimator_sparse_matrix": "a list of videos has no sparse form (check_input_tags: sparse refused)",
    "check_pipeline_consistency": "scores on 2-D data; check_fit_idempotent covers repeated fits",
    "check_transformer_n_iter": "no max_iter/n_iter_ parameters",
    "check_non_transformer_estimators_n_iter": "no max_iter/n_iter_ parameters",
    "check_array_api_input": "videos are numpy arrays or torch tensors, not array-API namespaces",
}

OUTPUT_METHODS = ("transform", "predict", "predict_proba", "decision_function", "score_samples", "deviation")


def sklearn_checks(estimator):
    """scikit-learn's checks for ``estimator``: ``(check name, check or None, reason)``.

    The checks are those scikit-learn would run if the estimator took 2-D
    arrays; a data-free one comes as a callable, any other as None with the
    reason it is skipped (the port here, see ``SKLEARN_DATA_CHECKS``).
    """
    name = type(estimator).__name__
    try:  # private: the checks scikit-learn would run on 2-D data
        from sklearn.utils.estimator_checks import _yield_all_checks
    except ImportError:  # pragma: no cover - a later scikit-learn
        checks = list(SKLEARN_DATA_FREE_CHECKS)
    else:
        checks = [check_estimator_cloneable, *_yield_all_checks(_as_if_two_d(estimator), legacy=True)]
    seen = set()
    for check in checks:
        check_name = _check_name(check)
        if check_name in seen:
            continue
        seen.add(check_name)
        if check_name in {_check_name(c) for c in SKLEARN_DATA_FREE_CHECKS}:
            yield check_name, partial(check, name, estimator), None
        elif check_name in SKLEARN_DATA_CHECKS:
            port = SKLEARN_DATA_CHECKS[check_name]
            yield check_name, None, f"feeds 2-D arrays; ported to videos as {_PORTS}.{port}"
        else:
            yield check_name, None, _NO_PORT.get(check_name, "feeds 2-D arrays; not ported yet")


def _check_name(check):
    while isinstance(check, partial):
        check = check.func
    return getattr(check, "__wrapped__", check).__name__


def _as_if_two_d(estimator):
    """An instance of a subclass whose tags claim 2-D input (to list sklearn's checks)."""
    cls = type(estimator)

    def tags(self):
        out = cls.__sklearn_tags__(self)
        out.input_tags.two_d_array = True
        return out

    return type(cls.__name__, (cls,), {"__sklearn_tags__": tags})(**estimator.get_params(deep=False))
