"""Realized performance: the record ``churn outcomes`` writes and ``/metrics`` and ``churn
monitor`` read.

Files (in the registry home, written by :func:`~churn.registry.atomic_io.atomic_write`, read
through :mod:`churn.registry.reading`'s rules: regular files, no symlinks, bounded):

* ``monitoring/labelled.parquet``: every prediction matched with its outcome so far (the log's
  columns plus ``churned`` and ``outcome_date``); a later outcome of the same customer on the
  same date replaces the earlier one. Kept here because the prediction log rotates.
* ``monitoring/realized.json``: :class:`RealizedRecord`, the metrics per ISO week of the score,
  per run, and per both, computed from all of ``labelled.parquet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from churn.errors import RegistryError
from churn.registry.atomic_io import atomic_write, to_json
from churn.registry.reading import MAX_RECORD_BYTES, parse_json, read_regular
from churn.registry.record import validation_problems
from churn.spec.evaluation import ValueThreshold

FOLDER: Final = "monitoring"
REALIZED: Final = "realized.json"
LABELLED: Final = "labelled.parquet"
REALIZED_METRICS: Final = ("precision", "recall", "roc_auc", "profit")
"""The realized metrics, in the order tables show them."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RealizedMetrics(_Frozen):
    """The predictions of one week and/or run whose outcome is known, and how they did."""

    week: str | None = Field(description="ISO week of the scores (2026-W49); None: all weeks.")
    run_id: str | None = Field(description="The run whose model scored; None: all runs.")
    rows: int = Field(ge=0, description="Predictions with a known outcome.")
    churned: int = Field(ge=0, description="Of them, customers who churned.")
    flagged: int = Field(ge=0, description="Of them, predicted to churn (will_churn).")
    true_positives: int = Field(ge=0, description="Flagged and churned.")
    precision: float | None = Field(description="TP / flagged; None when none was flagged.")
    recall: float | None = Field(description="TP / churned; None when none churned.")
    roc_auc: float | None = Field(description="Of the probabilities; None with one class only.")
    profit: float | None = Field(description="Per customer at the spec's costs; None without.")

    def metric(self, name: str) -> float | None:
        """One of :data:`REALIZED_METRICS` by name."""
        value = getattr(self, name)
        return None if value is None else float(value)


class RealizedRecord(_Frozen):
    """Everything ``churn outcomes`` computed, from every outcome recorded so far."""

    schema_version: Literal[1] = 1
    computed_at: datetime
    horizon_days: int = Field(ge=0, description="An outcome counts within this many days.")
    by_week: tuple[RealizedMetrics, ...] = Field(description="All runs, per week, oldest first.")
    by_run: tuple[RealizedMetrics, ...] = Field(description="All weeks, per run.")
    by_week_and_run: tuple[RealizedMetrics, ...] = Field(description="Per week and run.")

    @property
    def latest_week(self) -> RealizedMetrics | None:
        """The most recent week with outcomes (None: none yet)."""
        return self.by_week[-1] if self.by_week else None


def realized_path(home: Path) -> Path:
    """Where the realized-performance record of registry ``home`` lives."""
    return home / FOLDER / REALIZED


def write_realized(home: Path, record: RealizedRecord) -> Path:
    """Write ``record`` atomically (a reader sees the old file or the new one)."""
    text = to_json(record.model_dump(mode="json"), indent=2) + "\n"
    return atomic_write(realized_path(home), lambda handle: handle.write(text.encode()))


def read_realized(home: Path) -> RealizedRecord | None:
    """The realized-performance record (None when ``churn outcomes`` never ran).

    Raises:
        RegistryError: The file is not a regular file, too large, not JSON, or not a record
            (the message names the file and the fields).
    """
    path = realized_path(home)
    try:
        raw = read_regular(path, what="realized performance", limit=MAX_RECORD_BYTES)
    except FileNotFoundError:
        return None
    try:
        return RealizedRecord.model_validate(parse_json(raw, source=str(path)))
    except ValidationError as exc:
        raise RegistryError(f"{path}: not a realized-performance record: "
                            f"{validation_problems(exc)}") from None  # fmt: skip


def realized_metrics(
    week: str | None,
    run_id: str | None,
    churned: np.ndarray,
    proba: np.ndarray,
    flagged: np.ndarray,
    profit: float | None,
) -> RealizedMetrics:
    """The metrics of one group of matched predictions (``churned``, ``flagged``: bool)."""
    tp = int(np.count_nonzero(churned & flagged))
    positives, predicted = int(np.count_nonzero(churned)), int(np.count_nonzero(flagged))
    return RealizedMetrics(
        week=week,
        run_id=run_id,
        rows=len(churned),
        churned=positives,
        flagged=predicted,
        true_positives=tp,
        precision=tp / predicted if predicted else None,
        recall=tp / positives if positives else None,
        roc_auc=_roc_auc(churned, proba),
        profit=profit,
    )


def _roc_auc(churned: np.ndarray, proba: np.ndarray) -> float | None:
    """Mann-Whitney ROC-AUC (ties count half); None unless both classes are present."""
    positives = int(np.count_nonzero(churned))
    negatives = len(churned) - positives
    if not positives or not negatives:
        return None
    order = np.argsort(proba, kind="mergesort")
    ranks = np.empty(len(proba), dtype=np.float64)
    sorted_proba = proba[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_proba)) + 1]
    ends = np.r_[starts[1:], len(proba)]
    average = (starts + ends + 1) / 2  # 1-based mean rank of each tie group
    ranks[order] = np.repeat(average, ends - starts)
    u = ranks[churned].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def realized_reasons(home: Path, gates: Sequence[ValueThreshold]) -> list[str]:
    """Why realized performance asks for a retraining: each value gate with a lower bound on a
    realized metric that the latest week with outcomes fell below (``churn run --if-needed``).

    Raises:
        RegistryError: ``monitoring/realized.json`` is unreadable.
    """
    record = read_realized(home)
    latest = record.latest_week if record is not None else None
    if latest is None:
        return []
    reasons = []
    for gate in gates:
        value = latest.metric(gate.metric) if gate.metric in REALIZED_METRICS else None
        if value is not None and gate.lower is not None and value < gate.lower:
            reasons.append(
                f"realized {gate.metric} {value:.4f} in {latest.week} ({latest.rows:,} outcomes) "
                f"fell below the gate's lower bound {gate.lower:g}"
            )
    return reasons
