"""The record step's ``predictions.csv`` of a survival run, hashed in run.json.

A classifier's predictions are written by the report step; a survival run's are part of its
record (``run.json``'s ``predictions``: path, sha256, bytes), written before the promotion, so
``churn reproduce`` can check them (:func:`churn.survival.predictions.survival_predictions`
says what the columns are).
"""

from __future__ import annotations

from pathlib import Path

from churn.registry import Registry
from churn.registry.record import FileRecord
from churn.spec.survival import SurvivalTargetSpec
from churn.survival.predictions import FILE_NAME, SurvivalPredictions, survival_predictions
from churn.training.evaluate import CandidateResult, Split


def write_survival_predictions(
    registry: Registry,
    run_dir: Path,
    target: SurvivalTargetSpec,
    winner: CandidateResult,
    data: Split,
) -> FileRecord:
    """Write the winner's hold-out predictions into ``run_dir``; their record for run.json.

    Raises:
        ValueError: ``data`` has no survival outcome (a classifier's split).
    """
    predictions = holdout_survival_predictions(target, winner, data)
    path = registry.write_bytes(run_dir / FILE_NAME, predictions.data)
    return FileRecord(
        path=path.relative_to(registry.home).as_posix(),
        sha256=predictions.sha256,
        bytes=len(predictions.data),
    )


def holdout_survival_predictions(
    target: SurvivalTargetSpec, winner: CandidateResult, data: Split
) -> SurvivalPredictions:
    """The winner's hold-out predictions (what the record step writes and reproduce checks).

    Raises:
        ValueError: ``data`` has no survival outcome (a classifier's split).
    """
    if data.outcome_test is None:
        raise ValueError("a survival run's split has no hold-out outcome")
    return survival_predictions(
        winner.pipeline,
        data.X_test,
        data.outcome_test,
        data.ids_test,
        target.horizons,
        target.unit,
    )
