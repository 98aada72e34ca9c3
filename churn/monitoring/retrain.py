"""Whether ``churn run --if-needed`` trains: the reasons to retrain, or none.

:func:`retrain_reasons` is the one place the conditions live: no champion, a champion older
than ``monitoring.max_champion_age_days``, training data that drifted past the alert level
(or a champion without a reference profile to tell), a realized metric of the latest week
below a value gate's lower bound. Add a condition by appending its reason.

Nothing happens at import time.
"""

from __future__ import annotations

from datetime import datetime

from churn.monitoring.realized import realized_reasons
from churn.registry import Registry
from churn.registry.record import TrainingDriftRecord
from churn.spec.model import Spec

SECONDS_PER_DAY = 86_400


def retrain_reasons(
    registry: Registry,
    spec: Spec,
    drift: TrainingDriftRecord | None,
    *,
    now: datetime,
) -> list[str]:
    """Why a run should train now; an empty list means it may be skipped.

    Args:
        registry: Where the champion is.
        spec: The spec (its ``monitoring`` block).
        drift: The new training data against the champion's profile
            (:func:`churn.monitoring.champion.training_drift`); None without a champion.
        now: The current time (aware).
    """
    champion = registry.champion()
    if champion is None:
        return ["there is no champion yet"]
    reasons = []
    age = champion_age_days(registry, champion.run_id, now)
    limit = spec.monitoring.max_champion_age_days
    if age is None:
        reasons.append(f"champion {champion.run_id} has no recorded training time")
    elif age > limit:
        reasons.append(f"champion {champion.run_id} is {age:.1f} days old (limit {limit:g})")
    if drift is not None and drift.status is None:
        reasons.append(f"champion {champion.run_id} has no reference profile to measure drift")
    elif drift is not None and drift.status == "alert":
        reasons.append(f"the training data drifted past the alert level: {', '.join(drift.alerts)}")
    reasons += realized_reasons(registry.home, spec.gates.value)  # churn outcomes (i23-serve)
    return reasons


def champion_age_days(registry: Registry, run_id: str, now: datetime) -> float | None:
    """Days since the champion's run trained (its end, else its start); None if unrecorded."""
    manifest = registry.record(run_id)
    trained = manifest.ended_at or manifest.started_at
    if trained is None:
        return None
    return (now - trained).total_seconds() / SECONDS_PER_DAY
