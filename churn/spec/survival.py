"""The survival target: how long a customer stayed (the duration) and whether that stay ended.

``data.target: {kind: survival, duration: tenure, event: Churn, event_value: "Yes", unit: month,
horizons: [3, 6, 12]}`` turns a spec into a time-to-churn spec: its candidates are survival
models and its metrics, selection metric and gates are survival metrics
(:data:`SURVIVAL_METRIC_PATTERN`). A target without ``kind`` is the classifier target, so every
existing spec still loads.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from churn.spec.base import LOWER_IS_BETTER, Scalar, StrictModel
from churn.survival.names import horizon_label

SurvivalMetric = Annotated[
    str,
    StringConstraints(
        pattern=r"^(harrell_c|uno_c|ibs|ibs_km|ibs_ratio|td_auc_[0-9.]+|calibration_error_[0-9.]+)$"
    ),
]
"""A survival metric: harrell_c, uno_c (higher is better); ibs, ibs_km, ibs_ratio (lower);
td_auc_<h> (higher) and calibration_error_<h> (lower) at a declared horizon h."""

SURVIVAL_METRIC_PATTERN = re.compile(
    r"^(harrell_c|uno_c|ibs|ibs_km|ibs_ratio)$|^(td_auc|calibration_error)_([0-9.]+)$"
)
HORIZON_METRIC_PREFIXES = ("td_auc", "calibration_error")
"""Metrics computed at each horizon, named ``<prefix>_<horizon>``."""
SURVIVAL_LOWER_IS_BETTER = frozenset({"ibs", "ibs_km", "ibs_ratio"})
"""Survival metrics where smaller is better, besides every ``calibration_error_<h>``."""
DEFAULT_SURVIVAL_SELECTION = "harrell_c"
PLAIN_LABEL = re.compile(r"[0-9.]+")
"""How a horizon's label looks in metric names (no sign, no exponent)."""

SURVIVAL_MODEL_TYPES: tuple[str, ...] = (
    "cox",
    "xgb_cox",
    "xgb_aft",
    "gradient_boosting_survival",
    "random_survival_forest",
)
"""Model types (``models[].type``) that fit a survival outcome; the others fit a class label."""
SURVIVAL_ENSEMBLE_TYPES: tuple[str, ...] = ("survival_average",)
"""Ensemble types (``models[].type``) over survival candidates; the others combine classifiers."""


def is_survival_metric(metric: str) -> bool:
    """Whether ``metric`` is a survival metric name (its horizon not checked)."""
    return SURVIVAL_METRIC_PATTERN.match(metric) is not None


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` (a classifier or a survival metric) is better."""
    return (
        metric in LOWER_IS_BETTER
        or metric in SURVIVAL_LOWER_IS_BETTER
        or metric.startswith("calibration_error_")
    )


class SurvivalTargetSpec(StrictModel):
    """Time to churn: the observed duration, and whether it ended in churn or is still going."""

    kind: Literal["survival"] = Field(description="Discriminator: a time-to-churn target.")
    duration: str = Field(
        description="Numeric column: how long the customer has been observed (never a feature)."
    )
    event: str = Field(description="Column saying whether the observed stay ended in churn.")
    event_value: Scalar = Field(
        description="The event column's value meaning churned; every other value is censored."
    )
    unit: Literal["day", "week", "month", "year"] = Field(
        description="The duration's unit, for reports and serving."
    )
    horizons: list[Annotated[float, Field(gt=0)]] = Field(
        min_length=1,
        max_length=12,
        description="Times (in unit) at which P(churn by then) is served and AUC/calibration "
        "are measured; positive and increasing.",
    )

    @field_validator("horizons")
    @classmethod
    def _increasing(cls, horizons: list[float]) -> list[float]:
        for before, after in itertools.pairwise(horizons):
            if after <= before:
                raise ValueError(f"horizons must increase, got {after:g} after {before:g}")
        for horizon in horizons:
            if not PLAIN_LABEL.fullmatch(horizon_label(horizon)):
                raise ValueError(
                    f"a horizon names metrics and columns at 6 significant digits, so it lies "
                    f"in [0.0001, 999999], got {horizon!r}"
                )
        for before, after in itertools.pairwise(horizons):
            if horizon_label(before) == horizon_label(after):
                raise ValueError(
                    f"horizons {before!r} and {after!r} are both named {horizon_label(after)} "
                    "(6 significant digits); make them differ there"
                )
        return horizons

    @property
    def column(self) -> str:
        """The event column: what a classifier would call the label (stratification, EDA)."""
        return self.event

    @property
    def positive(self) -> Scalar:
        """The event value: the label's positive class for the parts shared with classifiers."""
        return self.event_value

    @staticmethod
    def metrics_at(horizons: list[float]) -> list[str]:
        """Every survival metric, the horizon ones at each of ``horizons``."""
        fixed = ["harrell_c", "uno_c", "ibs", "ibs_km", "ibs_ratio"]
        return fixed + [
            f"{prefix}_{horizon_label(h)}" for prefix in HORIZON_METRIC_PREFIXES for h in horizons
        ]


def plain_horizons(raw: object) -> list[float]:
    """``raw`` (a spec's ``horizons`` before validation) as numbers, as the target will read
    them (``'6'`` is 6), when each is a positive horizon named plainly; else [] (so a survival
    spec's default metrics never repeat the horizons' own error)."""
    if not isinstance(raw, list) or any(isinstance(h, bool) for h in raw):
        return []
    try:
        horizons = [float(h) for h in raw]
    except (TypeError, ValueError):
        return []
    plain = all(h > 0 and PLAIN_LABEL.fullmatch(horizon_label(h)) for h in horizons)
    return horizons if plain else []
