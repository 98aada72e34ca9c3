"""``churn monitor``'s training-drift rows are the runs' typed drift records, and its text and
JSON say what they said when the rows were dicts."""

from __future__ import annotations

from pathlib import Path

from churn.cli.monitor import overview_text
from churn.monitoring.overview import Overview, RunDrift, html_page, recent_training_drift
from churn.registry import Registry
from churn.registry.record import TrainingDriftRecord


def registry_with_drift(tmp_path: Path) -> Registry:
    """Three finished runs: one without drift, one with alerts, one without a profile."""
    registry = Registry(tmp_path / "home")
    drift = {
        "r2": {"champion": "r1", "status": "alert", "alerts": ["plan", "fee"], "psi": {}},
        "r3": {"champion": "r2", "status": None, "note": "the champion has no profile"},
    }
    for run_id in ("r1", "r2", "r3"):
        registry.start_run(run_id)
        extra = {"training_drift": drift[run_id]} if run_id in drift else {}
        registry.finish_run(run_id, **extra)
    return registry


def test_recent_training_drift_answers_with_the_typed_records(tmp_path: Path) -> None:
    rows = recent_training_drift(registry_with_drift(tmp_path))

    assert [type(row) for row in rows] == [RunDrift, RunDrift]
    assert [row.run_id for row in rows] == ["r3", "r2"]
    assert isinstance(rows[1].drift, TrainingDriftRecord) and rows[1].drift.alerts == [
        "plan",
        "fee",
    ]


def test_the_overview_says_what_it_said_of_each_run(tmp_path: Path) -> None:
    overview = Overview(None, recent_training_drift(registry_with_drift(tmp_path)))

    text = overview_text(overview)

    assert "r3: no profile\nr2: alert (plan, fee)" in text
    assert overview.to_dict()["training_drift"] == [
        {"run_id": "r3", "champion": "r2", "status": None, "alerts": [], "warnings": []},
        {"run_id": "r2", "champion": "r1", "status": "alert", "alerts": ["plan", "fee"],
         "warnings": []},
    ]  # fmt: skip
    assert "<td>r2</td><td>r1</td><td>alert</td><td>plan, fee</td>" in html_page(overview)
    assert "(no run recorded its drift yet)" in overview_text(Overview(None, []))
