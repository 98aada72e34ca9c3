"""GET /metrics: Prometheus text from the app's own registry."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

from apitools import TestClient, Trained, record
from prometheus_client.parser import text_string_to_metric_families


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_requests_by_route_template_and_status(
    client: TestClient, trained: Trained
) -> None:
    client.get(f"/runs/{trained.first}")
    client.get(f"/runs/{trained.second}")
    client.get("/runs/20990101T000000Z-000000")
    client.get("/no/such/path")
    client.get("/static-offline-docs/swagger-ui.css")
    found = samples(client)
    key = "churn_api_requests_total"
    assert found[(key, (("method", "GET"), ("route", "/runs/{run_id}"), ("status", "200")))] == 2
    assert found[(key, (("method", "GET"), ("route", "/runs/{run_id}"), ("status", "404")))] == 1
    assert found[(key, (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert (
        found[
            (key, (("method", "GET"), ("route", "/static-offline-docs/{path}"), ("status", "200")))
        ]
        == 1
    )
    assert not [k for k in found if trained.second in str(k)]  # raw paths never become labels
    timed = "churn_api_request_duration_seconds_count"
    run = (("method", "GET"), ("route", "/runs/{run_id}"))
    assert found[(timed, (*run, ("status", "200")))] == 2
    assert found[(timed, (*run, ("status", "404")))] == 1


def test_metrics_count_predictions_by_decision(client: TestClient) -> None:
    body = client.post("/predict", json={"records": [record(i) for i in range(40)]}).json()
    churn = sum(p["will_churn"] for p in body["predictions"])
    found = samples(client)
    assert found.get(("churn_predictions_total", (("decision", "churn"),)), 0) == churn
    assert found.get(("churn_predictions_total", (("decision", "no_churn"),)), 0) == 40 - churn


def test_metrics_describe_the_champion_and_the_latest_run(
    client: TestClient, trained: Trained
) -> None:
    champion = client.get("/models/champion").json()
    found = samples(client)
    info = [labels for name, labels in found if name == "churn_champion_info"]
    assert info == [
        (
            ("model", champion["model"]),
            ("model_type", champion["model_type"]),
            ("run_id", trained.first),
        )
    ]
    assert (
        found[("churn_champion_metric", (("metric", "roc_auc"),))]
        == (champion["metrics"]["roc_auc"])
    )
    assert found[("churn_champion_threshold", ())] == champion["threshold"]
    assert found[("churn_model_ready", ())] == 1
    assert found[("churn_model_reloads_total", (("result", "success"),))] == 1
    assert found[("churn_model_load_error", ())] == 0
    assert found[("churn_last_run_status", (("status", "succeeded"),))] == 1
    assert found[("churn_last_run_status", (("status", "failed"),))] == 0
    assert found[("churn_last_run_timestamp_seconds", ())] > 1.7e9


def test_each_app_has_its_own_metrics(make_client) -> None:
    one, two = make_client(), make_client()
    one.get("/health")
    one.get("/health")
    two.get("/health")
    key = ("churn_api_requests_total", (("method", "GET"), ("route", "/health"), ("status", "200")))
    assert samples(one)[key] == 2
    assert samples(two)[key] == 1


def test_metrics_say_when_a_run_last_succeeded_and_the_latest_gate_verdict(
    make_client, home: Path, trained: Trained
) -> None:
    latest_file = home / "runs" / trained.second / "run.json"
    latest = json.loads(latest_file.read_text())
    found = samples(make_client(home))
    ended = datetime.fromisoformat(latest["ended_at"]).timestamp()
    assert found[("churn_last_success_timestamp_seconds", ())] == ended
    assert found[("churn_last_run_gates_passed", ())] == float(latest["gates"]["passed"])

    latest.update(status="failed", gates={**latest["gates"], "passed": False})
    latest_file.write_text(json.dumps(latest))
    first = json.loads((home / "runs" / trained.first / "run.json").read_text())
    found = samples(make_client(home))
    assert found[("churn_last_run_gates_passed", ())] == 0
    assert found[("churn_last_success_timestamp_seconds", ())] == (
        datetime.fromisoformat(first["ended_at"]).timestamp()
    )


def test_no_runs_means_no_success_time_and_no_verdict(make_client, tmp_path: Path) -> None:
    found = samples(make_client(tmp_path / "empty"))
    assert found[("churn_last_success_timestamp_seconds", ())] == 0
    assert math.isnan(found[("churn_last_run_gates_passed", ())])
