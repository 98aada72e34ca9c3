"""Features read across a row (sum, mean, min, max, count, compare, clip, power, log1p),
each checked against the same computation written directly in pandas / numpy."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from churn.spec.features import DerivedFeature
from churn.training.features import DerivedFeatures

DERIVED = TypeAdapter(DerivedFeature)


def derive(entry: dict[str, Any], frame: pd.DataFrame) -> pd.Series:
    """One entry validated as the spec does, applied as the pipeline does; its new column."""
    derived = [DERIVED.validate_python({"name": "out", **entry}).model_dump()]
    out = DerivedFeatures(derived).fit(frame).transform(frame)
    assert list(out.columns) == [*frame.columns, "out"]
    assert out["out"].dtype == np.float64
    return out["out"]


def numbers(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Three numeric columns with missing values (one row missing everywhere), an int column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "day": rng.normal(180, 50, rows).round(1),
            "eve": rng.normal(200, 50, rows).round(1),
            "night": rng.normal(-1, 3, rows).round(0),
            "calls": rng.integers(0, 9, rows),
        }
    )
    for column in ("day", "eve", "night"):
        frame.loc[rng.uniform(size=rows) < 0.15, column] = np.nan
    frame.loc[0, ["day", "eve", "night"]] = np.nan
    return frame


def same(got: pd.Series, expected: pd.Series | np.ndarray) -> None:
    np.testing.assert_allclose(got.to_numpy(), np.asarray(expected, dtype=float), rtol=1e-12)


COLUMNS = ["day", "eve", "night"]


@pytest.mark.parametrize("how", ["sum", "mean", "min", "max"])
def test_a_row_reduction_propagates_a_missing_value_as_pandas_does(how: str) -> None:
    frame = numbers()
    got = derive({"type": how, "columns": COLUMNS, "nulls": "propagate"}, frame)
    same(got, getattr(frame[COLUMNS], how)(axis=1, skipna=False))
    assert got.isna().sum() == frame[COLUMNS].isna().any(axis=1).sum() > 0


@pytest.mark.parametrize("how", ["sum", "mean", "min", "max"])
def test_a_row_reduction_skips_missing_values_and_a_row_with_none_is_missing(how: str) -> None:
    frame = numbers()
    kwargs = {"min_count": 1} if how == "sum" else {}
    got = derive({"type": how, "columns": COLUMNS, "nulls": "skip"}, frame)
    same(got, getattr(frame[COLUMNS], how)(axis=1, skipna=True, **kwargs))
    assert np.isnan(got[0]) and got.isna().sum() == frame[COLUMNS].isna().all(axis=1).sum()


def test_nulls_propagate_unless_the_spec_says_skip() -> None:
    assert DERIVED.validate_python({"name": "t", "type": "sum", "columns": COLUMNS}).nulls == (
        "propagate"
    )


def test_count_counts_the_columns_holding_a_listed_value_and_never_a_missing_one() -> None:
    rng = np.random.default_rng(1)
    choices = np.array(["Yes", "No", "No internet service", None], dtype=object)
    frame = pd.DataFrame({c: rng.choice(choices, 300) for c in ("tv", "movies", "backup")})
    frame["tv"] = frame["tv"].astype("category")  # a validated category column
    got = derive(
        {"type": "count", "columns": ["tv", "movies", "backup"], "values": ["Yes", "Maybe"]},
        frame,
    )
    expected = frame[["tv", "movies", "backup"]].isin(["Yes", "Maybe"]).sum(axis=1)
    same(got, expected)
    assert set(got) == {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize(
    ("op", "function"),
    [
        (">", operator.gt),
        (">=", operator.ge),
        ("<", operator.lt),
        ("<=", operator.le),
        ("==", operator.eq),
        ("!=", operator.ne),
    ],
)
def test_compare_two_columns_or_a_column_and_a_constant(op: str, function: Any) -> None:
    frame = numbers()
    frame["eve"] = frame["eve"].where(frame.index % 4 != 0, frame["day"])  # some ties
    two = derive({"type": "compare", "left": "day", "op": op, "right": "eve"}, frame)
    flag = function(frame["day"], frame["eve"]).astype(float)
    same(two, flag.where(frame["day"].notna() & frame["eve"].notna()))
    one = derive({"type": "compare", "left": "calls", "op": op, "right": 4}, frame)
    same(one, function(frame["calls"], 4).astype(float))
    assert {0.0, 1.0} <= set(two.dropna()) and two.isna().any()


@pytest.mark.parametrize(("lower", "upper"), [(150.0, 220.0), (None, 200.0), (170.0, None)])
def test_clip_limits_a_column_as_pandas_clip(lower: float | None, upper: float | None) -> None:
    frame = numbers()
    got = derive({"type": "clip", "column": "day", "lower": lower, "upper": upper}, frame)
    same(got, frame["day"].clip(lower, upper))


@pytest.mark.parametrize("exponent", [2, 0.5, -1, 1.5])
def test_power_raises_and_a_result_that_is_not_finite_is_missing(exponent: float) -> None:
    frame = numbers()  # night holds negatives and zeros
    got = derive({"type": "power", "column": "night", "exponent": exponent}, frame)
    with np.errstate(all="ignore"):
        expected = np.power(frame["night"].to_numpy(), float(exponent))
    same(got, np.where(np.isfinite(expected), expected, np.nan))
    if exponent in (0.5, -1):
        assert got.isna().sum() > frame["night"].isna().sum()


def test_log1p_of_a_column_and_missing_at_or_below_minus_one() -> None:
    frame = numbers()
    got = derive({"type": "log1p", "column": "night"}, frame)
    night = frame["night"]
    same(got, np.log1p(night.where(night > -1)))
    assert got[(night <= -1).to_numpy()].isna().all()


def test_a_row_feature_reads_an_earlier_derived_one() -> None:
    frame = numbers()
    entries = [
        {"name": "total", "type": "sum", "columns": ["day", "eve"], "nulls": "skip"},
        {"name": "big", "type": "compare", "left": "total", "op": ">", "right": 400},
    ]
    derived = [DERIVED.validate_python(entry).model_dump() for entry in entries]
    out = DerivedFeatures(derived).fit(frame).transform(frame)
    total = frame[["day", "eve"]].sum(axis=1, min_count=1)
    same(out["big"], (total > 400).astype(float).where(total.notna()))
