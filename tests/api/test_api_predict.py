"""POST /predict: scores, validation against the spec, limits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apitools import TestClient, Trained, record

from churn.registry import Registry

JSON = {"content-type": "application/json"}


def champion_pipeline(home: Path):
    _, pipeline = Registry(home).load_champion()  # type: ignore[misc]
    return pipeline


def test_predict_scores_one_record_like_the_pipeline(client: TestClient, trained: Trained) -> None:
    sent = record(3)
    response = client.post("/predict", json={"records": [sent]})
    assert response.status_code == 200
    body = response.json()
    (answer,) = body["predictions"]
    frame = pd.DataFrame([{k: v for k, v in sent.items() if k != "account_id"}])
    expected = float(champion_pipeline(trained.home).predict_proba(frame)[0, 1])
    assert answer["id"] == "T0003"
    assert answer["churn_probability"] == expected
    assert answer["will_churn"] == (expected >= body["threshold"])
    assert answer["model_version"] == body["model_version"] == trained.first


def test_predict_answers_a_batch_in_request_order(client: TestClient) -> None:
    records = [record(i) for i in range(50)]
    body = client.post("/predict", json={"records": records}).json()
    assert [p["id"] for p in body["predictions"]] == [r["account_id"] for r in records]
    for p in body["predictions"]:
        assert 0.0 <= p["churn_probability"] <= 1.0
        assert p["will_churn"] == (p["churn_probability"] >= body["threshold"])


def test_predict_batch_equals_the_pipeline_on_the_same_rows(
    client: TestClient, trained: Trained
) -> None:
    records = [record(i) for i in range(200)]
    body = client.post("/predict", json={"records": records}).json()
    frame = pd.DataFrame(records).drop(columns="account_id")
    expected = champion_pipeline(trained.home).predict_proba(frame)[:, 1]
    got = np.array([p["churn_probability"] for p in body["predictions"]])
    assert np.array_equal(got, expected)


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("monthly_fee", "cheap", "float_type"),
        ("support_calls", 2.5, "int_type"),
        ("support_calls", "2", "int_type"),
        ("months_active", True, "int_type"),
        ("account_id", 17, "string_type"),
        ("monthly_fee", -1.0, "greater_than_equal"),
        ("support_calls", None, "int_type"),
    ],
)
def test_predict_refuses_a_wrong_type_naming_the_field(
    client: TestClient, field: str, value: object, error_type: str
) -> None:
    response = client.post("/predict", json={"records": [record(0), record(1, **{field: value})]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "records", 1, field]
    assert error["type"] == error_type


def test_predict_refuses_a_missing_field(client: TestClient) -> None:
    sent = record(0)
    del sent["plan"]
    (error,) = client.post("/predict", json={"records": [sent]}).json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "records", 0, "plan"], "missing")


@pytest.mark.parametrize("field", ["churned", "favourite_colour"])
def test_predict_refuses_the_target_and_undeclared_fields(client: TestClient, field: str) -> None:
    response = client.post("/predict", json={"records": [record(0, **{field: 1})]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "records", 0, field], "extra_forbidden")


def test_predict_refuses_an_unseen_category_naming_the_allowed_values(client: TestClient) -> None:
    response = client.post("/predict", json={"records": [record(0, plan="platinum")]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "records", 0, "plan"]
    assert error["type"] == "literal_error"
    assert all(value in error["msg"] for value in ("'basic'", "'pro'", "'enterprise'"))


def test_predict_refuses_non_finite_numbers(client: TestClient) -> None:
    body = '{"records": [' + json.dumps(record(0)).replace("20.0", "NaN") + "]}"
    (error,) = client.post("/predict", content=body, headers=JSON).json()["detail"]
    assert error["loc"] == ["body", "records", 0, "monthly_fee"]


@pytest.mark.parametrize("body", ["{", "[]", '{"records": []}', '{"records": {}}', '{"rows": []}'])
def test_predict_refuses_a_body_that_is_not_a_batch_of_records(
    client: TestClient, body: str
) -> None:
    response = client.post("/predict", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_predict_lists_every_problem_of_a_batch_up_to_a_cap(client: TestClient) -> None:
    records = [record(i, plan="gold") for i in range(30)]
    detail = client.post("/predict", json={"records": records}).json()["detail"]
    assert len(detail) == 21
    assert detail[-1]["type"] == "too_many_errors"
    assert "10 more errors" in detail[-1]["msg"]


def test_predict_reports_errors_of_a_large_batch_scored_off_the_event_loop(
    client: TestClient,
) -> None:
    records = [record(i) for i in range(300)]
    records[250]["region"] = "central"
    response = client.post("/predict", json={"records": records})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "records", 250, "region"]


def test_predict_refuses_an_oversized_batch_before_validating_records(make_client) -> None:
    client = make_client(max_batch=10)
    invalid = [{"nonsense": i} for i in range(11)]
    response = client.post("/predict", json={"records": invalid})
    assert response.status_code == 413
    assert response.json()["detail"].startswith("11 records in one request; at most 10")


def test_predict_accepts_exactly_the_batch_limit(make_client) -> None:
    client = make_client(max_batch=10)
    response = client.post("/predict", json={"records": [record(i) for i in range(10)]})
    assert response.status_code == 200


def test_predict_refuses_a_body_over_the_size_limit(make_client) -> None:
    client = make_client(max_body_bytes=2048)
    response = client.post("/predict", json={"records": [record(i) for i in range(40)]})
    assert response.status_code == 413
    assert "at most 2048" in response.json()["detail"]


def test_predict_is_503_without_a_champion(make_client, tmp_path: Path) -> None:
    response = make_client(home=tmp_path / "empty").post("/predict", json={"records": [record()]})
    assert response.status_code == 503
    assert "no champion yet" in response.json()["detail"]
