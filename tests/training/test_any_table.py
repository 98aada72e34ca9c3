"""Any churn table: no id column, datetime columns and date features, from a spec alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import train_run

from churn.api.records import build_record_schema, parse_body
from churn.contract import load_dataset
from churn.errors import DataContractError, SpecError
from churn.report.predictions import build_predictions
from churn.spec.loader import load_spec
from churn.training.compile import compile_spec
from churn.training.evaluate import evaluate_candidates, select_winner, split_dataset


def attrition_frame(rows: int = 500, seed: int = 1) -> pd.DataFrame:
    """An HR-attrition-shaped export: no id, hire and review dates, churn from tenure and pay."""
    rng = np.random.default_rng(seed)
    hired = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, rows), unit="D")
    review = hired + pd.to_timedelta(rng.integers(30, 900, rows), unit="D")
    salary = np.round(rng.normal(50, 12, rows), 1)
    department = rng.choice(["sales", "it", "hr"], rows)
    tenure_days = (pd.Timestamp("2024-01-01") - hired).days.to_numpy()
    logit = 1.0 - tenure_days / 1500 - (salary - 50) / 10 + 0.7 * (department == "sales")
    left = np.where(rng.uniform(size=rows) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    return pd.DataFrame(
        {
            "Department": department,
            "HireDate": hired.strftime("%d/%m/%Y"),
            "LastReview": review.strftime("%Y-%m-%d"),
            "Salary": salary,
            "Attrition": left,
        }
    )


def attrition_spec(**evaluation: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "attrition",
        "data": {"source": "attrition.csv", "target": {"column": "Attrition", "positive": "Yes"}},
        "columns": {
            "Department": {"dtype": "category", "values": ["sales", "it", "hr"]},
            "HireDate": {"dtype": "datetime", "format": "%d/%m/%Y"},
            "LastReview": {"dtype": "datetime"},
            "Salary": {"dtype": "float"},
            "Attrition": {"dtype": "category", "values": ["Yes", "No"]},
        },
        "features": {
            "derived": [
                {
                    "name": "tenure_days",
                    "type": "days_since",
                    "column": "HireDate",
                    "reference": "2024-01-01",
                },
                {
                    "name": "days_to_review",
                    "type": "days_between",
                    "start": "HireDate",
                    "end": "LastReview",
                },
            ],
            "groups": [
                {
                    "name": "numbers",
                    "columns": ["Salary", "tenure_days", "days_to_review"],
                    "steps": [{"type": "scale"}],
                },
                {"name": "labels", "columns": ["Department"], "steps": [{"type": "one_hot"}]},
            ],
        },
        "models": [{"name": "logreg", "type": "logistic_regression"}],
        "evaluation": {
            "cv_folds": 3,
            "threshold": {"strategy": "tuned", "metric": "f1"},
            **evaluation,
        },
        "gates": {"value": [{"metric": "roc_auc", "lower": 0.7}]},
    }


def project(folder: Path, spec: dict[str, Any] | None = None) -> Path:
    attrition_frame().to_csv(folder / "attrition.csv", index=False)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec or attrition_spec(), sort_keys=False))
    return path


def test_a_table_without_an_id_and_with_dates_trains_and_passes_its_gates(tmp_path: Path) -> None:
    manifest = train_run(project(tmp_path), home=tmp_path / "home")
    assert manifest.status == "succeeded"
    assert manifest.metrics is not None and manifest.metrics["roc_auc"] > 0.7  # type: ignore[operator]
    assert manifest.decision is not None and manifest.decision.action == "promote"


def test_rows_without_an_id_are_identified_by_their_row_number(tmp_path: Path) -> None:
    spec = load_spec(project(tmp_path))
    frame = load_dataset(spec)
    assert frame["HireDate"].dtype.kind == "M"
    data = split_dataset(spec, frame)
    assert sorted([*data.ids_train, *data.ids_test]) == list(range(1, len(frame) + 1))
    results = evaluate_candidates(spec, frame)
    table = build_predictions(spec, results[select_winner(spec, results)], data)
    assert set(table["id"]) == set(data.ids_test)
    first = int(data.ids_test.iloc[0])
    row = frame.iloc[[first - 1]][spec.feature_columns]
    proba = results["logreg"].pipeline.predict_proba(row)[:, 1][0]
    assert table.set_index("id").loc[first, "churn_probability"] == pytest.approx(proba)


def test_date_features_count_days(tmp_path: Path) -> None:
    spec = load_spec(project(tmp_path))
    frame = load_dataset(spec).head(3)
    out = compile_spec(spec)["logreg"].named_steps["derive"].transform(frame)
    expected_tenure = (pd.Timestamp("2024-01-01") - frame["HireDate"]).dt.days
    assert out["tenure_days"].tolist() == expected_tenure.astype(float).tolist()
    gap = (frame["LastReview"] - frame["HireDate"]).dt.days.astype(float)
    assert out["days_to_review"].tolist() == gap.tolist()


def test_a_date_in_the_wrong_format_is_a_contract_failure_with_its_line(tmp_path: Path) -> None:
    spec = load_spec(project(tmp_path))
    frame = pd.read_csv(tmp_path / "attrition.csv", dtype=str)
    frame.loc[4, "HireDate"] = "2020-01-31"
    frame.to_csv(tmp_path / "attrition.csv", index=False)
    with pytest.raises(DataContractError) as caught:
        load_dataset(spec)
    assert "HireDate: wrong dtype: expected datetime" in str(caught.value)
    assert "line 6" in str(caught.value)


def test_a_datetime_column_in_a_group_is_a_spec_error(tmp_path: Path) -> None:
    spec = attrition_spec()
    spec["features"]["groups"][1]["columns"].append("LastReview")
    with pytest.raises(SpecError) as caught:
        load_spec(project(tmp_path, spec))
    assert "features.groups[1].columns[1]: 'LastReview' is a datetime column" in str(caught.value)


def test_the_api_takes_records_without_an_id_and_numbers_them(tmp_path: Path) -> None:
    spec = load_spec(project(tmp_path))
    schema = build_record_schema(spec, max_batch=10)
    record = {
        "Department": "it",
        "HireDate": "01/02/2020",
        "LastReview": "2021-01-01",
        "Salary": 55.0,
    }
    ids, columns = parse_body(schema, json.dumps({"records": [record, record]}).encode())
    assert ids == ["1", "2"]
    assert columns["Salary"] == [55.0, 55.0]
    ids, _ = parse_body(schema, json.dumps({"records": [{**record, "id": "e-7"}]}).encode())
    assert ids == ["e-7"]


def test_the_served_api_scores_records_without_an_id(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from churn.api.app import create_app
    from churn.api.settings import Settings

    spec_path = project(tmp_path)
    home = tmp_path / "home"
    manifest = train_run(spec_path, home=home)
    record = {
        "Department": "sales",
        "HireDate": "01/02/2023",
        "LastReview": "2023-06-01",
        "Salary": 41.0,
    }
    app = create_app(Settings(home=home, spec=spec_path, reload_interval=0))
    with TestClient(app) as client:
        response = client.post("/predict", json={"records": [record, {**record, "id": "x9"}]})
        info = client.get("/app-info").json()
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [a["id"] for a in answers] == ["1", "x9"]
    assert 0 <= answers[0]["churn_probability"] <= 1
    assert info["run_id"] == manifest.run_id
    assert info["threshold"] == pytest.approx(manifest.threshold)
