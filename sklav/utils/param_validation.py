"""Declarative parameter validation, scikit-learn's ``_parameter_constraints`` idiom.

Estimators list their parameters' constraints in a class attribute
``_parameter_constraints`` and call ``self._validate_params()`` at the top of
``fit``, as scikit-learn's own estimators do; torch modules and functions
call :func:`validate_params` with the same kind of dictionary. Messages are
scikit-learn's (:class:`InvalidParameterError`, both a ``ValueError`` and a
``TypeError``).

One rule set for the whole package: booleans are not numbers (``True`` is
not a number of epochs), NaN and infinities are outside every interval, and
strings are never coerced to numbers.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    HasMethods,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils._param_validation import Interval as _SklearnInterval

__all__ = [
    "Interval",
    "StrOptions",
    "Options",
    "HasMethods",
    "Device",
    "InvalidParameterError",
    "validate_params",
    "Integral",
    "Real",
]


class Interval(_SklearnInterval):
    """scikit-learn's ``Interval``, which also rejects booleans.

    Examples
    --------
    >>> from numbers import Real
    >>> from sklav.utils.param_validation import Interval
    >>> positive = Interval(Real, 0, None, closed="neither")
    >>> positive.is_satisfied_by(0.5), positive.is_satisfied_by(True)
    (True, False)
    >>> positive.is_satisfied_by(float("inf")), positive.is_satisfied_by(float("nan"))
    (False, False)
    """

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


class Device(Options):
    """A torch device: None, ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:N'``,
    ``'mps'`` or a :class:`torch.device`.

    Whether the device is present is checked when the model is built.
    (An ``Options`` subclass only because scikit-learn accepts no other
    custom constraint classes.)

    Examples
    --------
    >>> from sklav.utils.param_validation import Device
    >>> [Device().is_satisfied_by(d) for d in ("cuda:1", None, "tpu", "cpu:0")]
    [True, True, False, False]
    """

    _TYPES = ("cpu", "cuda", "mps")

    def __init__(self):
        super().__init__(object, set())

    def is_satisfied_by(self, val):
        if val is None or val == "auto":
            return True
        if type(val).__name__ == "device" and type(val).__module__ == "torch":
            return True
        if not isinstance(val, str):
            return False
        kind, _, index = val.partition(":")
        return kind in self._TYPES and (index == "" or (kind != "cpu" and index.isdigit()))

    def __str__(self):
        return "None, 'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device"


def validate_params(constraints, params, caller_name):
    """Check ``params`` (a dict) against ``constraints``; raise on the first violation.

    Parameters
    ----------
    constraints : dict
        Parameter name to a list of accepted constraints, as in
        scikit-learn's ``_parameter_constraints``.
    params : dict
        Parameter name to value; names absent from ``constraints`` are not
        checked.
    caller_name : str
        Named in the error message.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` and ``TypeError`` naming the parameter, what it
        accepts and what it got.

    Examples
    --------
    >>> from sklav.utils.param_validation import Interval, Real, validate_params
    >>> validate_params({"gamma": [Interval(Real, 0, None, closed="neither")]},
    ...                 {"gamma": "0.1"}, "soft_dtw")
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'gamma' parameter of soft_dtw must be a float in the range (0.0, inf). Got '0.1' instead.
    """
    validate_parameter_constraints(constraints, params, caller_name=caller_name)
