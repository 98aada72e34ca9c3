"""The estimator types a spec may name: their classes, churn's defaults and parameter checks.

The spec loader checks each candidate's ``params`` here, with the estimator's own constraints,
so a bad value is reported with its line before anything trains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from xgboost import XGBClassifier, XGBModel

from churn.explain.linear import CentredLogisticRegression
from churn.private_apis import declares_parameter_constraints, validate_estimator_params
from churn.spec.candidates import EnsembleSpec
from churn.spec.evaluation import ModelSpec
from churn.spec.xgboost_params import booster_problems, validate_wrapper_params


@dataclass(frozen=True)
class EstimatorKind:
    """How to build one kind of estimator."""

    factory: Callable[..., Any]
    seed_param: str | None
    """Keyword that takes the spec's seed, when the estimator is random."""
    balance: Callable[[ModelSpec], dict[str, Any]]
    """Keyword arguments that implement ``class_balance: balanced`` without data."""
    defaults: dict[str, Any]
    """Defaults that differ from the estimator's own (documented in the spec reference)."""


def _class_weight(spec: ModelSpec) -> dict[str, Any]:
    return {"class_weight": "balanced"} if spec.class_balance == "balanced" else {}


def _no_weight(spec: ModelSpec) -> dict[str, Any]:
    return {}


def _survival(type_name: str) -> Callable[..., Any]:
    """The estimator class of a survival type, imported on first use: scikit-survival loads
    only in a process that builds or checks a survival candidate."""

    def build(**params: Any) -> Any:
        from churn.survival.estimators import SURVIVAL_MODELS

        return SURVIVAL_MODELS[type_name](**params)

    build.__name__ = build.__qualname__ = f"survival_{type_name}"
    return build


_XGB_DEFAULTS: dict[str, Any] = {"n_jobs": 1, "tree_method": "hist"}


MODEL_REGISTRY: dict[str, EstimatorKind] = {
    "logistic_regression": EstimatorKind(
        CentredLogisticRegression, "random_state", _class_weight, {"max_iter": 1000}
    ),
    "random_forest": EstimatorKind(RandomForestClassifier, "random_state", _class_weight, {}),
    "extra_trees": EstimatorKind(ExtraTreesClassifier, "random_state", _class_weight, {}),
    "hist_gradient_boosting": EstimatorKind(
        HistGradientBoostingClassifier, "random_state", _class_weight, {}
    ),
    # scale_pos_weight needs the training labels: see data_dependent_params().
    "xgboost": EstimatorKind(
        XGBClassifier,
        "random_state",
        _no_weight,
        {"n_jobs": 1, "eval_metric": "logloss", "tree_method": "hist"},
    ),
    "dummy": EstimatorKind(DummyClassifier, "random_state", _no_weight, {"strategy": "prior"}),
    # survival models (issue 25; churn.survival.estimators): a survival target only
    "cox": EstimatorKind(_survival("cox"), None, _no_weight, {}),
    "xgb_cox": EstimatorKind(_survival("xgb_cox"), "random_state", _no_weight, _XGB_DEFAULTS),
    "xgb_aft": EstimatorKind(_survival("xgb_aft"), "random_state", _no_weight, _XGB_DEFAULTS),
    "gradient_boosting_survival": EstimatorKind(
        _survival("gradient_boosting_survival"), "random_state", _no_weight, {}
    ),
    "random_survival_forest": EstimatorKind(
        _survival("random_survival_forest"), "random_state", _no_weight, {"n_jobs": 1}
    ),
}


def param_problems(spec: ModelSpec | EnsembleSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Unknown parameter names and invalid values, per param.

    scikit-learn models are checked by their ``_parameter_constraints`` (see
    :mod:`churn.private_apis`); XGBoost by
    :mod:`churn.spec.xgboost_params` (a declared table, then one round on two rows). Ensembles
    have no params of their own; their members are checked in :mod:`churn.spec.checks`.
    """
    if isinstance(spec, EnsembleSpec):
        return []
    kind = MODEL_REGISTRY.get(spec.type)
    if kind is None:
        return [(("type",), f"no estimator is registered for type {spec.type!r}")]
    valid = _valid_param_names(kind.factory)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    expected = ", ".join(sorted(valid))
    for name in spec.params:
        if name not in valid:
            message = f"unknown parameter for {spec.type}; expected one of {expected}"
            problems.append((("params", name), message))
    if problems:
        return problems
    estimator = kind.factory(**{**kind.defaults, **spec.params})
    validate: Callable[[], None] | None = None
    if isinstance(estimator, XGBModel):
        validate = partial(validate_wrapper_params, estimator)
    elif declares_parameter_constraints(estimator):
        validate = partial(validate_estimator_params, estimator)
    if validate is not None:
        try:
            validate()
        except (ValueError, TypeError) as exc:  # sklearn InvalidParameterError is both
            param = _param_named_in(str(exc), spec.params)
            problems.append((_params_loc(param), _short_sklearn_message(str(exc))))
    if isinstance(estimator, XGBModel) and not problems:
        problems += [(_params_loc(p), m) for p, m in booster_problems(estimator, spec.params)]
    return problems


def _params_loc(param: str | None) -> tuple[str | int, ...]:
    return ("params", param) if param else ("params",)


def _valid_param_names(factory: Callable[..., Any]) -> set[str]:
    names = set(factory().get_params(deep=False))
    if factory is XGBClassifier:
        # XGBoost accepts its native parameters as keyword arguments too.
        names |= {"eval_metric", "early_stopping_rounds", "tree_method", "max_bin", "device"}
    return names


def _param_named_in(message: str, params: dict[str, Any]) -> str | None:
    for name in params:
        if f"'{name}'" in message:
            return name
    return None


def _short_sklearn_message(message: str) -> str:
    # "The 'max_depth' parameter of RandomForestClassifier must be ... Got -1 instead."
    text = message.split(" parameter of ", 1)[-1]
    _, _, rest = text.partition(" ")
    expected, _, got_part = rest.partition(" Got ")
    got = got_part.rstrip(".").removesuffix(" instead")
    return f"{expected.rstrip('.')}, got {got}" if got else message
