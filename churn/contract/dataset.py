"""The data contract: the spec's ``columns`` block as a pandera schema, and reading the data.

``load_dataset(spec)`` is the one call the CLI and the flow make: it reads the file
(:func:`read_data`) and checks it (:func:`validate`). Every violation is reported at once in a
single :class:`~churn.errors.DataContractError`, one line per failed check, e.g.::

    data/telco_churn.csv: data contract violated: 1 failed check
      tenure: below min 0: 2 rows failed at lines 5, 9; values -3, -1

This module is the public entry point; the schema is built in :mod:`churn.contract.schema` and
the failure lines are worded in :mod:`churn.contract.failures` (which says how rows are
numbered). Every name below is importable from here.

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

import hashlib
import io
import re
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandera.errors import SchemaErrors

from churn.contract.failures import failure_lines
from churn.contract.schema import build_schema
from churn.errors import DataContractError, one_line
from churn.spec import DType, Spec

DataFormat = Literal["csv", "parquet"]

CSV_FIRST_LINE = 2
"""File line of data row 0 of a CSV file: line 1 is the header."""

_STRICT_DTYPES: dict[DType, str] = {"int": "int64", "bool": "bool"}
"""dtype of a validated column that is not nullable, where it differs from the checking dtype."""
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
_WHOLE_NUMBER = re.compile(r"^\s*([+-]?\d+)(?:\.0*)?\s*$")
_DELIMITERS = {"semicolon": ";", "tab": "\t", "pipe": "|", "comma": ","}
"""Delimiters recognised in a header that read as one column."""
_SUFFIXES: dict[str, DataFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


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
    return _parse(spec, path, _read_bytes(spec, path))


def _read_bytes(spec: Spec, path: Path) -> bytes:
    _format_of(spec, path)  # an unknown suffix is reported before the file is read
    if not path.exists():
        _fail(path, "file not found; check data.source (relative to the spec file's folder)")
    if not path.is_file():
        _fail(path, "not a file; data.source must name a .csv or .parquet file")
    try:
        return path.read_bytes()
    except OSError as exc:
        _fail(path, f"cannot read the file: {one_line(exc)}")


def _parse(spec: Spec, path: Path, content: bytes) -> pd.DataFrame:
    if _format_of(spec, path) == "csv":
        return _read_csv(spec, path, content)
    return _read_parquet(spec, path, content)


def _format_of(spec: Spec, path: Path) -> DataFormat:
    if spec.data.format is not None:
        return spec.data.format
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        _fail(path, f"cannot tell the format from the suffix {path.suffix!r}; set data.format")
    return found


def _read_csv(spec: Spec, path: Path, content: bytes) -> pd.DataFrame:
    options = spec.data.read
    try:
        frame = pd.read_csv(
            io.BytesIO(content),
            dtype=str,
            na_values=list(options.na_values),
            keep_default_na=True,
            sep=options.delimiter,
            encoding=options.encoding,
        )
    except pd.errors.EmptyDataError:
        _fail(
            path,
            f"empty file ({len(content)} bytes): expected a header line, then one line per row",
        )
    except UnicodeDecodeError as exc:
        _fail(path, _undecodable(content, options.encoding, exc))
    except LookupError:
        _fail(path, f"unknown encoding {options.encoding!r} in data.read.encoding")
    except (pd.errors.ParserError, OSError) as exc:
        _fail(path, f"not a readable CSV file: {one_line(exc)}")
    if frame.shape[1] == 1 and len(spec.columns) > 1:
        _fail_on_other_delimiter(path, str(frame.columns[0]), options.delimiter)
    return frame


def _undecodable(content: bytes, encoding: str, exc: UnicodeDecodeError) -> str:
    """Where the first undecodable byte is in the whole file (pandas decodes in chunks)."""
    try:
        content.decode(encoding)
    except UnicodeDecodeError as whole:
        exc = whole
    start = exc.start
    line = content.count(b"\n", 0, start) + 1
    column = start - (content.rfind(b"\n", 0, start) + 1) + 1
    return (
        f"line {line}: byte 0x{content[start : start + 1].hex()} at offset {start} (column "
        f"{column}) cannot be decoded as {encoding}; fix the file or set data.read.encoding"
    )


def _fail_on_other_delimiter(path: Path, header: str, delimiter: str) -> None:
    """A one-column read of a file whose header holds another delimiter: say which to set."""
    for name, other in _DELIMITERS.items():
        if other != delimiter and other in header:
            _fail(
                path,
                f"line 1 reads as a single column {header[:80]!r}: the file looks "
                f"{name}-delimited; set data.read.delimiter: {other!r} in the spec",
            )


def _read_parquet(spec: Spec, path: Path, content: bytes) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(content))
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        _fail(path, f"not a readable Parquet file: {one_line(exc)}")
    frame = frame.reset_index(drop=True)
    na_values = list(spec.data.read.na_values)
    if na_values:
        for name in frame.columns:
            if pd.api.types.is_string_dtype(frame[name].dtype):
                frame[name] = frame[name].mask(frame[name].isin(na_values))
    return frame


def _fail(path: Path, message: str) -> NoReturn:
    raise DataContractError(str(path), [message])


# --------------------------------------------------------------------------- validation


def validate(
    spec: Spec,
    frame: pd.DataFrame,
    *,
    source: str,
    first_line: int | None = None,
    with_target: bool = True,
) -> pd.DataFrame:
    """Check ``frame`` against the spec's contract and return it coerced.

    Args:
        spec: The validated spec.
        frame: The data, as :func:`read_data` returns it (text is fine) or already typed.
        source: Names the data in the error message (usually the file path).
        first_line: File line of the frame's row 0 (2 for a CSV file with a header): failing
            rows are then reported as file lines. ``None`` reports the frame's index as rows.
        with_target: False for data to score: the target column and its checks are left out.

    Returns:
        The frame with every column coerced to its dtype (see the module docstring), in the
        spec's column order.

    Raises:
        DataContractError: One line per failed check, all of them at once.
    """
    schema = build_schema(spec)
    if not with_target:
        schema = schema.remove_columns([spec.data.target.column])
    prepared = _prepare(spec, frame)
    try:
        valid = schema.validate(prepared, lazy=True)
    except SchemaErrors as exc:
        lines = failure_lines(spec, schema, prepared, exc.failure_cases, first_line)
        raise DataContractError(source, lines) from exc
    return _finalize(spec, valid)


def load_dataset(spec: Spec, path: Path | None = None) -> pd.DataFrame:
    """Read and validate the spec's data file (or ``path``); see :func:`validate`.

    Raises:
        DataContractError: The file cannot be read, or it breaks the contract.
    """
    frame, _ = load_dataset_and_hash(spec, path)
    return frame


def load_dataset_and_hash(spec: Spec, path: Path | None = None) -> tuple[pd.DataFrame, str]:
    """:func:`load_dataset`, plus the sha256 of exactly the bytes that were parsed.

    The file is read once, so the recorded hash belongs to the data the run used even if the
    file is replaced meanwhile.
    """
    path = spec.source_path if path is None else Path(path)
    content = _read_bytes(spec, path)
    frame = _parse(spec, path, content)
    first_line = CSV_FIRST_LINE if _format_of(spec, path) == "csv" else None
    valid = validate(spec, frame, source=str(path), first_line=first_line)
    return valid, hashlib.sha256(content).hexdigest()


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
    columns = {name: column for name, column in spec.columns.items() if name in frame.columns}
    for name, column in columns.items():
        strict = _STRICT_DTYPES.get(column.dtype)
        if strict is not None and not column.nullable:
            frame[name] = frame[name].astype(pd.api.types.pandas_dtype(strict))
    return frame[list(columns)]
