"""Survival metrics: scikit-survival's numbers, a chance-level control, censoring respected."""

from __future__ import annotations

import numpy as np
import pytest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
    integrated_brier_score,
)
from survival_factories import survival_frame

from churn.survival.metrics import (
    calibration_error,
    evaluation_times,
    kaplan_meier_at,
    survival_metrics,
)
from churn.survival.outcome import SURVIVAL_DTYPE

HORIZONS = (6.0, 12.0, 24.0)


def outcome(event: np.ndarray, time: np.ndarray) -> np.ndarray:
    y = np.empty(len(time), dtype=SURVIVAL_DTYPE)
    y["event"], y["time"] = event, time
    return y


def table(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    frame = survival_frame(rows, seed=seed)
    X = np.column_stack(
        [frame["support_calls"], frame["monthly_fee"] / 100, frame["plan"] == "enterprise"]
    ).astype(np.float64)
    return X, outcome(frame["churned"].to_numpy() == "yes", frame["months_active"].to_numpy())


def cox_predictions(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = CoxPHSurvivalAnalysis().fit(X_train, y_train)
    times = evaluation_times(y_train, y_test, HORIZONS)
    curves = model.predict_survival_function(X_test)
    return model.predict(X_test), np.vstack([curve(times) for curve in curves]), times


@pytest.fixture(scope="module")
def fitted() -> dict[str, np.ndarray]:
    X, y = table(900, seed=1)
    X_test, y_test = table(400, seed=2)
    risk, survival, times = cox_predictions(X, y, X_test, y_test)
    return {"y_train": y, "y_test": y_test, "risk": risk, "survival": survival, "times": times}


def test_every_metric_is_scikit_survivals_own_on_the_same_predictions(
    fitted: dict[str, np.ndarray],
) -> None:
    y_train, y_test, risk = fitted["y_train"], fitted["y_test"], fitted["risk"]
    survival, times = fitted["survival"], fitted["times"]
    metrics = survival_metrics(y_train, y_test, risk, survival, times, HORIZONS)
    harrell = concordance_index_censored(y_test["event"], y_test["time"], risk)[0]
    uno = concordance_index_ipcw(y_train, y_test, risk, tau=times[-1])[0]
    ibs = integrated_brier_score(y_train, y_test, survival, times)
    assert metrics["harrell_c"] == pytest.approx(harrell, abs=1e-12)
    assert metrics["uno_c"] == pytest.approx(uno, abs=1e-12)
    assert metrics["ibs"] == pytest.approx(ibs, abs=1e-12)
    for horizon in HORIZONS:
        auc = cumulative_dynamic_auc(y_train, y_test, risk, [horizon])[0][0]
        assert metrics[f"td_auc_{horizon:g}"] == pytest.approx(auc, abs=1e-12)
    km = np.tile(kaplan_meier_at(y_train, times), (len(y_test), 1))
    assert metrics["ibs_km"] == pytest.approx(integrated_brier_score(y_train, y_test, km, times))
    assert metrics["ibs_ratio"] == pytest.approx(ibs / metrics["ibs_km"])
    assert 0.6 < harrell < 0.9 and metrics["ibs_ratio"] < 1.0  # the hazard is learnable


def test_predictions_scored_against_shuffled_durations_rank_at_chance() -> None:
    X, y = table(1500, seed=3)
    X_test, y_test = table(1500, seed=4)
    risk, survival, times = cox_predictions(X, y, X_test, y_test)
    real = survival_metrics(y, y_test, risk, survival, times, HORIZONS)
    shuffled = y_test[np.random.default_rng(0).permutation(len(y_test))]
    control = survival_metrics(y, shuffled, risk, survival, times, HORIZONS)
    assert real["harrell_c"] > 0.65
    assert control["harrell_c"] == pytest.approx(0.5, abs=0.03)
    assert control["uno_c"] == pytest.approx(0.5, abs=0.04)
    assert control["td_auc_12"] == pytest.approx(0.5, abs=0.05)
    assert control["ibs_ratio"] > real["ibs_ratio"]


def reference_harrell(event: np.ndarray, time: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C by its definition: a pair counts only when the shorter time is an event (or
    the other row was censored at that same time)."""
    concordant = comparable = 0.0
    for i in range(len(time)):
        for j in range(len(time)):
            if event[i] and (time[i] < time[j] or (time[i] == time[j] and not event[j])):
                comparable += 1
                concordant += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return concordant / comparable


def test_censored_rows_are_never_counted_as_events() -> None:
    rng = np.random.default_rng(5)
    time = rng.integers(1, 30, size=80).astype(np.float64)
    event = rng.uniform(size=80) < 0.4
    risk = -time + rng.normal(0, 8, size=80)
    y = outcome(event, time)
    times = evaluation_times(y, y, [6.0])
    survival = np.tile(kaplan_meier_at(y, times), (80, 1))
    metrics = survival_metrics(y, y, risk, survival, times, [6.0])
    assert metrics["harrell_c"] == pytest.approx(reference_harrell(event, time, risk))
    as_events = reference_harrell(np.ones(80, dtype=bool), time, risk)
    assert metrics["harrell_c"] != pytest.approx(as_events)
    # a group of censored rows only: Kaplan-Meier observes no churn, whatever the times
    censored = outcome(np.zeros(40, dtype=bool), np.linspace(1, 10, 40))
    assert calibration_error(censored, np.full(40, 0.3), 6.0) == pytest.approx(0.3)


def test_a_kaplan_meier_prediction_has_an_ibs_ratio_of_one(
    fitted: dict[str, np.ndarray],
) -> None:
    y_train, y_test, times = fitted["y_train"], fitted["y_test"], fitted["times"]
    km = np.tile(kaplan_meier_at(y_train, times), (len(y_test), 1))
    metrics = survival_metrics(y_train, y_test, fitted["risk"], km, times, HORIZONS)
    assert metrics["ibs_ratio"] == pytest.approx(1.0)
    # every row predicted at the training curve: calibrated overall, but not per risk group
    assert metrics["calibration_error_12"] > 0.0


def test_a_horizon_past_the_follow_up_is_undefined_not_an_error(
    fitted: dict[str, np.ndarray],
) -> None:
    metrics = survival_metrics(
        fitted["y_train"],
        fitted["y_test"],
        fitted["risk"],
        fitted["survival"],
        fitted["times"],
        [6.0, 500.0],
    )
    assert np.isnan(metrics["td_auc_500"]) and np.isnan(metrics["calibration_error_500"])
    assert not np.isnan(metrics["td_auc_6"])
