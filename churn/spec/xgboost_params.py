"""XGBoost's parameter check, at spec load: XGBoost has no ``_parameter_constraints``.

The booster's own checks run when it trains, so the cheapest real check is to train one round
on a two-row ``DMatrix`` with the candidate's booster parameters (about 1 ms; ``xgboost.train``
would add tens of ms of set-up) and word XGBoost's error. The few parameters only the
scikit-learn wrapper reads are checked against a declared table with scikit-learn's checker.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Final

import numpy as np
import xgboost

from churn.private_apis import check_constraints, whole_number_at_least

WRAPPER_CONSTRAINTS: Final[dict[str, list[Any]]] = {
    "n_estimators": [whole_number_at_least(1), None],
    "early_stopping_rounds": [whole_number_at_least(1), None],
    "enable_categorical": ["boolean"],
}
"""Parameters the wrapper reads itself (the booster never sees them)."""

ALIASES: Final = {"min_split_loss": "gamma", "eta": "learning_rate", "lambda": "reg_lambda"}
"""XGBoost's internal names of wrapper parameters, as its messages use them."""

_PREFIX = re.compile(r"^\[[\d:]+\] \S+?:\d+: ")
"""``[06:13:28] /workspace/src/gbm/gbm.cc:24: `` before a message from XGBoost's C++ code."""


def validate_wrapper_params(estimator: xgboost.XGBModel) -> None:
    """Check the parameters only the wrapper reads, worded as scikit-learn words its own.

    Raises:
        InvalidParameterError: One is out of range or of the wrong type.
    """
    values = estimator.get_params()
    check_constraints(
        WRAPPER_CONSTRAINTS,
        {name: values[name] for name in WRAPPER_CONSTRAINTS},
        caller_name=type(estimator).__name__,
    )


def booster_problems(
    estimator: xgboost.XGBModel, params: dict[str, Any]
) -> list[tuple[str | None, str]]:
    """``(param or None, message)`` when XGBoost refuses the booster parameters.

    Args:
        estimator: The candidate, built with churn's defaults and the spec's ``params``.
        params: The spec's ``params`` (the message is attached to the one it names).
    """
    booster_params = {**estimator.get_xgb_params(), "nthread": 1, "verbosity": 0}
    booster_params.pop("n_jobs", None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tiny = xgboost.DMatrix(np.array([[0.0], [1.0]]), label=np.array([0.0, 1.0]), nthread=1)
            if booster_params.get("objective") == "survival:aft":  # interval labels: 1, 1+
                tiny.set_float_info("label_lower_bound", np.array([1.0, 1.0]))
                tiny.set_float_info("label_upper_bound", np.array([1.0, np.inf]))
            xgboost.Booster(booster_params, [tiny]).update(tiny, 0)  # one round: checks all
    except (xgboost.core.XGBoostError, ValueError, TypeError) as exc:
        message = _first_line(str(exc))
        return [(_named(message, params), f"XGBoost refuses it: {message}")]
    return []


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "invalid parameters"
    return _PREFIX.sub("", line)


def _named(message: str, params: dict[str, Any]) -> str | None:
    """The spec parameter a message is about: by name, by XGBoost's alias, else by value."""
    words = set(re.findall(r"[A-Za-z_]+", message))
    for name in params:
        if name in words:
            return name
    for alias, name in ALIASES.items():
        if alias in words and name in params:
            return name
    for name, value in params.items():
        if isinstance(value, str) and value and value in message:
            return name
    return None
