"""GET /app-info and GET /models/champion."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from apitools import TestClient, Trained

from churn.registry import Registry


def test_app_info_reports_the_champion_and_the_latest_run(
    client: TestClient, trained: Trained
) -> None:
    registry = Registry(trained.home)
    pointer = registry.champion()
    assert pointer is not None
    champion = pointer.as_dict()
    champion_run = registry.record(trained.first).as_dict()
    latest = registry.record(trained.second).as_dict()  # the newest run
    body = client.get("/app-info").json()
    assert body["status"] == "ok"
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert body[metric] == champion["metrics"][metric]
    assert body["run_id"] == trained.first
    assert body["model"] == champion_run["winner"]
    assert body["model_type"] == champion_run["model"]["type"]
    assert body["threshold"] == champion["threshold"]
    policy = champion_run["candidates"][champion_run["winner"]]["threshold_policy"]
    assert body["threshold_policy"] == policy["strategy"]
    assert datetime.fromisoformat(body["promoted_at"]) == datetime.fromisoformat(
        champion["promoted_at"]
    )
    assert body["pipeline_status"] == "succeeded"
    assert body["last_run_id"] == trained.second
    assert datetime.fromisoformat(body["last_run"]) == datetime.fromisoformat(latest["ended_at"])
    assert body["last_run_gates"] == {
        "passed": latest["gates"]["passed"],
        "action": latest["decision"]["action"],
        "run_failed": latest["decision"]["run_failed"],
        "reason": latest["decision"]["reason"],
    }


def test_app_info_without_any_run_says_no_model(make_client, tmp_path: Path) -> None:
    body = make_client(home=tmp_path / "empty").get("/app-info").json()
    assert body["status"] == "no_model"
    assert body["accuracy"] is None and body["run_id"] is None
    assert body["pipeline_status"] is None and body["last_run"] is None


def test_app_info_shows_a_run_that_died_as_incomplete(
    make_client, home: Path, trained: Trained
) -> None:
    registry = Registry(home)
    registry.mark_incomplete(trained.second, "killed")
    body = make_client(home=home).get("/app-info").json()
    assert body["pipeline_status"] == "incomplete"
    assert body["status"] == "ok"


def test_champion_route_describes_the_serving_model(client: TestClient, trained: Trained) -> None:
    champion = Registry(trained.home).champion()
    body = client.get("/models/champion").json()
    assert champion is not None and body["run_id"] == trained.first
    assert body["model_sha256"] == champion.model_sha256
    assert body["metrics"] == champion.metrics
    assert body["threshold"] == champion.threshold
    assert body["action"] == "rollback"
    assert body["previous"] == trained.second
    assert body["fast_path"] is True


def test_champion_route_is_503_without_a_champion(make_client, tmp_path: Path) -> None:
    response = make_client(home=tmp_path / "empty").get("/models/champion")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("no champion yet")
