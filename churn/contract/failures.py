"""Pandera's failure cases grouped and worded: one line per failed check.

:func:`failure_lines` turns the failure cases of a lazy validation into the lines of a
:class:`~churn.errors.DataContractError`, e.g.::

    tenure: below min 0: 2 rows failed at lines 5, 9; values -3, -1

Guarantees:

* One line per column and check, ordered by the spec's column order, then by kind of check
  (missing, unexpected, wrong dtype, nulls, duplicates, values, ranges, target classes).
* A column that cannot be coerced is reported once as a wrong dtype, and its other checks are
  re-run on the rows that did convert, so that a range violation there is not hidden.
* Lines are file lines for a CSV file (the header is line 1, data row ``i`` is line ``i + 2``;
  this assumes one line per record, without blank lines); other sources say ``rows`` and give
  the frame's index (0-based positions for Parquet). At most :data:`MAX_SHOWN` rows and values
  are shown per line.

Nothing happens at import time.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from churn.contract.failure_text import render, show_value
from churn.contract.schema import BOTH_CLASSES, CHECK_DTYPES
from churn.spec import DType, Scalar, Spec
from churn.spec.bounds import shorten

SAMPLED_CASES = 1000
"""Failing rows kept per failed check (the first in the frame) to pick the rows and values a
line shows; the line's count is of every failing row. Keeps a report linear and small when
millions of rows fail."""

_DTYPE_WORDS: dict[DType, str] = {
    "int": "int64 (whole numbers)",
    "float": "float64",
    "bool": "bool (true/false/1/0)",
    "str": "str",
    "category": "str",
    "datetime": "datetime (the column's format, or ISO 8601)",
}
_STRUCTURE = {
    "column_in_dataframe": "missing column",
    "column_in_schema": "unexpected column (not declared in the spec's columns)",
}
_CASE_KEY = ("schema_context", "column", "check")
"""The columns of pandera's failure cases that name one failed check."""
_ORDER = (
    "missing",
    "unexpected",
    "wrong dtype",
    "nulls",
    "duplicate",
    "values",
    "infinite",
    "below",
    "above",
    BOTH_CLASSES,
)


@dataclass
class _Failure:
    """One failed check: where, what, and the failing rows with their values."""

    column: str | None
    words: str
    cases: list[tuple[Hashable, Any]] = field(default_factory=list)
    """(row label, failing value) pairs; the value is None where it is not worth showing."""
    total: int | None = None
    """How many rows failed, when ``cases`` holds only the first :data:`SAMPLED_CASES`."""


def failure_lines(
    spec: Spec,
    schema: pa.DataFrameSchema,
    frame: pd.DataFrame,
    cases: pd.DataFrame,
    first_line: int | None,
) -> list[str]:
    """One line per failed check, in the order they are best read.

    Args:
        spec: The validated spec.
        schema: The schema that failed (see :func:`~churn.contract.schema.build_schema`).
        frame: The frame that was validated, before coercion.
        cases: The failure cases of pandera's ``SchemaErrors``.
        first_line: File line of the frame's row 0, or None to report the frame's index as rows.
    """
    return [
        render(f.column, f.words, f.cases, total=f.total, index=frame.index, first_line=first_line)
        for f in _failures(spec, schema, frame, cases)
    ]


def _failures(
    spec: Spec, schema: pa.DataFrameSchema, frame: pd.DataFrame, cases: pd.DataFrame
) -> list[_Failure]:
    """Group pandera's failure cases into one :class:`_Failure` per column and check.

    A column that cannot be coerced is reported once as a wrong dtype; its other checks are
    re-run on the rows that did convert, so that a range violation there is not hidden.
    """
    cases, totals = _sampled(cases)
    records = cases.to_dict("records")
    unconvertible = {
        str(r["column"]) for r in records if str(r["check"]).startswith("coerce_dtype(")
    }
    records = [r for r in records if _column_of(r) not in unconvertible]
    grouped: dict[tuple[str | None, str], _Failure] = {}
    for name in sorted(unconvertible):
        column = spec.columns[name]
        bad = _unconvertible_rows(frame[name], CHECK_DTYPES[column.dtype], column.format)
        failure = _Failure(
            name, f"wrong dtype: expected {_DTYPE_WORDS[column.dtype]}, could not convert"
        )
        failure.cases = list(frame.loc[bad, name].head(SAMPLED_CASES).items())
        failure.total = int(bad.sum())
        grouped[(name, failure.words)] = failure
        rechecked, more = _recheck(schema, frame.loc[~bad, [name]])
        records.extend(rechecked)
        totals.update(more)
    for record in records:
        if str(record["check"]).startswith(("coerce_dtype(", "dtype(")):
            continue
        _add(grouped, spec, frame, record, totals)
    return sorted(grouped.values(), key=partial(_rank, spec, frame))


def _sampled(cases: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, ...], int]]:
    """The first :data:`SAMPLED_CASES` cases of each failed check, and each check's count of
    failing rows where cases were left out (grouped by pandas, no per-row Python)."""
    if len(cases) <= SAMPLED_CASES:
        return cases, {}
    grouped = cases.groupby(list(_CASE_KEY), dropna=False, sort=False)
    totals = grouped["index"].nunique(dropna=False)
    pairs = zip(totals.index.tolist(), totals.tolist(), strict=True)
    counts = {tuple(str(part) for part in key): int(n) for key, n in pairs}
    return grouped.head(SAMPLED_CASES), counts


def _case_key(record: dict[Hashable, Any]) -> tuple[str, ...]:
    return tuple(str(record[part]) for part in _CASE_KEY)


def _column_of(record: dict[Hashable, Any]) -> str | None:
    """The column a failure case is about; None for a frame-wide check (named after the schema)."""
    if record["schema_context"] == "DataFrameSchema" or pd.isna(record["column"]):
        return None
    return str(record["column"])


def _unconvertible_rows(
    series: pd.Series, dtype: str, date_format: str | None = None
) -> npt.NDArray[np.bool_]:
    """Which values fail to convert, tried one distinct value at a time.

    Only run for a column that failed to coerce as a whole; pandera's own failure cases miss
    some (a fractional float in an int column), so the rows are found here.
    """
    target = pd.api.types.pandas_dtype(dtype)

    def fails(value: Any) -> bool:
        try:
            if date_format is not None:
                pd.to_datetime(pd.Series([value], dtype=series.dtype), format=date_format)
                return False
            pd.Series([value], dtype=series.dtype).astype(target)
        except (TypeError, ValueError):
            return True
        return False

    bad = [value for value in series.dropna().unique() if fails(value)]
    return np.asarray(series.isin(bad), dtype=bool)


def _recheck(
    schema: pa.DataFrameSchema, part: pd.DataFrame
) -> tuple[list[dict[Hashable, Any]], dict[tuple[str, ...], int]]:
    name = part.columns[0]
    try:
        pa.DataFrameSchema({name: schema.columns[name]}).validate(part, lazy=True)
    except SchemaErrors as exc:
        cases, totals = _sampled(exc.failure_cases)
        return list(cases.to_dict("records")), totals
    return [], {}


def _add(
    grouped: dict[tuple[str | None, str], _Failure],
    spec: Spec,
    frame: pd.DataFrame,
    record: dict[Hashable, Any],
    totals: dict[tuple[str, ...], int],
) -> None:
    check = str(record["check"])
    column = _column_of(record)
    if check in _STRUCTURE:
        column, words = str(record["failure_case"]), _STRUCTURE[check]
        if check == "column_in_dataframe":
            words += _did_you_mean(column, frame.columns)
        grouped[(column, words)] = _Failure(column, words)
        return
    if check.startswith(BOTH_CLASSES):
        column = spec.data.target.column
        target = spec.columns[column]
        series = _typed(frame[column], target.dtype)
        words = f"{check}, found {_observed(series, target.values or [])}"
        grouped[(column, words)] = _Failure(column, words)
        return
    words = _words(spec, column, check)
    failure = grouped.setdefault((column, words), _Failure(column, words))
    failure.total = totals.get(_case_key(record), failure.total)
    row = record["index"]
    if row is not None and not pd.isna(row):
        value = None if check == "not_nullable" else record["failure_case"]
        failure.cases.append((row, value))


def _words(spec: Spec, column: str | None, check: str) -> str:
    if check == "not_nullable":
        return "nulls not allowed"
    if check == "field_uniqueness":
        return "duplicate ids" if column == spec.data.id else "duplicate values"
    return check  # the contract's own checks carry their words as their error text


def _did_you_mean(name: str, present: Iterable[Hashable]) -> str:
    close = difflib.get_close_matches(name, [str(p) for p in present], n=1)
    return f"; similar column in the data: {shorten(close[0])}" if close else ""


def _typed(series: pd.Series, dtype: DType) -> pd.Series:
    """``series`` in its checking dtype if it converts, else as it is (for showing values)."""
    try:
        return series.astype(pd.api.types.pandas_dtype(CHECK_DTYPES[dtype]))
    except (TypeError, ValueError):
        return series


def _observed(series: pd.Series, classes: Sequence[Scalar]) -> str:
    """The declared classes that do occur, with their counts (undeclared values are not shown)."""
    declared = {str(value) for value in classes}
    counts = [
        f"{show_value(value)} ({count} rows)"
        for value, count in series.value_counts(dropna=True).items()
        if not declared or str(value) in declared
    ]
    return "only " + ", ".join(counts) if counts else "neither"


def _rank(spec: Spec, frame: pd.DataFrame, failure: _Failure) -> tuple[int, int]:
    names = [*spec.columns, *(str(c) for c in frame.columns if c not in spec.columns)]
    column = names.index(failure.column) if failure.column in names else len(names)
    kind = next((i for i, p in enumerate(_ORDER) if failure.words.startswith(p)), len(_ORDER))
    return column, kind
