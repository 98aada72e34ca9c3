"""Drift of new training data against the current champion's reference profile.

``churn run`` records it in ``run.json`` (``training_drift``) and the report; ``churn run
--if-needed`` reads it to decide whether to train (:mod:`churn.monitoring.retrain`).

Nothing happens at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from churn.monitoring.profile import ProfileNotFound, ReferenceProfile, read_profile
from churn.registry import Registry
from churn.registry.record import TrainingDriftRecord

if TYPE_CHECKING:  # run_profile is read without pandas (churn drift's model process)
    import pandas as pd

    from churn.monitoring.drift import DriftResult
    from churn.spec.model import Spec


def run_profile(registry: Registry, run_id: str, *, with_scorer: bool = True) -> ReferenceProfile:
    """Run ``run_id``'s reference profile, verified against the hash its run.json recorded
    (``with_scorer=False``: without its compiled model, see
    :func:`~churn.monitoring.profile.read_profile`).

    Raises:
        ProfileNotFound: The run recorded no profile (trained before churn recorded them).
        RegistryError: The run or its profile is unreadable or does not match its hash.
    """
    manifest = registry.record(run_id)
    if manifest.profile is None:
        raise ProfileNotFound(
            f"run {run_id} recorded no reference profile (it was trained before churn "
            "recorded them); train a new run to monitor drift against it"
        )
    return read_profile(
        registry.run_dir(run_id), sha256=manifest.profile.sha256, with_scorer=with_scorer
    )


def training_drift(
    registry: Registry, spec: Spec, frame: pd.DataFrame
) -> TrainingDriftRecord | None:
    """``frame`` (validated training data) against the champion's profile; None without a
    champion. A champion without a profile gives a record with no status and a note.

    Raises:
        RegistryError: champion.json, the champion's run.json or its profile is damaged.
    """
    champion = registry.champion()
    if champion is None:
        return None
    try:
        profile = run_profile(registry, champion.run_id, with_scorer=False)
    except ProfileNotFound as exc:
        return TrainingDriftRecord(champion=champion.run_id, status=None, note=str(exc))
    from churn.monitoring.drift import compare_frame

    return drift_record(compare_frame(profile, frame, spec.monitoring))


def drift_record(result: DriftResult) -> TrainingDriftRecord:
    """The run.json summary of a drift result."""
    return TrainingDriftRecord(
        champion=result.run_id,
        status=result.status,
        alerts=result.alerts,
        warnings=result.warnings,
        psi={column.column: column.psi for column in result.columns},
    )
