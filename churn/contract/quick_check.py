"""The contract's verdict on a clean, typed frame, without pandera (vectorised on numpy).

Checking a million rows through the pandera schema costs more than reading them, and
importing pandera costs about as much again, while almost every batch a command reads
passes. :func:`passes_quickly` decides the frames it can decide with a few numpy passes per
column and returns them coerced exactly as the schema would; for anything else it returns
None and :func:`~churn.contract.dataset.validate` asks pandera, which stays the reference and
words every failure. So a frame this path accepts is one pandera accepts, coerced to the same
values and dtypes (``tests/contract/test_quick_check.py`` holds that on hostile frames), and a
frame that breaks the contract is always reported by pandera, with the same messages.

What it decides: every declared column present once and nothing else; at least one row; int
columns already integer (numpy or ``Int64``), float columns already float (numpy), bool
columns already ``bool``/``boolean``, str columns of pandas' ``str`` dtype and category
columns Categorical over text (as the typed CSV and Parquet reads give them). Within those
it checks nulls, ``values``, ``min``/``max``, finiteness, uniqueness and both target classes.
Anything else (text to convert, Python objects, datetimes, a check that fails) goes to pandera.

Nothing happens at import time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn.spec import ColumnSpec, Scalar, Spec

_CHECKED_AS: dict[str, Any] = {
    "int": pd.Int64Dtype(),
    "float": np.dtype("float64"),
    "bool": pd.BooleanDtype(),
    "str": pd.StringDtype(na_value=np.nan),
}
"""The checking dtype (``schema.CHECK_DTYPES``) as the object pandera's coercion passes to
``astype``; category columns are coerced with ``astype("category")``."""


def passes_quickly(spec: Spec, frame: pd.DataFrame, *, with_target: bool) -> pd.DataFrame | None:
    """``frame`` coerced to the checking dtypes when it certainly meets the contract, else None.

    Args:
        spec: The validated spec.
        frame: The frame as ``validate`` prepared it (bool words and whole-number text done).
        with_target: Whether the target column and its frame check belong to the contract.

    Returns:
        A shallow copy of ``frame`` whose columns are coerced as the pandera schema coerces
        them, or None: a check fails, or the frame holds something only pandera decides.
    """
    target = spec.data.target.column
    expected = [name for name in spec.columns if with_target or name != target]
    if len(frame) == 0 or not frame.columns.is_unique or not frame.index.is_unique:
        return None
    if set(frame.columns) != set(expected) or len(frame.columns) != len(expected):
        return None
    coerced = frame.copy(deep=False)
    for name in expected:
        column = spec.columns[name]
        unique = column.unique or name == spec.data.id
        checked = _column_passes(frame[name], column, unique=unique)
        if checked is None:
            return None
        coerced[name] = checked
    classes = list(spec.columns[target].values or [])
    if with_target and not has_classes(coerced, column=target, classes=classes):
        return None
    return coerced


def has_classes(frame: pd.DataFrame, *, column: str, classes: list[Scalar]) -> bool:
    """Both declared classes occur (or, without declared classes, two distinct values)."""
    if column not in frame.columns or frame.empty:
        return True  # reported as a missing column or as no rows
    observed = frame[column].dropna().unique().tolist()
    if not classes:
        return len(observed) >= 2
    seen = {str(value) for value in observed}
    return all(value in observed or str(value) in seen for value in classes)


def _column_passes(series: pd.Series, column: ColumnSpec, *, unique: bool) -> pd.Series | None:
    """The column coerced when every check of ``column`` passes on it, else None."""
    dtype = series.dtype
    if column.dtype == "int" and _is_plain_int(dtype):
        return _numbers_pass(series.astype(_CHECKED_AS["int"]), column, unique=unique)
    if column.dtype == "float" and isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _numbers_pass(series.astype(_CHECKED_AS["float"]), column, unique=unique)
    if column.dtype == "bool" and _is_bool(dtype) and _plain_bool(column, unique=unique):
        coerced = series.astype(_CHECKED_AS["bool"])
        return coerced if column.nullable or not coerced.isna().any() else None
    if column.dtype == "str" and dtype == _CHECKED_AS["str"] and _no_bounds(column):
        return _text_passes(series.astype(_CHECKED_AS["str"]), column, unique=unique)
    if column.dtype == "category" and _is_text_categorical(dtype) and _no_bounds(column):
        return None if unique else _categories_pass(series.astype("category"), column)
    return None


def _is_plain_int(dtype: Any) -> bool:
    if isinstance(dtype, pd.Int64Dtype):
        return True
    return isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype != np.dtype("uint64")


def _is_bool(dtype: Any) -> bool:
    return isinstance(dtype, pd.BooleanDtype) or dtype == np.dtype("bool")


def _plain_bool(column: ColumnSpec, *, unique: bool) -> bool:
    """A bool column whose only check is on nulls."""
    return column.values is None and _no_bounds(column) and not unique


def _is_text_categorical(dtype: Any) -> bool:
    if not isinstance(dtype, pd.CategoricalDtype) or dtype.ordered:
        return False
    return all(isinstance(value, str) for value in dtype.categories)


def _no_bounds(column: ColumnSpec) -> bool:
    return column.min is None and column.max is None


def _numbers_pass(series: pd.Series, column: ColumnSpec, *, unique: bool) -> pd.Series | None:
    missing = series.isna().to_numpy()
    if missing.any() and not column.nullable:
        return None
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)[~missing]
    if column.dtype == "int" and np.abs(values).max(initial=0.0) >= 2.0**53:
        return None  # not exact as float64: pandera decides
    if column.dtype == "float" and not column.allow_inf and not np.isfinite(values).all():
        return None
    if column.values is not None:
        allowed = _numbers_allowed(column.values)
        if allowed is None or not np.isin(values, allowed).all():
            return None
    if column.min is not None and not (values >= column.min).all():
        return None
    if column.max is not None and not (values <= column.max).all():
        return None
    if unique and _repeats(values):
        return None
    return series


def _numbers_allowed(values: list[Scalar]) -> npt.NDArray[np.float64] | None:
    """The allowed values as floats, or None when one is not a plain number."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(values) or any(abs(v) >= 2.0**53 for v in numbers):
        return None
    return np.asarray(numbers, dtype=np.float64)


def _repeats(values: npt.NDArray[Any]) -> bool:
    ordered = np.sort(values)
    return bool((ordered[1:] == ordered[:-1]).any())


def _text_passes(series: pd.Series, column: ColumnSpec, *, unique: bool) -> pd.Series | None:
    missing = series.isna()
    if not column.nullable and missing.any():
        return None
    present = series[~missing]
    if column.values is not None:
        allowed = _texts_allowed(column.values)
        if allowed is None or not present.isin(allowed).all():
            return None
    if unique and not pd.Index(present).is_unique:  # its hash table: ~30% less than nunique()
        return None
    return series


def _texts_allowed(values: list[Scalar]) -> list[str] | None:
    return [str(v) for v in values] if all(isinstance(v, str) for v in values) else None


def _categories_pass(series: pd.Series, column: ColumnSpec) -> pd.Series | None:
    codes = series.cat.codes.to_numpy()
    counts = np.bincount(codes + 1, minlength=len(series.cat.categories) + 1)
    if counts[0] and not column.nullable:
        return None
    if column.values is not None:
        allowed = _texts_allowed(column.values)
        if allowed is None:
            return None
        used = series.cat.categories[counts[1:] > 0]
        if not set(used) <= set(allowed):
            return None
    return series
