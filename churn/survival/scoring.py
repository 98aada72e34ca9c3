"""Serving a survival champion: P(churn within each horizon) and the median time to churn.

A :class:`SurvivalScorer` is built once per loaded model from its final estimator and the
spec's horizons, and scores the estimator's input (the encoded rows the fast path or the
pipeline's front produces). For the Cox-form models the baseline is reduced at load time to
``log H0(h)`` at each horizon, so a row costs its risk (``x . beta`` for ``cox``, the booster's
margin for ``xgb_cox``) and one ``exp`` per horizon: ``P(churn by h) = 1 - exp(-H0(h) e^r)``.
The other models answer through their own ``predict_survival`` / ``predict_median``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from churn.survival.curves import cox_median, step_values
from churn.survival.names import horizon_label


@dataclass(frozen=True)
class SurvivalScores:
    """One scoring call's answers, rows in input order."""

    within: np.ndarray
    """P(churn by each horizon), shape (rows, horizons)."""
    median: np.ndarray
    """The median time to churn per row; ``inf`` where the curve stays above one half."""

    def median_or_none(self) -> list[float | None]:
        """The medians as JSON values: ``None`` (null) where there is none."""
        return [m if np.isfinite(m) else None for m in self.median.tolist()]


def is_survival_estimator(estimator: Any) -> bool:
    """Whether a final pipeline step is a survival model (it predicts curves)."""
    return callable(getattr(estimator, "predict_survival", None)) and callable(
        getattr(estimator, "predict_median", None)
    )


class SurvivalScorer:
    """P(churn by each horizon) and the median time from a fitted survival estimator.

    Args:
        estimator: The pipeline's final step, a ``SurvivalEstimator``.
        horizons: The spec's horizons, increasing, in ``unit``.
        unit: The duration's unit (month, ...), for answers.
    """

    def __init__(self, estimator: Any, horizons: Sequence[float], unit: str) -> None:
        if not is_survival_estimator(estimator):
            raise TypeError(f"{type(estimator).__name__} is not a survival estimator")
        self.estimator = estimator
        self.horizons = tuple(float(h) for h in horizons)
        self.unit = unit
        self.names = tuple(horizon_label(h) for h in self.horizons)
        # Imported here: the model's unpickling has loaded scikit-survival already, and a
        # classifier's serving never pays for it.
        from churn.survival.estimators import CoxFormSurvival, CoxSurvival

        self.cox_form = isinstance(estimator, CoxFormSurvival)
        """True when a row costs only its risk (the baseline is a few numbers)."""
        self._coef: np.ndarray | None = None
        if self.cox_form:
            hazard = step_values(
                estimator.baseline_times_,
                estimator.baseline_cumulative_hazard_,
                np.asarray(self.horizons),
                before=0.0,
            )
            with np.errstate(divide="ignore"):
                self._log_baseline = np.log(hazard)
            if isinstance(estimator, CoxSurvival):
                self._coef = np.asarray(estimator.coef_, dtype=np.float64)

    def risk(self, encoded: np.ndarray) -> np.ndarray:
        """The estimator's risk score of the encoded rows (higher churns sooner)."""
        if self._coef is not None:
            return np.asarray(np.asarray(encoded, dtype=np.float64) @ self._coef)
        return np.asarray(self.estimator.predict(encoded), dtype=np.float64)

    def score(self, encoded: np.ndarray) -> SurvivalScores:
        """P(churn by each horizon) and the median time of the encoded rows."""
        if not self.cox_form:
            survival = self.estimator.predict_survival(encoded, np.asarray(self.horizons))
            return SurvivalScores(1.0 - survival, self.estimator.predict_median(encoded))
        risk = self.risk(encoded)
        with np.errstate(over="ignore"):
            within = -np.expm1(-np.exp(self._log_baseline[None, :] + risk[:, None]))
        median = cox_median(
            risk, self.estimator.baseline_times_, self.estimator.baseline_cumulative_hazard_
        )
        return SurvivalScores(within, median)
