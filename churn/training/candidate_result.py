"""What training one candidate produced: the classifiers' (:mod:`churn.training.evaluate`) and
the survival candidates' (:mod:`churn.training.survival`), one type for both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from churn.registry.record import (
    CalibrationRecord,
    ResampleRecord,
    SearchRecord,
    ThresholdPolicyRecord,
)

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


@dataclass
class CandidateResult:
    """What training one candidate produced."""

    name: str
    model_type: str
    pipeline: Pipeline
    """Fitted on the whole training part."""
    threshold: float
    """The decision threshold; NaN for a survival candidate, which has none."""
    cv_scores: dict[str, list[float]]
    holdout: dict[str, float]
    test_proba: np.ndarray
    """Each hold-out row's P(churn) (a survival candidate's: within the last horizon)."""
    fit_seconds: float
    params: dict[str, Any] = field(default_factory=dict)
    """The estimator's parameters from the spec, with the search's best ones on top."""
    threshold_policy: ThresholdPolicyRecord = field(default_factory=ThresholdPolicyRecord)
    """The spec's threshold policy and the threshold it chose (empty: no threshold)."""
    search: SearchRecord | None = None
    """Best parameters, best CV score and the top rows of the search table."""
    calibration: CalibrationRecord | None = None
    """Method, folds and hold-out Brier score before and after calibration."""
    uncalibrated_proba: np.ndarray | None = None
    """Hold-out probabilities of the same model without calibration (reliability plot)."""
    resample: ResampleRecord | None = None
    """The resampling block, when the candidate resamples its training folds."""
    members: list[str] | None = None
    """Ensembles: the candidates they combine."""

    @property
    def cv_mean(self) -> dict[str, float]:
        """Mean of each metric over the folds."""
        return {metric: float(np.mean(values)) for metric, values in self.cv_scores.items()}

    @property
    def cv_std(self) -> dict[str, float]:
        """Standard deviation of each metric over the folds."""
        return {metric: float(np.std(values)) for metric, values in self.cv_scores.items()}

    def summary(self) -> dict[str, Any]:
        """JSON-ready metrics of this candidate (no model, no arrays)."""
        return {
            "name": self.name,
            "type": self.model_type,
            "threshold": self.threshold,
            "cv_mean": self.cv_mean,
            "cv_std": self.cv_std,
            "cv_folds": self.cv_scores,
            "holdout": self.holdout,
            "fit_seconds": round(self.fit_seconds, 3),
            "params": self.params,
            "threshold_policy": self.threshold_policy.as_dict(),
            "search": self.search.as_dict() if self.search else None,
            "calibration": self.calibration.as_dict() if self.calibration else None,
            "resample": self.resample.as_dict() if self.resample else None,
            "members": self.members,
        }
