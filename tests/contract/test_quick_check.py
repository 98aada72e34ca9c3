"""The contract's quick path: a frame it accepts is one pandera accepts, coerced the same.

Hostile frames (nulls, infinities, out-of-range and unknown values, duplicates, every dtype a
read or a caller may hand over) are drawn by hypothesis; pandera's verdict is the reference.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from churn.contract import dataset, validate
from churn.contract.quick_check import passes_quickly
from churn.errors import DataContractError
from churn.spec import Spec

COLUMNS: dict[str, dict[str, Any]] = {
    "id": {"dtype": "str"},
    "plan": {"dtype": "category", "values": ["basic", "pro"]},
    "region": {"dtype": "category", "nullable": True},
    "age": {"dtype": "int", "min": 18, "max": 99},
    "flag": {"dtype": "int", "values": [0, 1], "nullable": True},
    "monthly": {"dtype": "float", "min": 0},
    "total": {"dtype": "float", "min": 0, "max": 1e4, "nullable": True},
    "ratio": {"dtype": "float", "allow_inf": True, "unique": True, "nullable": True},
    "paperless": {"dtype": "bool"},
    "note": {"dtype": "str", "values": ["a", "b"], "nullable": True},
    "churned": {"dtype": "category", "values": ["yes", "no"]},
}


def make_spec() -> Spec:
    features = [name for name in COLUMNS if name not in ("id", "churned")]
    return Spec.model_validate(
        {
            "version": 1,
            "name": "quick-check",
            "data": {
                "source": "data.csv",
                "id": "id",
                "target": {"column": "churned", "positive": "yes"},
            },
            "columns": COLUMNS,
            "features": {"groups": [{"name": "all", "columns": features}]},
            "models": [{"name": "baseline", "type": "dummy"}],
        }
    )


SPEC = make_spec()
NAN = float("nan")
POOLS: dict[str, list[Any]] = {
    "id": ["A", "B", "C", "D", "E", "F", None],
    "plan": ["basic", "pro", "basic", "pro", "gold", None],
    "region": ["north", "south", None],
    "age": [18, 40, 99, 17, 100, None],
    "flag": [0, 1, 0, 1, 2, None],
    "monthly": [0.0, 20.5, 99.0, -0.0, -1.0, NAN, float("inf")],
    "total": [0.0, 150.0, 1e4, NAN, 1e4 + 1, -float("inf")],
    "ratio": [0.5, 1.5, 2.5, float("inf"), -float("inf"), NAN, 0.5],
    "paperless": [True, False, True, None],
    "note": ["a", "b", None, "c"],
    "churned": ["yes", "no", "yes", "no", "maybe", None],
}
FORMS: dict[str, list[str]] = {
    "id": ["str", "object", "category"],
    "plan": ["category", "str", "object"],
    "region": ["category", "str"],
    "age": ["Int64", "int64", "int32", "float64", "object", "str"],
    "flag": ["Int64", "int64", "float64"],
    "monthly": ["float64", "float32", "Int64", "object"],
    "total": ["float64", "int64", "object"],
    "ratio": ["float64", "float32"],
    "paperless": ["bool", "boolean", "object"],
    "note": ["str", "category", "object"],
    "churned": ["category", "str"],
}


def column_of(values: list[Any], form: str) -> pd.Series:
    """``values`` as a column of dtype ``form``; forms a value cannot take fall back to object."""
    try:
        missing = any(value is None or value != value for value in values)
        if form in ("int64", "int32", "bool") and missing:
            return pd.Series(values, dtype=object)
        if form == "str":
            return pd.Series([None if v is None else str(v) for v in values], dtype="str")
        if form == "category":
            return pd.Series([None if v is None else str(v) for v in values], dtype="category")
        return pd.Series(values, dtype=form)
    except (TypeError, ValueError, OverflowError):
        return pd.Series(values, dtype=object)


@st.composite
def hostile_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 6))
    clean = draw(st.booleans())  # half the frames draw only valid values, to exercise passing
    typed = draw(st.booleans())  # half in the dtypes the typed reads give (each form's first)
    data: dict[str, pd.Series] = {}
    for name, pool in POOLS.items():
        choices = pool if not clean else _valid(name, pool)
        if name == "id" and clean:
            values = [f"id-{i}" for i in range(rows)]
        else:
            values = draw(st.lists(st.sampled_from(choices), min_size=rows, max_size=rows))
        form = FORMS[name][0] if typed else draw(st.sampled_from(FORMS[name]))
        data[name] = column_of(values, form)
    frame = pd.DataFrame(data)
    if draw(st.integers(0, 9)) == 0:
        frame = frame.drop(columns=[draw(st.sampled_from(list(POOLS)))])
    if draw(st.integers(0, 9)) == 0:
        frame["extra"] = 1
    return frame


def _valid(name: str, pool: list[Any]) -> list[Any]:
    valid: dict[str, list[Any]] = {
        "plan": ["basic", "pro"],
        "region": ["north", "south", None],
        "age": [18, 40, 99],
        "flag": [0, 1, None],
        "monthly": [0.0, 20.5, 99.0],
        "total": [0.0, 150.0, NAN],
        "ratio": [0.5, 1.5, float("inf"), NAN],
        "paperless": [True, False],
        "note": ["a", "b", None],
        "churned": ["yes", "no"],
    }
    return valid.get(name, pool)


def by_pandera(frame: pd.DataFrame, *, with_target: bool) -> pd.DataFrame | None:
    """The frame pandera validates (finalised), or None when it reports a failure."""
    prepared = dataset._prepare(SPEC, frame)
    try:
        valid = dataset._validate_by_pandera(SPEC, prepared, "frame", None, with_target)
    except DataContractError:
        return None
    return dataset._finalize(SPEC, valid)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=hostile_frames(), with_target=st.booleans())
def test_quick_path_accepts_only_what_pandera_accepts_and_coerces_the_same(
    frame: pd.DataFrame, with_target: bool
) -> None:
    if not with_target:
        frame = frame.drop(columns=["churned"], errors="ignore")
    quick = passes_quickly(SPEC, dataset._prepare(SPEC, frame), with_target=with_target)
    if quick is None:
        return
    reference = by_pandera(frame, with_target=with_target)
    assert reference is not None, "the quick path accepted a frame pandera rejects"
    pd.testing.assert_frame_equal(dataset._finalize(SPEC, quick), reference, check_exact=True)


def typed_frame(rows: int = 6) -> pd.DataFrame:
    """Valid rows in the dtypes the typed CSV and Parquet reads give."""
    return pd.DataFrame(
        {
            "id": pd.Series([f"id-{i}" for i in range(rows)], dtype="str"),
            "plan": pd.Categorical(["basic", "pro"] * (rows // 2)),
            "region": pd.Categorical(["north", None] * (rows // 2)),
            "age": pd.array([18, 99] * (rows // 2), dtype="Int64"),
            "flag": pd.array([0, None] * (rows // 2), dtype="Int64"),
            "monthly": np.linspace(0, 90, rows),
            "total": [NAN, 1.0] * (rows // 2),
            "ratio": [*np.arange(rows - 1, dtype=float), NAN],
            "paperless": pd.array([True, None, False] * (rows // 3), dtype="boolean").fillna(True),
            "note": pd.Series(["a", None] * (rows // 2), dtype="str"),
            "churned": pd.Categorical(["yes", "no"] * (rows // 2)),
        }
    )


def test_typed_reads_pass_quickly_without_pandera(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = typed_frame()
    reference = by_pandera(frame, with_target=True)
    assert reference is not None

    def refuse(*args: object) -> None:
        raise AssertionError("pandera was asked about a clean typed frame")

    monkeypatch.setattr(dataset, "_validate_by_pandera", refuse)
    pd.testing.assert_frame_equal(
        validate(SPEC, frame, source="frame"), reference, check_exact=True
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [("age", 17), ("monthly", float("inf")), ("plan", "gold"), ("id", "id-0"), ("churned", "no")],
)
def test_a_failing_check_is_worded_by_pandera(column: str, value: Any) -> None:
    frame = typed_frame()
    series = frame[column].copy()
    if isinstance(series.dtype, pd.CategoricalDtype) and value not in series.cat.categories:
        series = series.cat.add_categories([value])
    series.iloc[slice(None) if column == "churned" else 1] = value
    frame[column] = series  # in the column's own dtype: the check, not the dtype, fails
    assert passes_quickly(SPEC, dataset._prepare(SPEC, frame), with_target=True) is None
    with pytest.raises(DataContractError, match=column if column != "churned" else "both classes"):
        validate(SPEC, frame, source="frame")
