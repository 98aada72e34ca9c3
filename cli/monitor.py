"""``churn monitor``: realized performance over time and drift, as text, JSON or HTML."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from churn.monitoring.realized import RealizedMetrics, RealizedRecord


def realized_table(record: RealizedRecord) -> str:
    """One line per ISO week (all runs), then per run."""
    from churn.monitoring.realized import REALIZED_METRICS

    header = f"{'week':<9} {'run':<24} {'rows':>8} {'churned':>8} {'flagged':>8} " + " ".join(
        f"{name:>9}" for name in REALIZED_METRICS
    )
    rows = [header]
    for entry in (*record.by_week, *record.by_run):
        rows.append(_row(entry))
    if len(rows) == 1:
        rows.append("(no outcome matched a prediction yet)")
    return "\n".join(rows)


def _row(entry: RealizedMetrics) -> str:
    from churn.monitoring.realized import REALIZED_METRICS

    values = " ".join(_number(entry.metric(name)) for name in REALIZED_METRICS)
    return (
        f"{entry.week or 'all':<9} {entry.run_id or 'all':<24} {entry.rows:>8,} "
        f"{entry.churned:>8,} {entry.flagged:>8,} {values}"
    )


def _number(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.4f}"
