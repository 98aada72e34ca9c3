"""The spec's ``monitoring`` block: when drift warns or alerts, and how long a champion lives.

Defaults apply when the block is absent (PSI warns at 0.1 and alerts at 0.25, an unseen-category
rate over 1 % alerts, a null rate that moves by more than 0.1 alerts). ``columns`` overrides the
thresholds of one column; ``scores`` those of the model's scores. ``window`` and
``outcome_horizon_days`` are read by the serving monitor and ``churn outcomes``;
``max_champion_age_days`` by ``churn run --if-needed``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from pydantic import Field, model_validator

from churn.spec.base import StrictModel

if TYPE_CHECKING:
    from churn.spec.checks import Problem
    from churn.spec.model import Spec

DEFAULT_PSI_WARN = 0.1
DEFAULT_PSI_ALERT = 0.25


class Thresholds(NamedTuple):
    """The levels one column (or the scores) is judged by."""

    psi_warn: float
    psi_alert: float
    unseen_alert: float
    null_rate_alert: float


class ColumnMonitoring(StrictModel):
    """Thresholds for one column (or the scores); an unset one takes the block's value."""

    psi_warn: float | None = Field(default=None, ge=0, description="PSI at which it warns.")
    psi_alert: float | None = Field(default=None, ge=0, description="PSI at which it alerts.")
    unseen_alert: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of values never seen in training at which it alerts (categories).",
    )
    null_rate_alert: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Change of the null rate (absolute, versus training) at which it alerts.",
    )


class WindowSpec(StrictModel):
    """The sliding window of served records drift is computed over: records or seconds."""

    records: int | None = Field(
        default=None, ge=1, le=100_000_000, description="The last N records scored."
    )
    seconds: float | None = Field(
        default=None, gt=0, le=90 * 86_400, description="The records scored in the last N seconds."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> WindowSpec:
        if (self.records is None) == (self.seconds is None):
            raise ValueError("give exactly one of records or seconds, e.g. {records: 10000}")
        return self


class MonitoringSpec(StrictModel):
    """Drift thresholds, the serving window, the outcome horizon and the champion's age limit."""

    psi_warn: float = Field(
        default=DEFAULT_PSI_WARN, ge=0, description="PSI at which a column warns."
    )
    psi_alert: float = Field(
        default=DEFAULT_PSI_ALERT, ge=0, description="PSI at which a column alerts."
    )
    columns: dict[str, ColumnMonitoring] = Field(
        default_factory=dict, description="Thresholds of single columns, by column name."
    )
    scores: ColumnMonitoring = Field(
        default_factory=ColumnMonitoring,
        description="Thresholds of the model's scores (psi_warn, psi_alert).",
    )
    unseen_alert: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of a category column's values never seen in training that alerts.",
    )
    null_rate_alert: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Change of a column's null rate (absolute, versus training) that alerts.",
    )
    window: WindowSpec = Field(
        default_factory=lambda: WindowSpec(records=10_000),
        description="Serving: drift over the last {records: N} or the last {seconds: N}.",
    )
    outcome_horizon_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Outcomes count for a score when they arrive within this many days of it.",
    )
    max_champion_age_days: float = Field(
        default=7,
        gt=0,
        le=3650,
        description="`churn run --if-needed` retrains a champion older than this many days.",
    )

    @model_validator(mode="after")
    def _warn_below_alert(self) -> MonitoringSpec:
        entries: list[tuple[str, ColumnMonitoring | MonitoringSpec]] = [("", self)]
        entries += [(f"columns.{name}.", entry) for name, entry in self.columns.items()]
        entries.append(("scores.", self.scores))
        for name, levels in entries:
            warn, alert = self._levels(levels)
            if warn > alert:
                raise ValueError(f"{name}psi_warn must be <= psi_alert, got {warn} > {alert}")
        return self

    def _levels(self, entry: ColumnMonitoring | MonitoringSpec) -> tuple[float, float]:
        warn = self.psi_warn if entry.psi_warn is None else entry.psi_warn
        alert = self.psi_alert if entry.psi_alert is None else entry.psi_alert
        return warn, alert

    def thresholds(self, column: str | None) -> Thresholds:
        """The levels of ``column`` (None: the scores), overrides applied."""
        entry = self.scores if column is None else self.columns.get(column, ColumnMonitoring())
        warn, alert = self._levels(entry)
        return Thresholds(
            psi_warn=warn,
            psi_alert=alert,
            unseen_alert=self.unseen_alert if entry.unseen_alert is None else entry.unseen_alert,
            null_rate_alert=(
                self.null_rate_alert if entry.null_rate_alert is None else entry.null_rate_alert
            ),
        )


SCORE_LEVELS = ("psi_warn", "psi_alert")
"""The thresholds that apply to the model's scores (they have no nulls and no categories)."""


def monitoring_problems(spec: Spec) -> Iterator[Problem]:
    """``monitoring.columns`` entries that name no input column of the model, and
    ``monitoring.scores`` thresholds the scores are never judged by."""
    for name in ("unseen_alert", "null_rate_alert"):
        if getattr(spec.monitoring.scores, name) is not None:
            yield (
                ("monitoring", "scores", name),
                f"the scores are judged by {' and '.join(SCORE_LEVELS)} only (they have no "
                f"nulls and no categories); set {name} for the columns instead",
            )
    features = spec.feature_columns
    for name in spec.monitoring.columns:
        if name not in features:
            close = difflib.get_close_matches(name, features, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            yield (
                ("monitoring", "columns", name),
                f"expected a feature column of the spec {features}, got {name!r}{hint}",
            )
