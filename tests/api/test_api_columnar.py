"""The columnar batch check never accepts what the generated record model refuses."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churn.api.records import RecordSchema, build_record_schema
from churn.spec import Spec

COLUMNS: dict[str, Any] = {
    "account_id": {"dtype": "str", "unique": True},
    "plan": {"dtype": "category", "values": ["basic", "pro"]},
    "senior": {"dtype": "int", "values": [0, 1]},
    "calls": {"dtype": "int", "min": 0, "max": 50},
    "fee": {"dtype": "float", "min": 0, "nullable": True},
    "autopay": {"dtype": "bool"},
    "channel": {"dtype": "str", "nullable": True},
    "churned": {"dtype": "int", "values": [0, 1]},
}
SPEC = Spec.model_validate(
    {
        "version": 1,
        "name": "columnar",
        "data": {
            "source": "x.csv",
            "id": "account_id",
            "target": {"column": "churned", "positive": 1},
        },
        "columns": COLUMNS,
        "features": {
            "groups": [
                {"name": "n", "columns": ["calls", "fee", "senior"], "steps": [{"type": "impute"}]},
                {"name": "f", "columns": ["autopay"]},
                {
                    "name": "c",
                    "columns": ["plan", "channel"],
                    "steps": [{"type": "impute", "strategy": "most_frequent"}, {"type": "one_hot"}],
                },
            ]
        },
        "models": [{"name": "m", "type": "logistic_regression"}],
    }
)
SCHEMA: RecordSchema = build_record_schema(SPEC, max_batch=100)

VALID: dict[str, st.SearchStrategy[Any]] = {
    "account_id": st.text(min_size=1, max_size=8),
    "plan": st.sampled_from(["basic", "pro"]),
    "senior": st.sampled_from([0, 1]),
    "calls": st.integers(0, 50),
    "fee": st.none() | st.integers(0, 10**6) | st.floats(0, 1e12),
    "autopay": st.booleans(),
    "channel": st.none() | st.text(max_size=5),
}
ODD = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=3)
    | st.sampled_from(["basic", "0", "", "1.0"])
    | st.lists(st.integers(), max_size=2)
    | st.just({})
)


@st.composite
def valid_record(draw: st.DrawFn) -> dict[str, Any]:
    record = {key: draw(strategy) for key, strategy in VALID.items()}
    for optional in ("fee", "channel"):
        if draw(st.booleans()):
            del record[optional]
    return record


@st.composite
def odd_record(draw: st.DrawFn) -> Any:
    record = draw(valid_record())
    changes = draw(st.dictionaries(st.sampled_from([*VALID, "extra", "churned"]), ODD, max_size=2))
    record.update(changes)
    for key in draw(st.lists(st.sampled_from(list(VALID)), max_size=1)):
        record.pop(key, None)
    return draw(st.sampled_from([record, record, record, [record], "record", None]))


@st.composite
def one_odd_value(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid batch with one value replaced (or one key dropped) in one record."""
    records = draw(st.lists(valid_record(), min_size=1, max_size=4))
    record = records[draw(st.integers(0, len(records) - 1))]
    key = draw(st.sampled_from([*VALID, "extra", "churned"]))
    if draw(st.integers(0, 5)) == 0:
        record.pop(key, None)
    else:
        record[key] = draw(ODD)
    return records


def by_model(records: list[Any]) -> dict[str, list[Any]] | None:
    try:
        request = SCHEMA.request_model.model_validate({"records": records})
    except ValueError:
        return None
    rows = [r.__dict__ for r in request.records]  # type: ignore[attr-defined]
    return {name: [row[attr] for row in rows] for name, attr in SCHEMA.attributes.items()}


def same(fast: dict[str, list[Any]], model: dict[str, list[Any]]) -> bool:
    """Equal column by column; a float field may hold the int the client sent."""
    for name, values in model.items():
        for sent, validated in zip(fast[name], values, strict=True):
            if isinstance(validated, float):
                if not (type(sent) in (int, float) and float(sent) == validated):
                    return False
            elif type(sent) is not type(validated) or sent != validated:
                return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(odd_record(), min_size=1, max_size=6))
def test_columnar_check_accepts_only_what_the_model_accepts_unchanged(records: list[Any]) -> None:
    fast = SCHEMA.columnar.columns(records)
    if fast is not None:
        model = by_model(records)
        assert model is not None, records
        assert same(fast, model), (fast, model)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_odd_value())
def test_columnar_check_refuses_every_single_odd_value_the_model_refuses(
    records: list[dict[str, Any]],
) -> None:
    fast = SCHEMA.columnar.columns(records)
    if fast is not None:
        model = by_model(records)
        assert model is not None, records
        assert same(fast, model), (fast, model)


@settings(max_examples=200, deadline=None)
@given(st.lists(valid_record(), min_size=1, max_size=20))
def test_columnar_check_accepts_plainly_valid_batches(records: list[dict[str, Any]]) -> None:
    fast = SCHEMA.columnar.columns(records)
    assert fast is not None
    model = by_model(records)
    assert model is not None and same(fast, model)


ODD_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    51,
    2**70,
    1.5,
    3.0,
    math.nan,
    math.inf,
    "",
    "pro",
    "0",
    "x" * 2000,
    [1],
    {},
]
BASE = {
    "account_id": "a",
    "plan": "pro",
    "senior": 1,
    "calls": 3,
    "fee": 2.5,
    "autopay": True,
    "channel": "web",
}


@pytest.mark.parametrize("key", [*BASE, "extra", "churned"])
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_columnar_check_accepts_an_odd_value_only_when_the_model_keeps_it(
    key: str, value: Any
) -> None:
    records = [dict(BASE), {**BASE, key: value}]
    fast = SCHEMA.columnar.columns(records)
    model = by_model(records)
    if fast is not None:
        assert model is not None and same(fast, model)


@pytest.mark.parametrize("key", list(BASE))
def test_columnar_check_accepts_a_missing_key_only_when_the_model_does(key: str) -> None:
    records = [dict(BASE), {k: v for k, v in BASE.items() if k != key}]
    fast, model = SCHEMA.columnar.columns(records), by_model(records)
    assert (fast is None) == (model is None)
    if fast is not None:
        assert model is not None and same(fast, model)


def test_columnar_check_leaves_whole_floats_for_integers_to_the_model() -> None:
    record = {"account_id": "a", "plan": "pro", "senior": 1.0, "calls": 3.0, "autopay": True}
    assert SCHEMA.columnar.columns([record]) is None
    model = by_model([record])
    assert model is not None and model["calls"] == [3] and model["senior"] == [1]


def test_columnar_check_refuses_non_finite_and_unknown_keys() -> None:
    base = {"account_id": "a", "plan": "pro", "senior": 1, "calls": 3, "autopay": True}
    assert SCHEMA.columnar.columns([base]) is not None
    assert SCHEMA.columnar.columns([{**base, "fee": math.inf}]) is None
    assert SCHEMA.columnar.columns([{**base, "fee": math.nan}]) is None
    without = {k: v for k, v in base.items() if k != "calls"}
    assert SCHEMA.columnar.columns([{**without, "extra": 1}]) is None
    assert SCHEMA.columnar.columns([{**base, "extra": 1}]) is None
