"""The data contract: the spec's ``columns`` block as a pandera schema, and reading the data.

``load_dataset(spec)`` is the one call the CLI and the flow make: it reads the file
(:func:`read_data`) and checks it (:func:`validate`). Every violation is reported at once in a
single :class:`~churn.errors.DataContractError`, one line per failed check, e.g.::

    data/telco_churn.csv: data contract violated: 1 failed check
      tenure: below min 0: 2 rows failed at lines 5, 9; values -3, -1

Lines are file lines for a CSV file (the header is line 1, data row ``i`` is line ``i + 2``;
this assumes one line per record, without blank lines); other sources say ``rows`` and give
the frame's index (0-based positions for Parquet).

dtypes of the validated frame:

=========== ======================================================================
spec dtype  validated column
=========== ======================================================================
int         ``int64``; ``Int64`` (pandas nullable integer, missing = ``pd.NA``)
            when ``nullable: true``. Text like ``84.0`` counts as a whole number.
float       ``float64`` (missing = NaN)
bool        ``bool``; ``boolean`` (nullable, ``pd.NA``) when ``nullable: true``.
            Text ``true``/``false``/``1``/``0`` (any case) is accepted.
str         pandas' default string dtype ``str`` (missing = NaN)
category    the same as ``str`` (no pandas Categorical); ``values`` lists the allowed ones
=========== ======================================================================
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from churn.errors import DataContractError
from churn.spec import ColumnSpec, DType, Scalar, Spec

DataFormat = Literal["csv", "parquet"]

CSV_FIRST_LINE = 2
"""File line of data row 0 of a CSV file: line 1 is the header."""
MAX_SHOWN = 5
"""How many sample values and row numbers a failure line shows."""

_CHECK_DTYPES: dict[DType, str] = {
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "str": "str",
    "category": "str",
}
"""dtype each column is coerced to while checking; nullable so that nulls are reported as such."""
_STRICT_DTYPES: dict[DType, str] = {"int": "int64", "bool": "bool"}
"""dtype of a validated column that is not nullable, where it differs from the checking dtype."""
_DTYPE_WORDS: dict[DType, str] = {
    "int": "int64 (whole numbers)",
    "float": "float64",
    "bool": "bool (true/false/1/0)",
    "str": "str",
    "category": "str",
}
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
_WHOLE_NUMBER = re.compile(r"^\s*([+-]?\d+)(?:\.0*)?\s*$")
_SUFFIXES: dict[str, DataFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

NO_ROWS = "no data rows: at least one row is required"
_BOTH_CLASSES = "target needs both classes"
_STRUCTURE = {
    "column_in_dataframe": "missing column",
    "column_in_schema": "unexpected column (not declared in the spec's columns)",
}
_ORDER = (
    "missing",
    "unexpected",
    "wrong dtype",
    "nulls",
    "duplicate",
    "values",
    "below",
    "above",
    _BOTH_CLASSES,
)


# --------------------------------------------------------------------------- the schema


def build_schema(spec: Spec) -> pa.DataFrameSchema:
    """Compile the spec's ``columns`` block into a strict, coercing pandera schema.

    Args:
        spec: The validated spec.

    Returns:
        A schema that rejects undeclared columns, coerces every column to its checking dtype
        (see the module docstring), checks values, ranges, nulls and uniqueness, and checks the
        frame as a whole: at least one row, both target classes present, unique ids.
    """
    columns = {
        name: _column(name, column, is_id=name == spec.data.id)
        for name, column in spec.columns.items()
    }
    return pa.DataFrameSchema(
        columns,
        checks=_frame_checks(spec),
        strict=True,
        ordered=False,
        name=spec.name,
    )


def _column(name: str, column: ColumnSpec, *, is_id: bool) -> pa.Column:
    """One column; a nullable unique column may hold several nulls (pandera's would not)."""
    unique = column.unique or is_id
    checks = _value_checks(column)
    if unique and column.nullable:
        words = "duplicate ids" if is_id else "duplicate values"
        checks.append(pa.Check(_not_duplicated, ignore_na=True, error=words))
    return pa.Column(
        _CHECK_DTYPES[column.dtype],
        checks=checks,
        nullable=column.nullable,
        unique=unique and not column.nullable,
        coerce=True,
        required=True,
        name=name,
        description=column.description,
    )


def _value_checks(column: ColumnSpec) -> list[pa.Check]:
    checks = []
    if column.values is not None:
        allowed = list(column.values)
        checks.append(pa.Check.isin(allowed, error=f"values not in allowed set {allowed}"))
    if column.min is not None:
        checks.append(pa.Check.ge(column.min, error=f"below min {_number(column.min)}"))
    if column.max is not None:
        checks.append(pa.Check.le(column.max, error=f"above max {_number(column.max)}"))
    return checks


def _not_duplicated(series: pd.Series) -> pd.Series:
    return ~series.duplicated(keep=False)


def _frame_checks(spec: Spec) -> list[pa.Check]:
    target = spec.data.target.column
    classes = list(spec.columns[target].values or [])
    return [
        pa.Check(_has_rows, name="has_rows", error=NO_ROWS),
        pa.Check(
            partial(_has_classes, column=target, classes=classes),
            name="both_target_classes",
            error=f"{_BOTH_CLASSES} {classes}",
        ),
    ]


def _has_rows(frame: pd.DataFrame) -> bool:
    return len(frame) > 0


def _has_classes(frame: pd.DataFrame, *, column: str, classes: list[Scalar]) -> bool:
    """Both declared classes occur (or, without declared classes, two distinct values)."""
    if column not in frame.columns or frame.empty:
        return True  # reported as a missing column or as no rows
    observed = frame[column].dropna().unique().tolist()
    if not classes:
        return len(observed) >= 2
    seen = {str(value) for value in observed}
    return all(value in observed or str(value) in seen for value in classes)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------- reading


def read_data(spec: Spec, path: Path | None = None) -> pd.DataFrame:
    """Read the data file as it is, without checking it.

    A CSV file is read as text (pandas never guesses a dtype; :func:`validate` coerces), with
    the spec's ``na_values`` on top of pandas' default missing-value strings. For Parquet the
    ``na_values`` are applied to text columns.

    Args:
        spec: The validated spec; gives the path, the format and the read options.
        path: Read this file instead of ``spec.source_path``.

    Returns:
        The raw frame with a 0-based ``RangeIndex``.

    Raises:
        DataContractError: The file is missing, empty or unreadable; the message names it.
    """
    path = spec.source_path if path is None else Path(path)
    data_format = _format_of(spec, path)
    if not path.exists():
        _fail(path, "file not found; check data.source (relative to the spec file's folder)")
    if not path.is_file():
        _fail(path, "not a file; data.source must name a .csv or .parquet file")
    if data_format == "csv":
        return _read_csv(spec, path)
    return _read_parquet(spec, path)


def _format_of(spec: Spec, path: Path) -> DataFormat:
    if spec.data.format is not None:
        return spec.data.format
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        _fail(path, f"cannot tell the format from the suffix {path.suffix!r}; set data.format")
    return found


def _read_csv(spec: Spec, path: Path) -> pd.DataFrame:
    options = spec.data.read
    try:
        return pd.read_csv(
            path,
            dtype=str,
            na_values=list(options.na_values),
            keep_default_na=True,
            sep=options.delimiter,
            encoding=options.encoding,
        )
    except pd.errors.EmptyDataError:
        size = path.stat().st_size
        _fail(path, f"empty file ({size} bytes): expected a header line, then one line per row")
    except UnicodeDecodeError as exc:
        _fail(
            path, f"cannot decode as {options.encoding} at byte {exc.start}; set data.read.encoding"
        )
    except LookupError:
        _fail(path, f"unknown encoding {options.encoding!r} in data.read.encoding")
    except (pd.errors.ParserError, OSError) as exc:
        _fail(path, f"not a readable CSV file: {_one_line(exc)}")


def _read_parquet(spec: Spec, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        _fail(path, f"not a readable Parquet file: {_one_line(exc)}")
    frame = frame.reset_index(drop=True)
    na_values = list(spec.data.read.na_values)
    if na_values:
        for name in frame.columns:
            if pd.api.types.is_string_dtype(frame[name].dtype):
                frame[name] = frame[name].mask(frame[name].isin(na_values))
    return frame


def _fail(path: Path, message: str) -> NoReturn:
    raise DataContractError(str(path), [message])


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --------------------------------------------------------------------------- validation


@dataclass
class _Failure:
    """One failed check: where, what, and the failing rows with their values."""

    column: str | None
    words: str
    cases: list[tuple[Hashable, Any]] = field(default_factory=list)
    """(row label, failing value) pairs; the value is None where it is not worth showing."""


def validate(
    spec: Spec, frame: pd.DataFrame, *, source: str, first_line: int | None = None
) -> pd.DataFrame:
    """Check ``frame`` against the spec's contract and return it coerced.

    Args:
        spec: The validated spec.
        frame: The data, as :func:`read_data` returns it (text is fine) or already typed.
        source: Names the data in the error message (usually the file path).
        first_line: File line of the frame's row 0 (2 for a CSV file with a header): failing
            rows are then reported as file lines. ``None`` reports the frame's index as rows.

    Returns:
        The frame with every column coerced to its dtype (see the module docstring), in the
        spec's column order.

    Raises:
        DataContractError: One line per failed check, all of them at once.
    """
    schema = build_schema(spec)
    prepared = _prepare(spec, frame)
    try:
        valid = schema.validate(prepared, lazy=True)
    except SchemaErrors as exc:
        failures = _failures(spec, schema, prepared, exc.failure_cases)
        lines = [_render(failure, prepared.index, first_line) for failure in failures]
        raise DataContractError(source, lines) from exc
    return _finalize(spec, valid)


def load_dataset(spec: Spec, path: Path | None = None) -> pd.DataFrame:
    """Read and validate the spec's data file (or ``path``); see :func:`validate`.

    Raises:
        DataContractError: The file cannot be read, or it breaks the contract.
    """
    path = spec.source_path if path is None else Path(path)
    frame = read_data(spec, path)
    first_line = CSV_FIRST_LINE if _format_of(spec, path) == "csv" else None
    return validate(spec, frame, source=str(path), first_line=first_line)


def target_vector(spec: Spec, frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """1 where the target column holds the spec's positive value, else 0."""
    positive = frame[spec.data.target.column] == spec.data.target.positive
    return np.asarray(positive.fillna(False), dtype=np.int64)


def _prepare(spec: Spec, frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with bool words as booleans, and ``84.0``-style text in int columns made whole."""
    prepared = frame.copy()
    for name, column in spec.columns.items():
        if name not in prepared.columns:
            continue
        series = prepared[name]
        if column.dtype == "bool" and not pd.api.types.is_bool_dtype(series.dtype):
            prepared[name] = series.astype(object).map(_bool_from_text, na_action="ignore")
        elif column.dtype == "int" and not pd.api.types.is_numeric_dtype(series.dtype):
            prepared[name] = series.map(_whole_from_text, na_action="ignore")
    return prepared


def _bool_from_text(value: Any) -> Any:
    """True/False for a bool-like value; anything else as text, so that coercion reports it."""
    return _BOOL_TEXT.get(str(value).strip().lower(), str(value))


def _whole_from_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _WHOLE_NUMBER.match(value)
    return match.group(1) if match else value


def _finalize(spec: Spec, frame: pd.DataFrame) -> pd.DataFrame:
    for name, column in spec.columns.items():
        strict = _STRICT_DTYPES.get(column.dtype)
        if strict is not None and not column.nullable:
            frame[name] = frame[name].astype(pd.api.types.pandas_dtype(strict))
    return frame[list(spec.columns)]


# --------------------------------------------------------------------------- failures


def _failures(
    spec: Spec, schema: pa.DataFrameSchema, frame: pd.DataFrame, cases: pd.DataFrame
) -> list[_Failure]:
    """Group pandera's failure cases into one :class:`_Failure` per column and check.

    A column that cannot be coerced is reported once as a wrong dtype; its other checks are
    re-run on the rows that did convert, so that a range violation there is not hidden.
    """
    records = cases.to_dict("records")
    unconvertible = {
        str(r["column"]) for r in records if str(r["check"]).startswith("coerce_dtype(")
    }
    records = [r for r in records if _column_of(r) not in unconvertible]
    grouped: dict[tuple[str | None, str], _Failure] = {}
    for name in sorted(unconvertible):
        column = spec.columns[name]
        bad = _unconvertible_rows(frame[name], _CHECK_DTYPES[column.dtype])
        failure = _Failure(
            name, f"wrong dtype: expected {_DTYPE_WORDS[column.dtype]}, could not convert"
        )
        failure.cases = list(frame.loc[bad, name].items())
        grouped[(name, failure.words)] = failure
        records.extend(_recheck(schema, frame.loc[~bad, [name]]))
    for record in records:
        if str(record["check"]).startswith(("coerce_dtype(", "dtype(")):
            continue
        _add(grouped, spec, frame, record)
    return sorted(grouped.values(), key=partial(_rank, spec, frame))


def _column_of(record: dict[Hashable, Any]) -> str | None:
    """The column a failure case is about; None for a frame-wide check (named after the schema)."""
    if record["schema_context"] == "DataFrameSchema" or pd.isna(record["column"]):
        return None
    return str(record["column"])


def _unconvertible_rows(series: pd.Series, dtype: str) -> npt.NDArray[np.bool_]:
    """Which values fail to convert, tried one distinct value at a time.

    Only run for a column that failed to coerce as a whole; pandera's own failure cases miss
    some (a fractional float in an int column), so the rows are found here.
    """
    target = pd.api.types.pandas_dtype(dtype)

    def fails(value: Any) -> bool:
        try:
            pd.Series([value], dtype=series.dtype).astype(target)
        except (TypeError, ValueError):
            return True
        return False

    bad = [value for value in series.dropna().unique() if fails(value)]
    return np.asarray(series.isin(bad), dtype=bool)


def _recheck(schema: pa.DataFrameSchema, part: pd.DataFrame) -> list[dict[Hashable, Any]]:
    name = part.columns[0]
    try:
        pa.DataFrameSchema({name: schema.columns[name]}).validate(part, lazy=True)
    except SchemaErrors as exc:
        return list(exc.failure_cases.to_dict("records"))
    return []


def _add(
    grouped: dict[tuple[str | None, str], _Failure],
    spec: Spec,
    frame: pd.DataFrame,
    record: dict[Hashable, Any],
) -> None:
    check = str(record["check"])
    column = _column_of(record)
    if check in _STRUCTURE:
        column, words = str(record["failure_case"]), _STRUCTURE[check]
        if check == "column_in_dataframe":
            words += _did_you_mean(column, frame.columns)
        grouped[(column, words)] = _Failure(column, words)
        return
    if check.startswith(_BOTH_CLASSES):
        column = spec.data.target.column
        target = spec.columns[column]
        series = _typed(frame[column], target.dtype)
        words = f"{check}, found {_observed(series, target.values or [])}"
        grouped[(column, words)] = _Failure(column, words)
        return
    words = _words(spec, column, check)
    failure = grouped.setdefault((column, words), _Failure(column, words))
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
    return f"; similar column in the data: {close[0]!r}" if close else ""


def _typed(series: pd.Series, dtype: DType) -> pd.Series:
    """``series`` in its checking dtype if it converts, else as it is (for showing values)."""
    try:
        return series.astype(pd.api.types.pandas_dtype(_CHECK_DTYPES[dtype]))
    except (TypeError, ValueError):
        return series


def _observed(series: pd.Series, classes: Sequence[Scalar]) -> str:
    """The declared classes that do occur, with their counts (undeclared values are not shown)."""
    declared = {str(value) for value in classes}
    counts = [
        f"{_show(value)} ({count} rows)"
        for value, count in series.value_counts(dropna=True).items()
        if not declared or str(value) in declared
    ]
    return "only " + ", ".join(counts) if counts else "neither"


def _rank(spec: Spec, frame: pd.DataFrame, failure: _Failure) -> tuple[int, int]:
    names = [*spec.columns, *(str(c) for c in frame.columns if c not in spec.columns)]
    column = names.index(failure.column) if failure.column in names else len(names)
    kind = next((i for i, p in enumerate(_ORDER) if failure.words.startswith(p)), len(_ORDER))
    return column, kind


# --------------------------------------------------------------------------- rendering


def _render(failure: _Failure, index: pd.Index, first_line: int | None) -> str:
    """``column: words: N rows failed at lines a, b; values x, y`` (parts present as known)."""
    head = failure.words if failure.column is None else f"{failure.column}: {failure.words}"
    cases = _in_frame_order(failure.cases, index)
    if not cases:
        return head
    rows = list(dict.fromkeys(row for row, _ in cases))
    count = len(rows)
    text = f"{head}: {count} row{'s' if count != 1 else ''} failed at {_where(rows, first_line)}"
    values = _distinct([value for _, value in cases])
    if values:
        text += f"; values {_first(values, _show)}"
    return text


def _in_frame_order(
    cases: list[tuple[Hashable, Any]], index: pd.Index
) -> list[tuple[Hashable, Any]]:
    if not cases or not index.is_unique:
        return cases
    positions = index.get_indexer(pd.Index([row for row, _ in cases]))
    order = np.argsort(positions, kind="stable")
    return [cases[i] for i in order]


def _where(rows: list[Hashable], first_line: int | None) -> str:
    numeric = all(isinstance(row, int | np.integer) for row in rows)
    if first_line is not None and numeric:
        lines = [int(row) + first_line for row in rows]  # type: ignore[call-overload]
        return f"line{'s' if len(lines) != 1 else ''} {_first(lines, str)}"
    return f"row{'s' if len(rows) != 1 else ''} {_first(rows, str)}"


def _distinct(values: list[Any]) -> list[Any]:
    plain = [value.item() if isinstance(value, np.generic) else value for value in values]
    seen: dict[str, Any] = {}
    for value in plain:
        if value is not None and not pd.isna(value):
            seen.setdefault(repr(value), value)
    return list(seen.values())


def _first(items: Sequence[Any], show: Callable[[Any], str]) -> str:
    shown = ", ".join(show(item) for item in items[:MAX_SHOWN])
    return shown + (", ..." if len(items) > MAX_SHOWN else "")


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
