"""Survival candidates: scikit-learn estimators with one interface for curves and risk.

Every survival candidate's final pipeline step follows :class:`SurvivalEstimator`: ``predict``
is a risk score (higher churns sooner), ``predict_survival`` is ``S(t | x)`` at given times and
``predict_median`` the first time the curve is at most one half (``inf`` when it never is within
the training times). ``score`` is Harrell's concordance, so a search ranks them without a
scorer. All are ``clone``-able (``get_params``/``set_params``), so spec params and search spaces
apply as for classifiers. ``y`` is a structured array of ``churn.survival.outcome``'s layout:
fields ``event`` (bool) and ``time`` (float).

The Cox-form models (``cox``, ``xgb_cox``, ``gradient_boosting_survival``) keep a Breslow
baseline (``baseline_times_``, ``baseline_cumulative_hazard_``) over their own training risks,
so serving needs only the risk and a few baseline numbers per horizon.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, Self

import numpy as np
import xgboost as xgb
from sklearn.exceptions import NotFittedError
from sksurv.ensemble import GradientBoostingSurvivalAnalysis, RandomSurvivalForest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import check_y_survival
from xgboost import XGBRegressor

from churn.survival.aft import aft_median, aft_survival
from churn.survival.concordance import harrell_c
from churn.survival.cox_newton import fit_cox_breslow
from churn.survival.curves import (
    breslow_baseline,
    cox_median,
    cox_survival,
    step_median,
    step_values,
)


class SurvivalEstimator(Protocol):
    """The final step of every survival candidate."""

    def fit(self, X: Any, y: np.ndarray) -> Self: ...

    def predict(self, X: Any) -> np.ndarray: ...

    def predict_survival(self, X: Any, times: np.ndarray) -> np.ndarray: ...

    def predict_median(self, X: Any) -> np.ndarray: ...


def event_and_time(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The event flags and times of a survival outcome, checked (finite, not negative)."""
    event, time = check_y_survival(y)
    if np.any(time < 0):
        raise ValueError("survival times must not be negative")
    return np.asarray(event, dtype=bool), np.asarray(time, dtype=float)


class HarrellScore:
    """``score``: Harrell's C of ``predict`` (what a search maximises)."""

    predict: Callable[[Any], np.ndarray]

    def score(self, X: Any, y: np.ndarray) -> float:
        """Harrell's concordance index of the risk scores on ``(X, y)``."""
        event, time = event_and_time(y)
        return harrell_c(event, time, self.predict(X))


class CoxFormSurvival(HarrellScore):
    """Curves from the risk score and a Breslow baseline fitted on the training rows."""

    baseline_times_: np.ndarray
    baseline_cumulative_hazard_: np.ndarray

    def _fit_baseline(self, X: Any, y: np.ndarray) -> None:
        event, time = event_and_time(y)
        self.baseline_times_, self.baseline_cumulative_hazard_ = breslow_baseline(
            self.predict(X), event, time
        )

    def baseline_survival(self, times: np.ndarray) -> np.ndarray:
        """``S0(t) = exp(-H0(t))`` at ``times``: with the risk, all that serving needs."""
        hazard = step_values(
            self.baseline_times_, self.baseline_cumulative_hazard_, times, before=0.0
        )
        return np.asarray(np.exp(-hazard))

    def predict_survival(self, X: Any, times: np.ndarray) -> np.ndarray:
        """``S(t | x) = S0(t) ** exp(risk)``, shape (rows, len(times))."""
        return cox_survival(
            self.predict(X), self.baseline_times_, self.baseline_cumulative_hazard_, times
        )

    def predict_median(self, X: Any) -> np.ndarray:
        """The first training time where ``S(t | x) <= 1/2``, ``inf`` when none."""
        return cox_median(self.predict(X), self.baseline_times_, self.baseline_cumulative_hazard_)


class CoxSurvival(CoxFormSurvival, CoxPHSurvivalAnalysis):  # type: ignore[misc]
    """Penalised (ridge) Cox proportional hazards: scikit-survival's Newton-Raphson fit.

    ``alpha`` is the L2 penalty ``alpha/2 ||beta||^2`` on the partial log-likelihood's sum, so
    churn's default 1.0 is mild on thousands of rows and keeps one-hot columns finite.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        ties: str = "breslow",
        n_iter: int = 100,
        tol: float = 1e-9,
        verbose: int = 0,
    ) -> None:
        super().__init__(alpha=alpha, ties=ties, n_iter=n_iter, tol=tol, verbose=verbose)

    def fit(self, X: Any, y: np.ndarray) -> Self:
        """Fit the coefficients, then the Breslow baseline on the training linear predictor.

        Breslow ties take scikit-survival's Newton-Raphson loop with vectorised steps
        (:mod:`churn.survival.cox_newton`, the same coefficients up to rounding); Efron's,
        scikit-survival's own fit.
        """
        if self.ties == "breslow":
            fit_cox_breslow(self, X, y)
        else:
            super().fit(X, y)
        self._fit_baseline(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The linear predictor ``x . beta``, the log partial hazard."""
        return np.asarray(super().predict(X), dtype=float)


def cox_label(event: np.ndarray, time: np.ndarray) -> np.ndarray:
    """XGBoost's ``survival:cox`` label: the time, negative when censored.

    Times are replaced by their 1-based rank (Cox's likelihood depends only on the order), so
    a row censored at time 0 is still censored (``-0`` would read as an event).
    """
    _, rank = np.unique(time, return_inverse=True)
    return np.where(event, rank + 1.0, -(rank + 1.0))


class XGBCoxSurvival(CoxFormSurvival, XGBRegressor):
    """XGBoost with ``objective='survival:cox'``; risk = the margin (log hazard ratio)."""

    def __init__(self, *, objective: str = "survival:cox", **kwargs: Any) -> None:
        super().__init__(objective=objective, **kwargs)

    def fit(self, X: Any, y: np.ndarray, **fit_params: Any) -> Self:
        """Boost on the signed-rank labels, then fit the Breslow baseline on the margins."""
        event, time = event_and_time(y)
        super().fit(X, cox_label(event, time), **fit_params)
        self._fit_baseline(X, y)
        return self

    def predict(self, X: Any, **predict_params: Any) -> np.ndarray:
        """The margin: the log hazard ratio (XGBoost's own ``predict`` gives its exp)."""
        predict_params.setdefault("output_margin", True)
        return np.asarray(super().predict(X, **predict_params), dtype=float)

    def score(self, X: Any, y: np.ndarray, sample_weight: Any = None) -> float:
        """Harrell's concordance (not the regressor's R^2)."""
        return HarrellScore.score(self, X, y)


def aft_bounds(event: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """XGBoost's AFT interval labels: ``[t, t]`` for an event, ``[t, inf)`` when censored.

    An event at time 0 (log 0 is -inf) is moved to half the smallest positive time.
    """
    positive = time[time > 0]
    floor = float(positive.min()) / 2 if positive.size else 1.0
    lower = np.where(event, np.maximum(time, floor), time)
    upper = np.where(event, lower, np.inf)
    return lower, upper


class XGBAFTSurvival(XGBRegressor):
    """XGBoost with ``objective='survival:aft'``: ``ln T = m(x) + sigma Z``.

    ``S(t | x) = 1 - F((ln t - m) / sigma)`` with F the ``aft_loss_distribution`` (normal,
    logistic or extreme) and sigma its ``aft_loss_distribution_scale``; the risk is ``-m``.
    Trained through ``xgboost.train`` (the scikit-learn wrapper takes no interval labels);
    ``get_booster`` returns that booster.
    """

    def __init__(
        self,
        *,
        objective: str = "survival:aft",
        aft_loss_distribution: str = "normal",
        aft_loss_distribution_scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(objective=objective, **kwargs)
        self.aft_loss_distribution = aft_loss_distribution
        self.aft_loss_distribution_scale = aft_loss_distribution_scale

    def fit(self, X: Any, y: np.ndarray) -> Self:
        """Boost on the interval labels; keep the largest training time for the median."""
        if self.objective != "survival:aft":
            raise ValueError(f"objective: expected 'survival:aft', got {self.objective!r}")
        event, time = event_and_time(y)
        lower, upper = aft_bounds(event, time)
        train = xgb.DMatrix(
            X,
            label_lower_bound=lower,
            label_upper_bound=upper,
            nthread=self.n_jobs if self.n_jobs is not None else -1,
        )
        self.booster_ = xgb.train(
            self.get_xgb_params(), train, num_boost_round=self.get_num_boosting_rounds()
        )
        self.max_time_ = float(time.max())
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once ``fit`` has trained ``booster_``."""
        return hasattr(self, "booster_")

    def get_booster(self) -> xgb.Booster:
        """The trained booster."""
        if not hasattr(self, "booster_"):
            raise NotFittedError("XGBAFTSurvival is not fitted yet")
        booster: xgb.Booster = self.booster_
        return booster

    def log_time(self, X: Any) -> np.ndarray:
        """The margin ``m(x)``: the location of ``ln T``."""
        margin = self.get_booster().inplace_predict(X, predict_type="margin")
        return np.asarray(margin, dtype=float)

    def predict(self, X: Any, **predict_params: Any) -> np.ndarray:
        """Risk ``-m(x)``: a shorter expected time is a higher risk."""
        return -self.log_time(X)

    def predict_survival(self, X: Any, times: np.ndarray) -> np.ndarray:
        """``1 - F((ln t - m) / sigma)``, shape (rows, len(times))."""
        return aft_survival(
            self.log_time(X), self.aft_loss_distribution_scale, self.aft_loss_distribution, times
        )

    def predict_median(self, X: Any) -> np.ndarray:
        """``exp(m + sigma z_1/2)``; ``inf`` beyond the largest training time."""
        median = aft_median(
            self.log_time(X), self.aft_loss_distribution_scale, self.aft_loss_distribution
        )
        return np.where(median <= self.max_time_, median, np.inf)

    def score(self, X: Any, y: np.ndarray, sample_weight: Any = None) -> float:
        """Harrell's concordance (not the regressor's R^2)."""
        return HarrellScore.score(self, X, y)


class GradientBoostingSurvival(CoxFormSurvival, GradientBoostingSurvivalAnalysis):  # type: ignore[misc]
    """scikit-survival's gradient boosting with the Cox loss; risk = its log hazard ratio."""

    def fit(self, X: Any, y: np.ndarray, sample_weight: Any = None) -> Self:
        """Boost, then fit the Breslow baseline on the training predictions."""
        if self.loss != "coxph":
            raise ValueError(
                f"loss: expected 'coxph' (the only loss with curves), got {self.loss!r}"
            )
        super().fit(X, y, sample_weight=sample_weight)
        self._fit_baseline(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The ensemble's log hazard ratio."""
        return np.asarray(super().predict(X), dtype=float)


class RandomForestSurvival(HarrellScore, RandomSurvivalForest):  # type: ignore[misc]
    """scikit-survival's random survival forest; curves are the forest's step functions."""

    def predict(self, X: Any) -> np.ndarray:
        """The forest's risk: the cumulative hazard summed over the training event times."""
        return np.asarray(super().predict(X), dtype=float)

    def predict_survival(self, X: Any, times: np.ndarray) -> np.ndarray:
        """The forest's ``S(t | x)`` (1 before its first event time)."""
        curves = self.predict_survival_function(X, return_array=True)
        return step_values(self.unique_times_, curves, times, before=1.0)

    def predict_median(self, X: Any) -> np.ndarray:
        """The first event time where the forest's curve is at most one half, ``inf`` if none."""
        return step_median(self.unique_times_, self.predict_survival_function(X, return_array=True))


SURVIVAL_MODELS: dict[str, type] = {
    "cox": CoxSurvival,
    "xgb_cox": XGBCoxSurvival,
    "xgb_aft": XGBAFTSurvival,
    "gradient_boosting_survival": GradientBoostingSurvival,
    "random_survival_forest": RandomForestSurvival,
}
"""The spec's survival model types -> estimator classes (the catalogue registers them)."""
