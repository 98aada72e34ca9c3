"""Kaplan-Meier curves and censoring weights, fitted once per training part, with numpy only.

scikit-survival's ``kaplan_meier_estimator`` counts the rows at each time in a Python loop
(about 1 s per million rows), and ``brier_score``, ``cumulative_dynamic_auc`` and
``concordance_index_ipcw`` each fit the censoring curve of the training part again. Here the
counts are ``np.unique`` + ``np.bincount`` (the same integers, so the same curve to the last
bit), the censoring curve is fitted once into scikit-survival's own
``CensoringDistributionEstimator`` (whose ``predict_proba`` / ``predict_ipcw`` then give the
weights), and the Brier scores and the cumulative/dynamic AUC are scikit-survival's formulas
on those weights: the same numbers (``tests/survival/test_survival_concordance.py``).
"""

from __future__ import annotations

import numpy as np
from sksurv.nonparametric import CensoringDistributionEstimator
from sksurv.util import check_y_survival

TIED_TOL = 1e-8
"""Risks this close are one threshold of the ROC curve (scikit-survival's ``tied_tol``)."""


def kaplan_meier(
    event: np.ndarray, time: np.ndarray, *, reverse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier curve: the unique times and S(t) at each (``kaplan_meier_estimator``).

    With ``reverse``, the curve of the censoring (a censored row is its "event").
    """
    event = np.asarray(event, dtype=bool)
    times, inverse = np.unique(np.asarray(time), return_inverse=True)
    total = np.bincount(inverse, minlength=len(times))
    events = np.bincount(inverse, weights=event, minlength=len(times)).astype(np.int64)
    at_risk = len(event) - np.concatenate(([0], np.cumsum(total)[:-1]))
    if reverse:
        at_risk, events = at_risk - events, total - events
    ratio = np.divide(events, at_risk, out=np.zeros(len(times)), where=events != 0)
    survival: np.ndarray = np.cumprod(1.0 - ratio)
    return times, survival


def censoring_estimator(y_train: np.ndarray) -> CensoringDistributionEstimator:
    """scikit-survival's censoring curve of ``y_train``, as its ``fit`` leaves it.

    Raises:
        ValueError: Every row is censored (scikit-survival's check).
    """
    event, time = check_y_survival(y_train)
    estimator = CensoringDistributionEstimator()
    if event.all():
        estimator.unique_time_ = np.unique(time)
        estimator.prob_ = np.ones(estimator.unique_time_.shape[0])
    else:
        unique_time, prob = kaplan_meier(event, time, reverse=True)
        estimator.unique_time_ = np.r_[-np.inf, unique_time]
        estimator.prob_ = np.r_[1.0, prob]
    return estimator


def integrated_brier(
    censoring: CensoringDistributionEstimator,
    y_test: np.ndarray,
    survival: np.ndarray,
    times: np.ndarray,
) -> float:
    """``integrated_brier_score``: the Brier scores at ``times``, trapezoid-integrated over them.

    Args:
        censoring: :func:`censoring_estimator` of the training part.
        y_test: The rows scored.
        survival: Their S(t | x), shape ``(len(y_test), len(times))``.
        times: Increasing, unique, inside the rows' follow-up.

    Raises:
        ValueError: Fewer than two times, a time outside the follow-up, or a row observed past
            the training part's last time while the censoring curve is still above 0.
    """
    event, time = check_y_survival(y_test)
    times = _within_follow_up(time, times)
    if times.shape[0] < 2:
        raise ValueError("At least two time points must be given")
    if survival.shape != (len(time), len(times)):
        raise ValueError(f"expected survival of shape {(len(time), len(times))}")
    at_times = censoring.predict_proba(times)
    at_times[at_times == 0] = np.inf
    at_rows = censoring.predict_proba(time)
    at_rows[at_rows == 0] = np.inf
    scores = np.empty(len(times))
    for i, t in enumerate(times):
        case = ((time <= t) & event).astype(int)
        control = (time > t).astype(int)
        scores[i] = np.mean(
            np.square(survival[:, i]) * case / at_rows
            + np.square(1.0 - survival[:, i]) * control / at_times[i]
        )
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))


def dynamic_auc(
    censoring: CensoringDistributionEstimator,
    y_test: np.ndarray,
    risk: np.ndarray,
    horizon: float,
    tied_tol: float = TIED_TOL,
) -> float:
    """``cumulative_dynamic_auc(..., [horizon])``: cases (churned by ``horizon``, weighted by
    their inverse probability of censoring) ranked above controls (still here after it).

    Raises:
        ValueError: ``horizon`` is outside the follow-up, or a case's censoring weight is
            infinite.
    """
    event, time = check_y_survival(y_test)
    _within_follow_up(time, np.array([horizon], dtype=float))
    ipcw = censoring.predict_ipcw(y_test)
    order = np.argsort(-np.asarray(risk, dtype=float))
    time, event, ipcw = time[order], event[order], ipcw[order]
    ranked = np.asarray(risk, dtype=float)[order]
    case = (time <= horizon) & event
    control = time > horizon
    tied = np.absolute(np.diff(np.concatenate(([np.inf], ranked)))) <= tied_tol
    cases = np.cumsum(case * ipcw)
    with np.errstate(invalid="ignore", divide="ignore"):  # no case or no control: NaN
        true_pos = cases / cases[-1]
        false_pos = np.cumsum(control) / control.sum()
    shadowed = np.flatnonzero(tied) - 1  # a tied run keeps only its last threshold
    true_pos = np.r_[0, np.delete(true_pos, shadowed)]
    false_pos = np.r_[0, np.delete(false_pos, shadowed)]
    return float(np.trapezoid(true_pos, false_pos))


def _within_follow_up(time: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``times`` unique and sorted, all inside ``[min(time), max(time))`` (scikit-survival's)."""
    times = np.unique(np.atleast_1d(np.asarray(times, dtype=float)))
    if times.max() >= time.max() or times.min() < time.min():
        raise ValueError(
            f"all times must be within follow-up time of test data: [{time.min()}; {time.max()}["
        )
    return times
