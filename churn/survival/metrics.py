"""Survival metrics of a hold-out: concordance, Brier scores, time-dependent AUC, calibration.

Each number is the one scikit-survival's own function (``sksurv.metrics``,
``sksurv.nonparametric``) computes on the same predictions, computed without its quadratic
pair loop and its per-row Kaplan-Meier loop (:mod:`churn.survival.concordance`,
:mod:`churn.survival.censoring`, the training part's censoring curve fitted once): about
linear in the rows, so a 1,000,000-row run's folds cost seconds, not hours. Names (spec gate
metrics, run.json, /app-info, the report): ``harrell_c``, ``uno_c`` (higher is better);
``ibs``, ``ibs_km``, ``ibs_ratio = ibs / ibs_km`` (lower); ``td_auc_<h>`` (higher) and
``calibration_error_<h>`` (lower) at each horizon ``h``. A metric that is undefined on these
rows (no comparable pair, a horizon past the follow-up) is NaN, recorded as null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from sksurv.nonparametric import CensoringDistributionEstimator

from churn.survival.censoring import (
    censoring_estimator,
    dynamic_auc,
    integrated_brier,
    kaplan_meier,
)
from churn.survival.concordance import harrell_c, uno_c
from churn.survival.names import horizon_label

CALIBRATION_GROUPS = 10
"""Calibration compares predicted and Kaplan-Meier observed churn in this many risk groups."""
GRID_POINTS = 40
"""Times of the Brier-score grid (quantiles of the hold-out's observed times)."""
NAN = float("nan")


def evaluation_times(
    y_train: np.ndarray, y_test: np.ndarray, horizons: Sequence[float]
) -> np.ndarray:
    """The time grid for the integrated Brier score, with every horizon that fits on it.

    Quantiles 5 %..90 % of the hold-out's observed times, plus the horizons, kept strictly
    inside the hold-out's follow-up and below the training part's last time (where the
    censoring weights are defined), sorted and unique.
    """
    observed = y_test["time"]
    grid = np.quantile(observed, np.linspace(0.05, 0.9, GRID_POINTS))
    times = np.unique(np.concatenate([grid, np.asarray(horizons, dtype=np.float64)]))
    upper = min(float(observed.max()), float(y_train["time"].max()))
    inside: np.ndarray = times[(times >= observed.min()) & (times < upper) & (times > 0)]
    return inside


def kaplan_meier_at(y: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The Kaplan-Meier survival curve of ``y`` at ``times`` (1 before the first time)."""
    if len(y) == 0:
        return np.full(len(times), NAN)
    x, survival = kaplan_meier(y["event"], y["time"])
    index = np.searchsorted(x, times, side="right") - 1
    curve: np.ndarray = np.where(index >= 0, survival[np.clip(index, 0, None)], 1.0)
    return curve


def survival_metrics(
    y_train: np.ndarray,
    y_test: np.ndarray,
    risk: np.ndarray,
    survival_at_times: np.ndarray,
    times: np.ndarray,
    horizons: Sequence[float],
) -> dict[str, float]:
    """Every survival metric of one model's hold-out predictions.

    Args:
        y_train: The training outcome (:data:`~churn.survival.outcome.SURVIVAL_DTYPE`): the
            censoring weights of Uno's C, the Brier scores and the AUC, and the Kaplan-Meier
            baseline of ``ibs_km``.
        y_test: The hold-out outcome.
        risk: One score per hold-out row; higher means churns sooner.
        survival_at_times: S(t | x), shape ``(len(y_test), len(times))``.
        times: Increasing times inside the hold-out's follow-up (:func:`evaluation_times`).
        horizons: The spec's horizons; ``td_auc_<h>`` and ``calibration_error_<h>`` need ``h``
            among ``times`` (NaN otherwise).
    """
    try:
        censoring: CensoringDistributionEstimator | None = censoring_estimator(y_train)
    except ValueError:  # every training row censored: no weights, no weighted metric
        censoring = None
    tau = times[-1] if len(times) else None
    metrics: dict[str, float] = {
        "harrell_c": _safe(lambda: harrell_c(y_test["event"], y_test["time"], risk)),
        "uno_c": _weighted(censoring, lambda c: uno_c(c, y_test, risk, tau)),
    }
    baseline = np.tile(kaplan_meier_at(y_train, times), (len(y_test), 1))
    metrics["ibs"] = _weighted(
        censoring, lambda c: integrated_brier(c, y_test, survival_at_times, times)
    )
    metrics["ibs_km"] = _weighted(censoring, lambda c: integrated_brier(c, y_test, baseline, times))
    metrics["ibs_ratio"] = metrics["ibs"] / metrics["ibs_km"] if metrics["ibs_km"] > 0 else NAN
    for horizon in horizons:
        label = horizon_label(horizon)
        at = np.flatnonzero(np.isclose(times, horizon))
        if len(at) == 0:
            metrics[f"td_auc_{label}"] = NAN
            metrics[f"calibration_error_{label}"] = NAN
            continue
        churn_by_h = 1.0 - survival_at_times[:, at[0]]
        metrics[f"td_auc_{label}"] = _weighted(
            censoring, partial(_td_auc, y_test=y_test, risk=risk, horizon=horizon)
        )
        metrics[f"calibration_error_{label}"] = calibration_error(y_test, churn_by_h, horizon)
    return {name: float(value) for name, value in metrics.items()}


def calibration_error(y: np.ndarray, predicted: np.ndarray, horizon: float) -> float:
    """Mean |predicted P(churn by h) - Kaplan-Meier observed| over risk groups of ``y``.

    The rows are ordered by ``predicted`` and cut into :data:`CALIBRATION_GROUPS` groups of
    (nearly) equal size; each group's observed churn by ``horizon`` is 1 - its own
    Kaplan-Meier curve there, so a censored row counts as 'still here' until it was censored,
    never as churned.
    """
    groups = calibration_groups(predicted)
    if not groups:
        return NAN
    horizon_grid = np.array([horizon], dtype=np.float64)
    gaps = [
        abs(
            float(predicted[rows].mean()) - (1.0 - float(kaplan_meier_at(y[rows], horizon_grid)[0]))
        )
        for rows in groups
    ]
    return float(np.mean(gaps))


def calibration_groups(predicted: np.ndarray) -> list[np.ndarray]:
    """Row positions of up to :data:`CALIBRATION_GROUPS` groups of rising ``predicted``."""
    order = np.argsort(predicted, kind="stable")
    count = min(CALIBRATION_GROUPS, len(order))
    return [rows for rows in np.array_split(order, count) if len(rows)] if count else []


def _td_auc(
    censoring: CensoringDistributionEstimator, y_test: np.ndarray, risk: np.ndarray, horizon: float
) -> float:
    """Cumulative/dynamic AUC at one horizon: churned by h versus still here after h.

    Only the cases (churned by h) carry censoring weights; a control's time matters only in
    being past h. Controls are therefore cut to just after h (and censored there), so a
    hold-out row observed longer than any training row (where the censoring curve is 0) does
    not make the AUC undefined; the AUC is unchanged by the cut.
    """
    after = np.nextafter(horizon, np.inf)
    cut = y_test.copy()
    beyond = cut["time"] > horizon
    cut["time"][beyond], cut["event"][beyond] = after, False
    return dynamic_auc(censoring, cut, risk, horizon)


def _weighted(
    censoring: CensoringDistributionEstimator | None,
    compute: Callable[[CensoringDistributionEstimator], float],
) -> float:
    """A metric weighted by the training part's censoring curve; NaN without one."""
    return NAN if censoring is None else _safe(lambda: compute(censoring))


def _safe(compute: Callable[[], float]) -> float:
    """The metric, or NaN where scikit-survival finds it undefined on these rows."""
    try:
        return float(compute())
    except ValueError:
        return NAN
