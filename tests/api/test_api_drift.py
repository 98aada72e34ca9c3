"""/metrics exports the serving window's drift against the champion's profile, and the latest
realized performance beside the gates' lower bounds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from apitools import Trained, record
from factories import subscriptions_frame
from prometheus_client.parser import text_string_to_metric_families

from churn.monitoring.profile import build_profile, write_profile
from churn.monitoring.realized import RealizedRecord, realized_metrics, write_realized
from churn.registry import Registry
from churn.spec.loader import load_spec

pytestmark = pytest.mark.xdist_group("recorder_process")  # one fork server


def _samples(text: str) -> dict[tuple[str, str], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            label = next(iter(sample.labels.values()), "")
            found[sample.name, label] = sample.value
    return found


def _profiled(trained: Trained, home: Path) -> None:
    spec = load_spec(trained.spec_path)
    scores = np.random.default_rng(0).uniform(size=150)
    profile = build_profile(subscriptions_frame(600), spec, scores, run_id=trained.first)
    write_profile(Registry(home).run_dir(trained.first), profile)


def test_shifted_inputs_alert_in_metrics_and_realized_recall_is_exported(
    make_client, trained: Trained, home: Path
) -> None:
    _profiled(trained, home)
    churned = np.array([True, True, False, False])
    week = realized_metrics(
        "2026-W49",
        None,
        churned,
        np.array([0.9, 0.2, 0.7, 0.1]),
        np.array([True, False, True, False]),
        None,
    )
    write_realized(
        home,
        RealizedRecord(
            computed_at=datetime.now(UTC),
            horizon_days=30,
            by_week=(week,),
            by_run=(),
            by_week_and_run=(),
        ),
    )
    client = make_client(home=home, prediction_log_flush_seconds=0.05, recorder_process=True)
    before = _samples(client.get("/metrics").text)
    assert ("churn_drift_window_records", "") not in before
    records = [record(i, monthly_fee=500.0 + i, region="north") for i in range(200)]
    for start in range(0, 200, 50):
        response = client.post("/predict", json={"records": records[start : start + 50]})
        assert response.status_code == 200
    deadline = time.monotonic() + 10
    while _samples(client.get("/metrics").text).get(("churn_drift_window_records", "")) != 200:
        assert time.monotonic() < deadline, "the window did not count the records"
        time.sleep(0.05)
    found = _samples(client.get("/metrics").text)
    assert found["churn_drift_psi", "monthly_fee"] > 0.25
    assert found["churn_drift_status", "monthly_fee"] == 2
    assert found["churn_drift_status", "region"] == 2  # every record in one region
    assert found["churn_drift_psi_alert_threshold", "monthly_fee"] == 0.25
    assert found["churn_drift_unseen_rate", "plan"] == 0
    assert ("churn_drift_score_psi", "") in found
    assert found["churn_realized_metric", "recall"] == 0.5
    assert found["churn_realized_metric", "precision"] == 0.5
    assert found["churn_gate_lower_bound", "roc_auc"] == 0.6


def test_a_champion_without_a_profile_serves_and_exports_no_drift(
    make_client, trained: Trained, home: Path
) -> None:
    (Registry(home).run_dir(trained.first) / "profile.json").unlink()  # trained before profiles
    client = make_client(
        home=home, prediction_log=False, prediction_log_flush_seconds=0.05, recorder_process=True
    )
    assert client.post("/predict", json={"records": [record(1)]}).status_code == 200
    time.sleep(0.2)
    found = _samples(client.get("/metrics").text)
    assert not any(name.startswith("churn_drift") for name, _ in found)
