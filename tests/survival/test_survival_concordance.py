"""The fast concordance, Kaplan-Meier, Brier and AUC: scikit-survival's own numbers and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sksurv.exceptions import NoComparablePairException
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
    integrated_brier_score,
)
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator

from churn.survival.censoring import (
    censoring_estimator,
    dynamic_auc,
    integrated_brier,
    kaplan_meier,
)
from churn.survival.concordance import _suffix_counts_below, harrell_c, uno_c
from churn.survival.outcome import SURVIVAL_DTYPE

TRIALS = 25


def outcome(rng: np.random.Generator, rows: int, *, event_rate: float = 0.4) -> np.ndarray:
    """Whole-month times (many ties), some at 0, a share of events."""
    y = np.empty(rows, dtype=SURVIVAL_DTYPE)
    y["time"] = rng.integers(0, 30, rows).astype(np.float64)
    y["event"] = rng.uniform(size=rows) < event_rate
    return y


def same(ours: Callable[..., float], theirs: Callable[..., float], *args: Any) -> None:
    """On ``args`` both give the same number (to rounding), or raise the same kind of error."""
    try:
        expected: float | type = theirs(*args)
    except ValueError as error:
        expected = type(error)
    if isinstance(expected, type):
        with pytest.raises(expected):
            ours(*args)
    else:
        assert ours(*args) == pytest.approx(expected, rel=1e-12, abs=1e-12, nan_ok=True)


def cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Small random training and test outcomes, risks with and without ties; a few edge cases."""
    rng = np.random.default_rng(11)
    drawn = []
    for _ in range(TRIALS):
        rows = int(rng.integers(2, 120))
        rate = float(rng.choice([0.02, 0.4, 0.95]))
        y_test = outcome(rng, rows, event_rate=rate)
        risk = np.round(rng.normal(size=rows) - y_test["time"] / 20, int(rng.integers(0, 3)))
        drawn.append((outcome(rng, int(rng.integers(5, 150))), y_test, risk))
    lone_last = np.array([(False, 1.0), (False, 2.0), (True, 9.0)], dtype=SURVIVAL_DTYPE)
    tied_events = np.array([(True, 3.0), (True, 3.0), (False, 1.0)], dtype=SURVIVAL_DTYPE)
    for y in (lone_last, tied_events):
        drawn.append((y, y, np.array([0.1, 0.2, 0.1])))
    return drawn


@pytest.mark.parametrize("tau", [None, 12.0])
def test_concordance_is_scikit_survivals(tau: float | None) -> None:
    for y_train, y_test, risk in cases():
        event, time = y_test["event"], y_test["time"]
        same(harrell_c, lambda *args: concordance_index_censored(*args)[0], event, time, risk)
        same(
            lambda *args: uno_c(censoring_estimator(args[0]), *args[1:]),
            lambda *args: concordance_index_ipcw(*args)[0],
            *(y_train, y_test, risk, tau),
        )


def test_brier_auc_and_kaplan_meier_are_scikit_survivals() -> None:
    rng = np.random.default_rng(12)
    times = np.array([2.0, 5.0, 9.0, 14.0])
    for y_train, y_test, risk in cases():
        survival = rng.uniform(size=(len(y_test), len(times)))
        same(
            lambda *args: integrated_brier(censoring_estimator(args[0]), *args[1:]),
            integrated_brier_score,
            *(y_train, y_test, survival, times),
        )
        same(
            lambda *args: dynamic_auc(censoring_estimator(args[0]), *args[1:]),
            lambda *args: cumulative_dynamic_auc(*args[:3], [args[3]])[1],
            *(y_train, y_test, risk, 5.0),
        )
        for reverse in (False, True):
            if reverse and y_train["event"].all():
                continue
            expected = kaplan_meier_estimator(y_train["event"], y_train["time"], reverse=reverse)
            ours = kaplan_meier(y_train["event"], y_train["time"], reverse=reverse)
            np.testing.assert_array_equal(ours[0], expected[0])
            np.testing.assert_array_equal(ours[1], expected[1])  # the same counts, bit for bit


def test_the_censoring_curve_is_scikit_survivals_fit() -> None:
    y = outcome(np.random.default_rng(13), 500)
    ours, theirs = censoring_estimator(y), CensoringDistributionEstimator().fit(y)
    np.testing.assert_array_equal(ours.unique_time_, theirs.unique_time_)
    np.testing.assert_array_equal(ours.prob_, theirs.prob_)
    censored = y.copy()
    censored["event"] = False
    with pytest.raises(ValueError, match="censored"):
        censoring_estimator(censored)


def test_no_comparable_pair_is_scikit_survivals_error() -> None:
    with pytest.raises(NoComparablePairException):
        harrell_c(np.array([False, False]), np.array([1.0, 2.0]), np.array([0.1, 0.2]))
    with pytest.raises(NoComparablePairException):  # the only event is the lone last time
        harrell_c(np.array([False, True]), np.array([1.0, 2.0]), np.array([0.1, 0.2]))


def test_suffix_counts_match_a_direct_count() -> None:
    rng = np.random.default_rng(14)
    for rows in (1, 2, 7, 64, 65, 300):
        values = rng.permutation(rows)
        starts = rng.integers(0, rows + 1, 50)
        bounds = rng.integers(0, rows + 1, 50)
        direct = [int(np.sum(values[s:] < b)) for s, b in zip(starts, bounds, strict=True)]
        assert _suffix_counts_below(values, starts, bounds).tolist() == direct
