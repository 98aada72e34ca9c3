"""A survival ensemble: the members' risks and curves averaged (spec type ``survival_average``).

Members (the spec's survival candidates, by name) are fitted on the same rows. Their risks live
on different scales (a Cox model's log hazard ratio, an AFT model's minus log time), so each is
standardised by the mean and standard deviation of its own training risks before the weighted
mean: the ensemble's risk is a fixed linear map of the members', and a row is scored alone
(serving needs no reference rows, unlike a rank average). ``S(t | x)`` is the weighted mean of
the members' curves (a mixture, so it is still a survival curve) and the median is the first
training time where that mean is at most one half, as for the Cox-form members.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from sklearn.base import BaseEstimator, clone

from churn.survival.curves import step_median
from churn.survival.estimators import HarrellScore, event_and_time


class SurvivalAverage(HarrellScore, BaseEstimator):  # type: ignore[misc]
    """The weighted mean of survival members' standardised risks and of their curves.

    Args:
        estimators: ``(name, unfitted survival estimator)`` pairs, cloned when fitted.
        weights: One weight (>= 0, not all 0) per member; equal when ``None``.
    """

    def __init__(
        self, estimators: Sequence[tuple[str, Any]], weights: Sequence[float] | None = None
    ) -> None:
        self.estimators = estimators
        self.weights = weights

    def _weights(self) -> np.ndarray:
        weights = np.ones(len(self.estimators)) if self.weights is None else self.weights
        array = np.asarray(weights, dtype=float)
        if array.shape != (len(self.estimators),) or np.any(array < 0) or not array.any():
            raise ValueError(
                f"weights: expected {len(self.estimators)} values >= 0, not all 0, got {weights}"
            )
        normalised: np.ndarray = array / array.sum()
        return normalised

    def fit(self, X: Any, y: np.ndarray) -> Self:
        """Fit every member on ``(X, y)``; keep each one's training risk mean and scale."""
        if len(self.estimators) < 2:
            raise ValueError(f"estimators: expected at least 2 members, got {len(self.estimators)}")
        _, time = event_and_time(y)
        self.weights_ = self._weights()
        self.estimators_ = [clone(estimator).fit(X, y) for _, estimator in self.estimators]
        risks = [np.asarray(member.predict(X), dtype=float) for member in self.estimators_]
        self.risk_mean_ = np.array([risk.mean() for risk in risks])
        # a member with one risk for every row adds only a constant: scale 1 keeps it finite
        self.risk_scale_ = np.array([risk.std() or 1.0 for risk in risks])
        self.times_ = np.unique(time[time > 0])
        return self

    @property
    def named_estimators_(self) -> dict[str, Any]:
        """The fitted members by name."""
        return {
            name: member
            for (name, _), member in zip(self.estimators, self.estimators_, strict=True)
        }

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once ``fit`` has fitted the members."""
        return hasattr(self, "estimators_")

    def predict(self, X: Any) -> np.ndarray:
        """The weighted mean of the members' standardised risks (higher churns sooner)."""
        risks = np.column_stack([member.predict(X) for member in self.estimators_])
        standardised = (risks - self.risk_mean_) / self.risk_scale_
        risk: np.ndarray = standardised @ self.weights_
        return risk

    def predict_survival(self, X: Any, times: np.ndarray) -> np.ndarray:
        """The weighted mean of the members' ``S(t | x)``, shape (rows, len(times))."""
        curves = np.stack(
            [
                np.asarray(member.predict_survival(X, times), dtype=float)
                for member in self.estimators_
            ]
        )
        survival: np.ndarray = np.tensordot(self.weights_, curves, axes=1)
        return survival

    def predict_median(self, X: Any) -> np.ndarray:
        """The first training time where the mean curve is at most one half, ``inf`` if none."""
        return step_median(self.times_, self.predict_survival(X, self.times_))
