"""GET /health and GET /ready."""

from __future__ import annotations

from pathlib import Path

import yaml
from apitools import TestClient, Trained
from fastapi import HTTPException

from churn.api.deps import get_serving_model


def test_health_is_ok_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_ok_without_a_champion(make_client, tmp_path: Path) -> None:
    assert make_client(home=tmp_path / "empty").get("/health").status_code == 200


def test_ready_names_the_serving_champion(client: TestClient, trained: Trained) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["run_id"] == trained.first
    assert body["model"] == "logreg" or body["model"] == "trees"
    assert body["fast_path"] is True and body["fast_path_off"] is None
    assert body["reload_error"] is None


def test_ready_is_503_with_a_reason_before_any_promotion(make_client, tmp_path: Path) -> None:
    response = make_client(home=tmp_path / "empty").get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert "no champion yet" in body["reason"]


def test_ready_is_503_when_the_champion_model_file_was_altered(
    make_client, home: Path, trained: Trained
) -> None:
    model = home / "runs" / trained.first / "model.joblib"
    model.write_bytes(model.read_bytes() + b"tampered")
    response = make_client(home=home).get("/ready")
    assert response.status_code == 503
    assert "does not match its recorded hash" in response.json()["reason"]


def serving_spec(folder: Path, trained: Trained, change) -> Path:
    """A copy of the training spec with ``change(document)`` applied."""
    document = yaml.safe_load(trained.spec_path.read_text())
    change(document)
    document["data"]["source"] = str(trained.spec_path.parent / "subscriptions.csv")
    path = folder / "serving.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_ready_is_503_when_the_serving_spec_lacks_a_column_the_champion_reads(
    make_client,
    trained: Trained,
    tmp_path: Path,
) -> None:
    def drop_months(document: dict) -> None:
        document["features"]["drop"] = ["months_active"]
        numbers = document["features"]["groups"][0]
        numbers["columns"].remove("months_active")

    spec = serving_spec(tmp_path, trained, drop_months)
    response = make_client(spec=spec).get("/ready")
    assert response.status_code == 503
    assert "the serving spec does not declare: ['months_active']" in response.json()["reason"]


def test_ready_is_503_when_the_serving_spec_changes_a_column_kind(
    make_client,
    trained: Trained,
    tmp_path: Path,
) -> None:
    def calls_as_text(document: dict) -> None:
        document["columns"]["support_calls"] = {"dtype": "str"}
        document["features"]["derived"] = []
        numbers = document["features"]["groups"][0]
        numbers["columns"] = ["monthly_fee", "months_active"]
        document["features"]["groups"][1]["columns"].append("support_calls")

    spec = serving_spec(tmp_path, trained, calls_as_text)
    reason = make_client(spec=spec).get("/ready").json()["reason"]
    assert "trained with support_calls as int (the serving spec says str)" in reason


def test_dependencies_can_be_overridden(client: TestClient) -> None:
    def maintenance() -> None:
        raise HTTPException(503, "down for maintenance")

    client.app.dependency_overrides[get_serving_model] = maintenance  # type: ignore[attr-defined]
    response = client.get("/models/champion")
    assert (response.status_code, response.json()) == (503, {"detail": "down for maintenance"})
