"""The generated /predict record model on the default Telco spec, whose features drop gender."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from churn.api.records import build_record_schema, parse_body
from churn.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema():
    return build_record_schema(load_spec(ROOT / "spec" / "telco.yaml"), max_batch=10)


def customer(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "customerID": "7590-VHVEG", "SeniorCitizen": 0, "Partner": "Yes",
        "Dependents": "No", "tenure": 1, "PhoneService": "No",
        "MultipleLines": "No phone service", "InternetService": "DSL", "OnlineSecurity": "No",
        "OnlineBackup": "Yes", "DeviceProtection": "No", "TechSupport": "No",
        "StreamingTV": "No", "StreamingMovies": "No", "Contract": "Month-to-month",
        "PaperlessBilling": "Yes", "PaymentMethod": "Electronic check",
        "MonthlyCharges": 29.85, "TotalCharges": 29.85,
    }  # fmt: skip
    record.update(changes)
    return record


def body(*records: dict[str, Any]) -> bytes:
    return json.dumps({"records": list(records)}).encode()


def test_a_full_customer_record_with_a_dropped_column_is_accepted_and_the_column_ignored(
    schema,
) -> None:
    ids, columns = parse_body(schema, body(customer(gender="Female"), customer()))
    assert ids == ["7590-VHVEG", "7590-VHVEG"]
    assert "gender" not in columns
    assert columns["Contract"] == ["Month-to-month", "Month-to-month"]


def test_a_dropped_column_is_still_checked_against_its_contract(schema) -> None:
    with pytest.raises(RequestValidationError) as info:
        parse_body(schema, body(customer(gender="robot")))
    [error] = info.value.errors()
    assert error["loc"] == ("body", "records", 0, "gender")
    assert "'Female' or 'Male'" in error["msg"]


def test_the_target_is_refused(schema) -> None:
    with pytest.raises(RequestValidationError) as info:
        parse_body(schema, body(customer(Churn="Yes")))
    assert [e["loc"] for e in info.value.errors()] == [("body", "records", 0, "Churn")]
