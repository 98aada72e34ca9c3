"""POST /predict?explain=K: reasons next to unchanged probabilities; bad K and refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pandas as pd
from apitools import TestClient, Trained, record

from churn.api.batching import _Request, score_batch
from churn.api.explained import explained
from churn.api.records import build_record_schema
from churn.explain import PipelineExplainer
from churn.registry import Registry
from churn.serving import load_serving_model
from churn.spec.loader import load_spec


def _pipeline(trained: Trained):  # type: ignore[no-untyped-def]
    _, pipeline = Registry(trained.home).load_champion()  # type: ignore[misc]
    return pipeline


def test_explain_adds_reasons_and_keeps_the_probabilities(
    client: TestClient, trained: Trained
) -> None:
    records = [record(i) for i in range(30)]
    plain = client.post("/predict", json={"records": records}).json()
    explained = client.post("/predict?explain=3", json={"records": records}).json()
    assert [p["churn_probability"] for p in explained["predictions"]] == [
        p["churn_probability"] for p in plain["predictions"]
    ]
    assert "explanation_scale" not in plain and "reasons" not in plain["predictions"][0]
    frame = pd.DataFrame(records).drop(columns="account_id")
    explanation, _ = PipelineExplainer(_pipeline(trained)).explain_frame(frame)
    assert explained["explanation_scale"] == explanation.scale
    for row, answer in enumerate(explained["predictions"]):
        reasons = answer["reasons"]
        assert len(reasons) == 3
        assert answer["base_value"] == explanation.base[row]
        sizes = [abs(r["contribution"]) for r in reasons]
        assert sizes == sorted(sizes, reverse=True)
        for reason in reasons:
            column = explanation.columns.index(reason["column"])
            assert reason["contribution"] == explanation.contributions[row, column]
            assert reason["direction"] == ("raises" if reason["contribution"] > 0 else "lowers")
            if reason["column"] in records[row]:
                assert reason["value"] == records[row][reason["column"]]


def test_a_records_reasons_do_not_depend_on_its_batch(client: TestClient) -> None:
    alone = client.post("/predict?explain=5", json={"records": [record(7)]}).json()
    batch = [record(i) for i in range(12)]
    together = client.post("/predict?explain=5", json={"records": batch}).json()
    assert together["predictions"][7]["reasons"] == alone["predictions"][0]["reasons"]
    np.testing.assert_allclose(
        together["predictions"][7]["base_value"], alone["predictions"][0]["base_value"]
    )


def test_explain_out_of_range_is_refused_naming_the_parameter(client: TestClient) -> None:
    for bad in ("-1", "21", "three"):
        response = client.post(f"/predict?explain={bad}", json={"records": [record(1)]})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["query", "explain"]


def test_a_record_breaking_the_contract_is_refused_with_explain_on(client: TestClient) -> None:
    response = client.post("/predict?explain=2", json={"records": [record(1, monthly_fee="cheap")]})
    assert response.status_code == 422
    assert "monthly_fee" in response.json()["detail"][0]["loc"]


def test_the_openapi_document_describes_explain_with_an_example(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "explain"]
    assert parameter["in"] == "query" and parameter["schema"]["maximum"] == 20
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert example["predictions"][0]["reasons"][0]["column"] == "Contract"


def test_explain_requests_are_batched_and_answered_as_if_alone(
    trained: Trained, tmp_path: Path
) -> None:
    home = trained.copy_home(tmp_path)
    registry = Registry(home)
    with registry.lock():
        registry.rollback(reason="a batch-invariant champion (the forest)", to=trained.second)
    schema = build_record_schema(load_spec(trained.spec_path), max_batch=100)
    model = load_serving_model(registry, schema.specs)
    assert model is not None and model.scorer.batch_invariant
    loop = asyncio.new_event_loop()
    try:
        asked = [3, 0, 5, 0, 1, 2]
        requests = []
        for index, k in enumerate(asked):
            rows = [record(index), record(index + 100)] if k == 2 else [record(index)]
            columns = {name: [r[name] for r in rows] for name in model.scorer.input_columns}
            requests.append(_Request(model, columns, len(rows), loop.create_future(), explain=k))
        results = score_batch(requests)
    finally:
        loop.close()
    for request, result in zip(requests, results, strict=True):
        if not request.explain:
            assert list(result) == list(model.scorer.predict_proba(request.columns, request.n))
            continue
        proba, why = result
        alone_proba, alone_why = explained(model, request.columns, request.n, request.explain)
        assert list(proba) == list(alone_proba)
        assert why == alone_why and len(why["reasons"][0]) == request.explain
