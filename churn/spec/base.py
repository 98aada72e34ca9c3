"""Shared vocabulary of the spec models: the strict base model, metrics, dtypes, kinds."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from churn.spec.no_bool_numbers import bool_number_errors

SPEC_VERSION = 1

Metric = Literal[
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
    "profit",
]
LOWER_IS_BETTER: frozenset[str] = frozenset({"brier", "log_loss"})
"""Metrics where a smaller value is better; every other metric is higher-is-better."""
COST_METRICS: frozenset[str] = frozenset({"profit"})
"""Metrics that need ``evaluation.costs`` (profit: expected gain per scored customer)."""

DEFAULT_METRICS: tuple[Metric, ...] = tuple(
    metric
    for metric in get_args(Metric)
    if metric not in {"balanced_accuracy", "log_loss", *COST_METRICS}
)
"""What a run reports unless the spec says otherwise: every metric but balanced accuracy, log
loss and the cost metrics, in the order of :data:`Metric`."""

DType = Literal["int", "float", "bool", "str", "category", "datetime"]
NUMERIC_DTYPES: frozenset[str] = frozenset({"int", "float", "bool"})

Kind = Literal["numeric", "categorical", "datetime"]
"""datetime columns feed only date features (``days_between``, ``days_since``)."""
Scalar = str | int | float | bool


def kind_of(dtype: str) -> Kind:
    """The kind of a column of ``dtype``: numeric, categorical or datetime."""
    if dtype == "datetime":
        return "datetime"
    return "numeric" if dtype in NUMERIC_DTYPES else "categorical"


class StrictModel(BaseModel):
    """Base of every spec model: immutable, and unknown keys are errors, not silently dropped.

    No number in a spec may be NaN or infinite (``.nan``, ``.inf``, ``1e309``): a gate bound of
    ``.nan`` would otherwise compare false both ways and pass anything.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: object) -> object:
        """``true``/``false`` where a number is meant is a mistake, not 1/0."""
        errors = bool_number_errors(cls, data)
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data
