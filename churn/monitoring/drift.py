"""A batch compared with a run's reference profile: per column PSI, JS distance, unseen and
null rates, each judged ok / warn / alert by the spec's ``monitoring`` thresholds.

:func:`compare_counts` judges counts already made (a batch, or a serving window);
:func:`compare_frame` counts a DataFrame (and its scores) first. Both are pure.

A column alerts when its PSI reaches ``psi_alert``, when more than ``unseen_alert`` of its
values were never seen in training (categories), or when its null rate moved by more than
``null_rate_alert``; it warns when its PSI reaches ``psi_warn``. For categories the unseen
values count as one more bucket in PSI and JS distance.

Nothing happens at import time.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Final, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from churn.monitoring.divergence import js_distance, psi, with_unseen
from churn.monitoring.profile import (
    CategoryProfile,
    CurrentCounts,
    NumericProfile,
    ReferenceProfile,
    ScoreProfile,
    current_counts,
)
from churn.spec.monitoring import MonitoringSpec, Thresholds

Status = Literal["ok", "warn", "alert"]
SCORES: Final = "(scores)"
"""How the model's scores are named among the columns of a drift result."""
_RANK: Final[dict[Status, int]] = {"ok": 0, "warn": 1, "alert": 2}


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnDrift(_Result):
    """One column (or the scores) of a batch against the reference."""

    column: str
    kind: Literal["numeric", "category", "scores"]
    status: Status
    reasons: list[str]
    """Why it warns or alerts, in words (``PSI 0.31 >= 0.25``); empty when ok."""
    psi: float | None
    js_distance: float | None
    """Categories only."""
    unseen_rate: float
    null_rate_reference: float
    null_rate_current: float
    rows: int
    labels: list[str]
    """The buckets' names (``<= 18.25``, ``(18.25, 35.5]``, a category, ``(unseen)``)."""
    reference: list[float]
    """Share of the reference's non-null rows per bucket."""
    current: list[float]
    """Share of the batch's non-null rows per bucket."""


class DriftResult(_Result):
    """A batch against a run's profile: every column, the scores, and the worst status."""

    run_id: str
    rows: int
    status: Status
    alerts: list[str]
    """The columns that alert (``(scores)`` for the scores), in profile order."""
    warnings: list[str]
    columns: list[ColumnDrift]


def compare_counts(
    profile: ReferenceProfile,
    counts: Mapping[str, CurrentCounts],
    monitoring: MonitoringSpec,
    *,
    scores: CurrentCounts | None = None,
) -> DriftResult:
    """Judge counts made on ``profile``'s buckets (by column name; a column without counts is
    left out, and the scores when ``scores`` is None)."""
    judged = [
        judge_column(entry, counts[entry.column], monitoring.thresholds(entry.column))
        for entry in profile.columns
        if entry.column in counts
    ]
    if scores is not None:
        judged.append(judge_column(profile.scores, scores, monitoring.thresholds(None)))
    rows = max((entry.rows for entry in judged), default=0)
    worst = max((entry.status for entry in judged), key=_RANK.__getitem__, default="ok")
    return DriftResult(
        run_id=profile.run_id,
        rows=rows,
        status=worst,
        alerts=[entry.column for entry in judged if entry.status == "alert"],
        warnings=[entry.column for entry in judged if entry.status == "warn"],
        columns=judged,
    )


def compare_frame(
    profile: ReferenceProfile,
    frame: pd.DataFrame,
    monitoring: MonitoringSpec,
    *,
    scores: np.ndarray | None = None,
) -> DriftResult:
    """Count ``frame``'s profiled columns (those it has) and ``scores``, then judge them."""
    counts = frame_counts(profile, frame)
    scored = None if scores is None else current_counts(profile.scores, scores)
    return compare_counts(profile, counts, monitoring, scores=scored)


def frame_counts(profile: ReferenceProfile, frame: pd.DataFrame) -> dict[str, CurrentCounts]:
    """``frame``'s profiled columns (those it has), each counted on its reference buckets."""
    return {
        entry.column: current_counts(entry, frame[entry.column])
        for entry in profile.columns
        if entry.column in frame.columns
    }


def judge_column(
    reference: NumericProfile | CategoryProfile | ScoreProfile,
    current: CurrentCounts,
    levels: Thresholds,
) -> ColumnDrift:
    """One column's divergences and its status under ``levels``."""
    ref = np.asarray(reference.counts, dtype=np.int64)
    cur = current.counts
    if isinstance(reference, CategoryProfile):
        ref, cur = with_unseen(ref, cur, current.unseen)
        labels = [*reference.categories, "(unseen)"]
        kind: Literal["numeric", "category", "scores"] = "category"
        name, js = reference.column, js_distance(ref, cur)
    else:
        labels = bucket_labels(reference.edges)
        kind = "numeric" if isinstance(reference, NumericProfile) else "scores"
        name = reference.column if isinstance(reference, NumericProfile) else SCORES
        js = None
    value = psi(ref, cur)
    ref_nulls = reference.nulls if not isinstance(reference, ScoreProfile) else 0
    null_ref = _rate(ref_nulls, reference.rows)
    null_cur = _rate(current.nulls, current.rows)
    unseen = _rate(current.unseen, current.rows - current.nulls)
    status, reasons = _status(value, unseen, null_cur - null_ref, levels)
    return ColumnDrift(
        column=name,
        kind=kind,
        status=status,
        reasons=reasons,
        psi=None if np.isnan(value) else value,
        js_distance=None if js is None or np.isnan(js) else js,
        unseen_rate=unseen,
        null_rate_reference=null_ref,
        null_rate_current=null_cur,
        rows=current.rows,
        labels=labels,
        reference=_shares(ref),
        current=_shares(cur),
    )


def _status(
    psi_value: float, unseen: float, null_change: float, levels: Thresholds
) -> tuple[Status, list[str]]:
    alerts = []
    if psi_value >= levels.psi_alert:
        alerts.append(f"PSI {psi_value:.3f} >= {levels.psi_alert:g}")
    if unseen > levels.unseen_alert:
        alerts.append(f"unseen values {unseen:.1%} > {levels.unseen_alert:.1%}")
    if abs(null_change) > levels.null_rate_alert:
        alerts.append(
            f"null rate changed by {null_change:+.1%} (limit {levels.null_rate_alert:.1%})"
        )
    if alerts:
        return "alert", alerts
    if psi_value >= levels.psi_warn:
        return "warn", [f"PSI {psi_value:.3f} >= {levels.psi_warn:g}"]
    return "ok", []


def bucket_labels(edges: tuple[float, ...]) -> list[str]:
    """Names of the buckets of ``edges``: ``<= e0``, ``(e0, e1]``, ..., ``> en``."""
    if not edges:
        return ["all"]
    text = [f"{edge:.6g}" for edge in edges]
    middle = [f"({low}, {high}]" for low, high in itertools.pairwise(text)]
    return [f"<= {text[0]}", *middle, f"> {text[-1]}"]


def _rate(part: int, whole: int) -> float:
    return part / whole if whole > 0 else 0.0


def _shares(counts: np.ndarray) -> list[float]:
    total = int(counts.sum())
    return [float(count) / total if total else 0.0 for count in counts.tolist()]
