"""The record step's ``predictions.csv`` of a classifier run, hashed in run.json.

Written before the promotion beside the survival run's (:mod:`churn.run.survival_predictions`),
so ``run.json``'s ``predictions`` (path, sha256, bytes) covers it and ``churn reproduce`` can
check both the file and a re-trained winner's predictions. The report step reads the same table
(:func:`churn.report.build_predictions` is deterministic) and no longer writes the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from churn.registry import Registry
from churn.registry.record import FileRecord
from churn.spec import Spec
from churn.survival.predictions import FILE_NAME
from churn.training.evaluate import CandidateResult, Split


def classifier_predictions_csv(
    spec: Spec, winner: CandidateResult, data: Split, frame: pd.DataFrame | None
) -> bytes:
    """The bytes of ``predictions.csv``: the winner's scored customer list, riskiest first."""
    from churn.report.predictions import build_predictions

    table = build_predictions(spec, winner, data, frame)
    return table.to_csv(index=False).encode("utf-8")


def write_classifier_predictions(
    registry: Registry,
    run_dir: Path,
    spec: Spec,
    winner: CandidateResult,
    data: Split,
    frame: pd.DataFrame | None,
) -> FileRecord:
    """Write the winner's predictions into ``run_dir``; their record for run.json."""
    content = classifier_predictions_csv(spec, winner, data, frame)
    path = registry.write_bytes(run_dir / FILE_NAME, content)
    return FileRecord(
        path=path.relative_to(registry.home).as_posix(),
        sha256=hashlib.sha256(content).hexdigest(),
        bytes=len(content),
    )
