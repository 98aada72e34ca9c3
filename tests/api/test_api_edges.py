"""The API's edges: disconnects are not 500s, 422s are capped, HEAD works, bodies must be JSON."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from apitools import TestClient, Trained, record
from prometheus_client.parser import text_string_to_metric_families

from churn.api.errors import MAX_INPUT_CHARS


def request_counts(client: TestClient) -> dict[tuple[str, str, str], float]:
    """churn_api_requests_total by (route, method, status)."""
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "churn_api_requests_total":
                labels = sample.labels
                found[(labels["route"], labels["method"], labels["status"])] = sample.value
    return found


def disconnect_mid_body(client: TestClient) -> list[dict[str, Any]]:
    """POST /predict straight to the ASGI app; the client goes away after the first chunk."""
    events = [
        {"type": "http.request", "body": b'{"records": [{"account_id": "A', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/predict",
        "raw_path": b"/predict",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    return sent


def test_a_client_disconnect_mid_body_is_no_error_and_no_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        sent = disconnect_mid_body(client)
    assert sent[0]["status"] == 499
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    counts = request_counts(client)
    assert counts[("/predict", "POST", "499")] == 1
    assert not [key for key in counts if key[2] == "500"]


def test_a_422_does_not_echo_a_huge_input(client: TestClient) -> None:
    huge = "x" * 1_000_000
    response = client.post("/predict", json={"records": [record(0, account_id=huge)]})
    assert response.status_code == 422
    assert len(response.content) < 2_000
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "records", 0, "account_id"]
    assert error["input"].startswith("x" * MAX_INPUT_CHARS + "... (1,000,000 characters)")


def test_a_422_for_a_huge_non_list_caps_the_echo(client: TestClient) -> None:
    response = client.post("/predict", json={"records": [{"blob": list(range(100_000))}]})
    assert response.status_code == 422
    assert len(response.content) < 20_000
    assert all(
        len(json.dumps(e.get("input"))) < MAX_INPUT_CHARS + 40 for e in response.json()["detail"]
    )


def test_a_422_of_many_records_lists_at_most_the_cap(client: TestClient) -> None:
    records = [record(i, plan="gold") for i in range(30)]
    detail = client.post("/predict", json={"records": records}).json()["detail"]
    assert len(detail) == 21
    assert detail[-1] == {
        "type": "too_many_errors",
        "loc": ["body"],
        "msg": "10 more errors not shown",
        "input": None,
    }


@pytest.mark.parametrize("path", ["/health", "/app-info", "/runs", "/metrics", "/runs/{first}"])
def test_head_is_answered_on_get_routes_without_a_body(
    client: TestClient, trained: Trained, path: str
) -> None:
    path = path.format(first=trained.first)
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_is_counted_as_head_on_its_route(client: TestClient) -> None:
    client.head("/health")
    assert request_counts(client)[("/health", "HEAD", "200")] == 1


def test_head_is_405_where_get_is_not_allowed(client: TestClient) -> None:
    assert client.head("/predict").status_code == 405


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_only_json_bodies_are_accepted(client: TestClient, content_type: str | None) -> None:
    body = json.dumps({"records": [record(0)]})
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/predict", content=body, headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert request_counts(client)[("/predict", "POST", "415")] == 1


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_bodies_are_scored(client: TestClient, content_type: str) -> None:
    body = json.dumps({"records": [record(0)]})
    response = client.post("/predict", content=body, headers={"content-type": content_type})
    assert response.status_code == 200


def test_a_body_method_on_an_unknown_route_is_still_404(client: TestClient) -> None:
    assert (
        client.post("/nowhere", content="x", headers={"content-type": "text/plain"}).status_code
        == 404
    )
